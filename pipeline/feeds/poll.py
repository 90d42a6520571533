"""Poll one feed: conditional GET, lying-server checks, parse, new entries, schedule.

:func:`poll_feed` is the whole poll stage as a plain function. Rules, in order:

1. A disabled feed is not fetched (status ``disabled``).
2. **Validators.** The request carries ``If-None-Match`` (stored ETag) and
   ``If-Modified-Since`` (stored Last-Modified) unless the feed's ``ignore_validators``
   switch is on, or this is a **check poll**: after :data:`~pipeline.feeds.registry.VALIDATOR_CHECK_EVERY`
   304 answers in a row, or when the last full body is older than
   :data:`~pipeline.feeds.registry.VALIDATOR_CHECK_MAX_AGE_S`, the feed is fetched without validators
   and the body hash compared with the stored one.
3. **A 304 that hides a change.** When a check poll that follows a 304 finds entries
   that are new to us yet were published before that 304 was answered, the server lied:
   ``validator_lies`` is counted and, at :data:`~pipeline.feeds.registry.VALIDATOR_LIES_TO_IGNORE`,
   the feed's ``ignore_validators`` switch is turned on (logged; a person can turn it off
   with ``wirewatch feeds validators ID --respect``).
4. **A 200 that did not change.** A 200 whose body hash (SHA-256) equals the stored one is
   treated as not modified (status ``unchanged``) without parsing.
5. **Redirects.** When the redirect chain starts with permanent hops (301/308), the stored
   URL becomes the last permanent target (the feed id stays). If that URL is already another
   feed in the registry, this feed is disabled with reason ``moved_to:<other id>``.
6. **Errors.** A 304 to a request that carried no validators is ``unexpected_304``; ``gone`` (410) disables the feed with that reason; ``rate_limited``
   (429/503) backs off at least the server's ``Retry-After``; every other failure (fetch or
   parse) backs off exponentially with jitter (:func:`~pipeline.feeds.registry.backoff_delay`). Each
   is recorded in the registry with its reason and logged; nothing is removed.
7. **Schedule.** The entries-per-day estimate is updated and the next interval follows
   :func:`~pipeline.feeds.registry.adaptive_interval` (clamped to the settings, respecting ``ttl``
   and ``sy:updatePeriod``); the next due time adds up to :data:`SCHEDULE_JITTER` of it.

New entries are found against the feed's seen-guid set. With ``on_new`` the caller gets them
*before* they are marked seen and the success is committed: if ``on_new`` raises (say the
queue is down) nothing is marked and the next poll offers them again (at-least-once).
"""
from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin

from pipeline.errors import FeedError, FetchError
from pipeline.feeds.parse import ParsedFeed, parse_feed
from pipeline.feeds.registry import (
    VALIDATOR_CHECK_EVERY,
    VALIDATOR_CHECK_MAX_AGE_S,
    VALIDATOR_LIES_TO_IGNORE,
    Feed,
    FeedNotFound,
    FeedRegistry,
    adaptive_interval,
    backoff_delay,
    entries_per_day_from_dates,
    normalize_feed_url,
    update_entries_per_day,
)
from pipeline.logs import get_logger
from pipeline.models import ArticleRef

log = get_logger(__name__)

#: Accept header for feed requests: feed types first, generic XML next, anything last.
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
PERMANENT_REDIRECTS = (301, 308)
#: After a successful poll the next one is due ``interval * (1 + SCHEDULE_JITTER * U[0, 1))``
#: later: feeds imported together (all due at once) drift apart instead of polling in lockstep,
#: and no feed is polled sooner than its interval.
SCHEDULE_JITTER = 0.1


@dataclass
class PollResult:
    """Outcome of one poll.

    ``status``: ``ok`` (body fetched and parsed), ``not_modified`` (304), ``unchanged`` (200
    with the same body hash), ``error``, ``disabled`` or ``missing`` (no such feed any more). ``reason`` is the error reason
    (``timeout``, ``gone``, ``entity_bomb`` ...) or, on success, the bozo reason of a feed that
    was not well-formed, else None. ``new`` are the entries not seen before; ``entries`` the
    number in the document; ``http_status`` the final status; ``next_due`` (epoch s) and
    ``interval_s`` the schedule; ``check_poll`` whether validators were left out on purpose;
    ``moved_to`` the new URL after a permanent redirect; ``validator_lie`` whether this poll
    caught a 304 hiding a change; ``dropped`` the entries of the document left out, by reason
    (:attr:`pipeline.feeds.parse.ParsedFeed.dropped`); ``encoding_warning`` set when invalid
    bytes of a UTF-8 feed were replaced.
    """

    feed_id: str
    url: str
    status: str
    reason: str | None = None
    new: list[ArticleRef] = field(default_factory=list)
    entries: int = 0
    http_status: int | None = None
    next_due: float | None = None
    interval_s: float | None = None
    check_poll: bool = False
    moved_to: str | None = None
    validator_lie: bool = False
    elapsed_s: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    encoding_warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``new`` as ArticleRef dicts)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["new"] = [r.to_dict() for r in self.new]
        return d


def body_hash(content: bytes) -> str:
    """SHA-256 hex digest of a response body (the change detector for lying servers)."""
    return hashlib.sha256(content).hexdigest()


def is_check_poll(feed: Feed, now: float) -> bool:
    """Whether this poll leaves the validators out to verify the server's 304s (rule 2)."""
    if not feed.body_hash:
        return False
    if feed.polls_since_check >= VALIDATOR_CHECK_EVERY:
        return True
    return bool(feed.last_full_fetch and now - feed.last_full_fetch >= VALIDATOR_CHECK_MAX_AGE_S)


def request_headers(feed: Feed, *, use_validators: bool) -> dict[str, str]:
    """Request headers for a feed poll: Accept, and the validators when ``use_validators``."""
    h = {"Accept": FEED_ACCEPT}
    if use_validators:
        if feed.etag:
            h["If-None-Match"] = feed.etag
        if feed.last_modified:
            h["If-Modified-Since"] = feed.last_modified
    return h


def permanent_target(start_url: str, redirects: list[tuple[int, str]]) -> str | None:
    """The URL the feed permanently moved to: follow the leading 301/308 hops of the chain.

    Returns None when the chain does not start with a permanent redirect.
    """
    cur, target = start_url, None
    for status, location in redirects or []:
        if status not in PERMANENT_REDIRECTS:
            break
        cur = urljoin(cur, location)
        target = cur
    return target


def _handle_move(registry: FeedRegistry, feed: Feed, target: str | None) -> tuple[str | None, str | None]:
    """Apply a permanent move; return (new url or None, disable reason or None)."""
    if not target:
        return None, None
    try:
        norm = normalize_feed_url(target)
    except ValueError:
        return None, None
    if norm == feed.url:
        return None, None
    try:
        other = registry.resolve(norm)
    except FeedNotFound:
        other = None
    if other and other != feed.id:
        return norm, f"moved_to:{other}"
    return norm, None


def poll_feed(registry: FeedRegistry, feed_id: str, client, settings, now: float | None = None, *,
              on_new: Callable[[list[ArticleRef]], None] | None = None,
              rng: random.Random | None = None) -> PollResult:
    """Poll one feed and record the outcome in ``registry`` (see the module docstring).

    ``client`` is a :class:`pipeline.fetch.http.GuardedClient` (anything with its ``get``);
    ``now`` epoch seconds (default: the clock); ``on_new`` receives the new entries before
    they are committed; ``rng`` drives the backoff jitter (tests pass a seeded one).

    Returns a :class:`PollResult`; fetch and parse failures are results (status ``error``),
    not exceptions, and so is a feed removed since it was scheduled (status ``missing``).
    Raises Redis errors (the registry is unreachable: the caller retries the task), and whatever
    ``on_new`` raises (after logging; nothing is committed then).
    """
    now = time.time() if now is None else now
    t0 = time.monotonic()
    try:
        feed = registry.get(feed_id)
    except FeedNotFound:
        # removed between scheduling and polling: nothing to do, nothing to record
        log.info("feed_poll_skipped", feed_id=feed_id, reason="feed_not_found")
        return PollResult(feed_id, "", "missing", reason="feed_not_found")
    blog = log.bind(feed_id=feed.id, url=feed.url)
    if not feed.enabled:
        return PollResult(feed.id, feed.url, "disabled", reason=feed.disabled_reason)

    check = is_check_poll(feed, now) and not feed.ignore_validators
    use_validators = not feed.ignore_validators and not check
    headers = request_headers(feed, use_validators=use_validators)
    min_s, max_s = settings.poll_min_interval_s, settings.poll_max_interval_s
    rand = rng or random

    def jitter(interval: float) -> float:
        return interval * SCHEDULE_JITTER * rand.random()

    def fail(reason: str, message: str, *, retry_after: float | None = None, disable: bool = False,
             http_status: int | None = None) -> PollResult:
        f = registry.record_error(feed.id, reason, current=feed, now=now, message=message, retry_after_s=retry_after,
                                  disable=disable, rng=rng)
        return PollResult(feed.id, feed.url, "error", reason=reason, http_status=http_status,
                          next_due=f.next_due if f.enabled else None, check_poll=check,
                          elapsed_s=time.monotonic() - t0)

    # ---- fetch ----
    try:
        resp = client.get(feed.url, headers=headers, kind="feed")
    except FetchError as exc:
        reason = exc.reason or "fetch_error"
        return fail(reason, str(exc), retry_after=getattr(exc, "retry_after_s", None),
                    disable=(reason == "gone"), http_status=getattr(exc, "status", None))
    except Exception as exc:  # noqa: BLE001 - a client bug must not crash the worker or lose the feed
        blog.exception("feed_fetch_crashed")
        return fail("client_error", f"{type(exc).__name__}: {exc}")

    moved_to, move_conflict = _handle_move(registry, feed, permanent_target(feed.url, resp.redirects))
    if move_conflict:
        registry.record_error(feed.id, "moved", now=now, message=f"permanently redirected to {moved_to}",
                              next_due=now + max_s)
        registry.disable(feed.id, move_conflict)
        return PollResult(feed.id, feed.url, "disabled", reason=move_conflict, http_status=resp.status,
                          moved_to=moved_to, elapsed_s=time.monotonic() - t0)
    url_change: dict[str, Any] = {"url": moved_to} if moved_to else {}
    if moved_to:
        blog.info("feed_moved", new_url=moved_to)

    elapsed_since = (now - feed.last_success) if feed.last_success else None
    resp_etag = resp.headers.get("etag")
    resp_lm = resp.headers.get("last-modified")

    def validators() -> dict[str, Any]:
        v: dict[str, Any] = {}
        if resp_etag:
            v["etag"] = resp_etag
        if resp_lm:
            v["last_modified"] = resp_lm
        return v

    # ---- 304 not modified ----
    if resp.status == 304 and not ({"If-None-Match", "If-Modified-Since"} & set(headers)):
        # a 304 to a request without validators: nothing to be "not modified" against
        return fail("unexpected_304", "304 Not Modified to an unconditional request", http_status=304)
    if resp.status == 304:
        epd = update_entries_per_day(feed.entries_per_day, 0, elapsed_since, None)
        interval = adaptive_interval(epd, min_s=min_s, max_s=max_s, feed_min_s=feed.ttl_s)
        f = registry.record_success(
            feed.id, current=feed, now=now, delay_s=jitter(interval), status="not_modified",
            interval_s=interval, entries_per_day=epd, polls_since_check=feed.polls_since_check + 1,
            **validators(), **url_change)
        return PollResult(feed.id, f.url, "not_modified", http_status=304, next_due=f.next_due,
                          interval_s=f.interval_s, moved_to=moved_to, elapsed_s=time.monotonic() - t0)

    content = resp.content or b""
    digest = body_hash(content)
    since_check = 0  # a full body resets the count of 304s in a row

    # ---- 200 with the body we already have ----
    if feed.body_hash and digest == feed.body_hash:
        epd = update_entries_per_day(feed.entries_per_day, 0, elapsed_since, None)
        interval = adaptive_interval(epd, min_s=min_s, max_s=max_s, feed_min_s=feed.ttl_s)
        f = registry.record_success(
            feed.id, current=feed, now=now, delay_s=jitter(interval), status="unchanged",
            interval_s=interval, entries_per_day=epd, polls_since_check=since_check,
            last_full_fetch=now, **validators(), **url_change)
        if use_validators and (feed.etag or feed.last_modified):
            blog.debug("feed_200_unchanged", note="server answered 200 to a conditional request with the same body")
        return PollResult(feed.id, f.url, "unchanged", http_status=resp.status, next_due=f.next_due,
                          interval_s=f.interval_s, check_poll=check, moved_to=moved_to,
                          elapsed_s=time.monotonic() - t0)

    # ---- parse ----
    feed_url = moved_to or feed.url
    try:
        parsed: ParsedFeed = parse_feed(content, feed_url=feed_url, feed_id=feed.id, headers=resp.headers)
    except FeedError as exc:
        return fail(exc.reason, str(exc), http_status=resp.status)
    except Exception as exc:  # noqa: BLE001
        blog.exception("feed_parse_crashed")
        return fail("parser_crash", f"{type(exc).__name__}: {exc}", http_status=resp.status)

    guids = [r.guid for r in parsed.entries]
    new_guids = set(registry.unseen(feed.id, guids))
    new_refs = [r for r in parsed.entries if r.guid in new_guids]

    # ---- a 304 that hid a change? (rule 3) ----
    lie = False
    changes: dict[str, Any] = {}
    if check and feed.last_status == "not_modified" and feed.last_polled and new_refs:
        published_before = [r for r in new_refs if r.published and _iso_to_ts(r.published) < feed.last_polled]
        if published_before:
            lie = True
            lies = feed.validator_lies + 1
            changes["validator_lies"] = lies
            blog.warning("feed_304_hid_change", new_entries=len(new_refs), hidden=len(published_before),
                         validator_lies=lies)
            if lies >= VALIDATOR_LIES_TO_IGNORE and not feed.ignore_validators:
                changes["ignore_validators"] = True
                blog.warning("feed_validators_ignored", reason="validator_lies", validator_lies=lies)

    if on_new is not None and new_refs:
        on_new(new_refs)  # raises -> nothing committed; the next poll offers them again

    registry.mark_seen(feed.id, [r.guid for r in new_refs], now=now)
    dated = entries_per_day_from_dates(parsed.published_ts, now)
    epd = update_entries_per_day(feed.entries_per_day, len(new_refs), elapsed_since, dated)
    interval = adaptive_interval(epd, min_s=min_s, max_s=max_s, feed_min_s=parsed.min_interval_s)
    v = validators()
    # a server that stopped sending validators must not keep our stale ones
    changes.update(etag=v.get("etag"), last_modified=v.get("last_modified"))
    if parsed.title and not feed.title:
        changes["title"] = parsed.title
    f = registry.record_success(
        feed.id, current=feed, now=now, delay_s=jitter(interval), status="ok", interval_s=interval,
        entries_per_day=epd, body_hash=digest, last_full_fetch=now, polls_since_check=since_check,
        ttl_s=parsed.min_interval_s, total_entries=feed.total_entries + len(new_refs),
        **changes, **url_change)
    blog.info("feed_polled", status="ok", entries=len(parsed.entries), new=len(new_refs),
              bozo=parsed.bozo_reason, interval_s=round(f.interval_s or 0), check_poll=check)
    return PollResult(feed.id, f.url, "ok", reason=parsed.bozo_reason, new=new_refs, entries=len(parsed.entries),
                      http_status=resp.status, next_due=f.next_due, interval_s=f.interval_s, check_poll=check,
                      moved_to=moved_to, validator_lie=lie, elapsed_s=time.monotonic() - t0,
                      dropped=dict(parsed.dropped), encoding_warning=parsed.encoding_warning)


def _iso_to_ts(iso: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return float("inf")


__all__ = ["PollResult", "poll_feed", "body_hash", "is_check_poll", "request_headers", "permanent_target",
           "backoff_delay", "adaptive_interval"]
