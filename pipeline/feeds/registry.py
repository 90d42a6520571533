"""The feed registry: every feed's state in Redis, and the scheduling rules that set ``next_due``.

Keys (``P`` is ``settings.redis_key_prefix``):

* ``P:feed:<id>``      hash: the :class:`Feed` fields (strings; see :meth:`Feed.to_redis`)
* ``P:feeds``          set of all feed ids (enabled and disabled)
* ``P:feeds:due``      sorted set: enabled feed id -> ``next_due`` (epoch seconds)
* ``P:feeds:url``      hash: normalized URL -> feed id (the added URL and every URL a 301 moved it to)
* ``P:feed:<id>:seen`` sorted set: guid key -> first-seen time; the newest
  :data:`SEEN_PER_FEED` are kept (a feed lists far fewer entries than that at once)

A feed's id is fixed when it is added (from its normalized URL) and never changes, even when a
301 moves the feed: article references and logs keep pointing at the same feed.

A feed is never dropped silently: errors only push ``next_due`` back (exponential backoff,
capped at ``poll_max_interval_s``); only ``410 Gone`` or a person disables a feed, and a
disabled feed keeps its record and ``disabled_reason`` until it is re-enabled or removed.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import dataclass, field, fields
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from pipeline.errors import WirewatchError
from pipeline.logs import get_logger
from pipeline.retry import backoff_s

log = get_logger(__name__)

#: Guids remembered per feed. Busy news feeds list 20-100 entries at a time; 2,000 covers
#: entries that drop out of a feed and come back without re-announcing them as new.
SEEN_PER_FEED = 2000
#: 304 answers in a row before a validator-free "check" poll (catches a 304 that hides a change).
VALIDATOR_CHECK_EVERY = 12
#: A validator-free check is also due when the last full 200 body is older than this, seconds.
VALIDATOR_CHECK_MAX_AGE_S = 86_400
#: Hidden changes caught by check polls before the feed's ``ignore_validators`` switch is set.
VALIDATOR_LIES_TO_IGNORE = 2
#: Target polls per new entry: polling twice per expected entry means an entry waits on
#: average a quarter of the gap between two entries (our choice; see :func:`adaptive_interval`).
POLLS_PER_ENTRY = 2.0
#: Interval for a feed whose rate is unknown yet (first polls), seconds, before clamping.
DEFAULT_INTERVAL_S = 1800
#: Time constant of the entries-per-day moving average, seconds (one day).
EPD_TAU_S = 86_400
#: Entries per day assumed before anything is known: the rate at which
#: :func:`adaptive_interval` gives :data:`DEFAULT_INTERVAL_S`.
PRIOR_ENTRIES_PER_DAY = 86_400 / (DEFAULT_INTERVAL_S * POLLS_PER_ENTRY)


class FeedNotFound(WirewatchError):
    """No feed with that id or URL in the registry."""

    reason = "feed_not_found"


def normalize_feed_url(url: str) -> str:
    """Normalize a feed URL for identity: trimmed, ``feed://`` -> ``http://``, scheme and
    host lower-cased, default ports and the fragment dropped, an empty path made ``/``.

    Path and query are kept as given (servers treat them case-sensitively).
    Raises :class:`ValueError` for anything but an absolute http(s) URL.
    """
    url = (url or "").strip()
    if url.lower().startswith("feed://"):
        url = "http://" + url[7:]
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    if parts.username:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def feed_id_for(url: str) -> str:
    """Stable feed id: the first 16 hex digits of SHA-256 of :func:`normalize_feed_url`."""
    return hashlib.sha256(normalize_feed_url(url).encode("utf-8")).hexdigest()[:16]


@dataclass
class Feed:
    """One feed's registry record.

    Times are epoch seconds (float) or None. ``interval_s`` is the current adaptive interval;
    ``entries_per_day`` the moving estimate of new entries per day (None until measured);
    ``polls_since_check`` counts 304 answers since the last full body;
    ``validator_lies`` counts 304s caught hiding a change; ``previous_urls`` the URLs a
    permanent redirect moved the feed away from; ``last_status`` is the outcome of
    the last poll (``ok``, ``not_modified``, ``unchanged``, ``error``, ``disabled``).
    """

    id: str
    url: str
    title: str = ""
    categories: list[str] = field(default_factory=list)
    previous_urls: list[str] = field(default_factory=list)
    enabled: bool = True
    disabled_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    ignore_validators: bool = False
    added_at: float | None = None
    last_polled: float | None = None
    last_success: float | None = None
    last_full_fetch: float | None = None
    last_error: float | None = None
    last_error_reason: str | None = None
    last_error_message: str | None = None
    last_status: str | None = None
    consecutive_errors: int = 0
    next_due: float | None = None
    interval_s: float | None = None
    entries_per_day: float | None = None
    ttl_s: float | None = None
    polls_since_check: int = 0
    validator_lies: int = 0
    total_polls: int = 0
    total_errors: int = 0
    total_entries: int = 0

    _BOOL = ("enabled", "ignore_validators")
    _INT = ("consecutive_errors", "polls_since_check", "validator_lies", "total_polls", "total_errors", "total_entries")
    _FLOAT = ("added_at", "last_polled", "last_success", "last_full_fetch", "last_error", "next_due",
              "interval_s", "entries_per_day", "ttl_s")

    def to_redis(self) -> dict[str, str]:
        """Flatten to a Redis hash: None as "", bools as "1"/"0", lists as JSON."""
        out: dict[str, str] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                out[f.name] = ""
            elif isinstance(v, bool):
                out[f.name] = "1" if v else "0"
            elif isinstance(v, list):
                out[f.name] = json.dumps(v)
            else:
                out[f.name] = str(v)
        return out

    @classmethod
    def from_redis(cls, raw: dict[Any, Any]) -> "Feed":
        """Rebuild from a Redis hash (bytes or str keys/values); unknown keys are ignored."""
        data = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()}
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            s = data[f.name]
            if f.name in cls._BOOL:
                kw[f.name] = s == "1"
            elif f.name in cls._INT:
                kw[f.name] = int(float(s)) if s else 0
            elif f.name in cls._FLOAT:
                kw[f.name] = float(s) if s else None
            elif f.name in ("categories", "previous_urls"):
                kw[f.name] = json.loads(s) if s else []
            else:
                kw[f.name] = s if s != "" or f.name in ("id", "url", "title") else None
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def status(self) -> str:
        """One word for ``health``: ``disabled``, ``failing`` (consecutive errors), ``ok`` or ``new``."""
        if not self.enabled:
            return "disabled"
        if self.consecutive_errors:
            return "failing"
        return "ok" if self.last_success else "new"


# --------------------------------------------------------------------------------------------
# scheduling rules (pure functions)
# --------------------------------------------------------------------------------------------

def clamp(value: float, lo: float, hi: float) -> float:
    """``value`` limited to ``[lo, hi]``."""
    return max(lo, min(hi, value))


def entries_per_day_from_dates(published_ts: Iterable[float], now: float, window_days: float = 30.0) -> float | None:
    """Estimate new entries per day from entry publication times (epoch seconds).

    Uses the entries published in the last ``window_days`` (future dates ignored): with n of
    them spanning from the oldest to ``now``, the rate is n / span in days, the span at least
    one hour so a burst does not read as thousands a day. None with fewer than 2 dated entries.
    """
    recent = sorted(t for t in published_ts if now - window_days * 86_400 <= t <= now + 300)
    if len(recent) < 2:
        return None
    span_days = max((now - recent[0]) / 86_400, 1 / 24)
    return len(recent) / span_days


def update_entries_per_day(previous: float | None, new_entries: int, elapsed_s: float | None,
                           dated_estimate: float | None) -> float | None:
    """Fold one poll's observation into the entries-per-day estimate.

    A time-weighted exponential moving average: the observation ``new_entries * 86400 /
    elapsed_s`` gets weight ``1 - exp(-elapsed_s / EPD_TAU_S)``, so a 5-minute poll moves the
    estimate a little and a day of silence moves it a lot (about 63 %), whatever the poll
    interval. With no estimate yet it is seeded from the entry dates (``dated_estimate``, see
    :func:`entries_per_day_from_dates`), else from :data:`PRIOR_ENTRIES_PER_DAY`. Returns the
    previous value when ``elapsed_s`` is unknown or not positive.
    """
    if previous is None:
        previous = dated_estimate if dated_estimate is not None else PRIOR_ENTRIES_PER_DAY
        if dated_estimate is not None:
            return previous
    if not elapsed_s or elapsed_s <= 0:
        return previous
    observed = new_entries * 86_400 / elapsed_s
    weight = 1 - math.exp(-elapsed_s / EPD_TAU_S)
    return (1 - weight) * previous + weight * observed


def adaptive_interval(entries_per_day: float | None, *, min_s: float, max_s: float,
                      feed_min_s: float | None = None) -> float:
    """The poll interval in seconds for a feed publishing ``entries_per_day``.

    Rule: ``86400 / (entries_per_day * POLLS_PER_ENTRY)`` (two polls per expected entry);
    :data:`DEFAULT_INTERVAL_S` when the rate is unknown; ``max_s`` when the feed published
    nothing. The feed's own floor (``feed_min_s``: RSS ``<ttl>`` and ``sy:updatePeriod`` /
    ``sy:updateFrequency``, see :attr:`pipeline.feeds.parse.ParsedFeed.min_interval_s`) is
    respected, then the result is clamped to ``[min_s, max_s]`` (the settings win over a ttl
    longer than ``max_s``: we still look once a day so breakage is noticed).
    """
    if entries_per_day is None:
        raw = DEFAULT_INTERVAL_S
    elif entries_per_day <= 0:
        raw = max_s
    else:
        raw = 86_400 / (entries_per_day * POLLS_PER_ENTRY)
    if feed_min_s:
        raw = max(raw, feed_min_s)
    return clamp(raw, min_s, max_s)


def backoff_delay(consecutive_errors: int, *, min_s: float, max_s: float,
                  retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``consecutive_errors``-th error in a row (1 for the first).

    Exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential Backoff And
    Jitter", 2015): ``cap = min(max_s, min_s * 2**(n-1))``, delay uniform in ``[cap/2, cap]``,
    so feeds that failed together do not retry together. A server's ``Retry-After`` is a
    floor, itself capped at ``max_s``.
    """
    return backoff_s(consecutive_errors, base_s=min_s, cap_s=max_s, jitter="equal", retry_after_s=retry_after_s, rng=rng)


# --------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------

# Atomically move due feeds' next_due forward by a lease, so two beat ticks (or two beat
# processes) do not dispatch the same feed while a poll is in flight.
_CLAIM_LUA = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  redis.call('HSET', ARGV[4] .. id, 'next_due', ARGV[3])
end
return ids
"""


class FeedRegistry:
    """Feed state in Redis (see the module docstring for keys).

    ``redis`` is a ``redis.Redis`` (either ``decode_responses`` setting works); ``settings``
    supplies ``redis_key_prefix``, ``poll_min_interval_s`` and ``poll_max_interval_s``.
    Methods raise :class:`FeedNotFound` for unknown feeds and let ``redis`` connection
    errors through (callers turn them into a clear message).
    """

    def __init__(self, redis, settings):
        self.redis = redis
        self.settings = settings
        p = settings.redis_key_prefix
        self._prefix = p
        self._all = f"{p}:feeds"
        self._due = f"{p}:feeds:due"
        self._urls = f"{p}:feeds:url"
        self._claim = redis.register_script(_CLAIM_LUA)

    # ---- keys ----
    def _key(self, feed_id: str) -> str:
        return f"{self._prefix}:feed:{feed_id}"

    def _seen_key(self, feed_id: str) -> str:
        return f"{self._prefix}:feed:{feed_id}:seen"

    @staticmethod
    def _s(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else v

    # ---- lookup ----
    def resolve(self, id_or_url: str) -> str:
        """Feed id for a feed id or any URL the feed is or was known by; raises FeedNotFound."""
        key = (id_or_url or "").strip()
        if key and self.redis.sismember(self._all, key):
            return key
        try:
            norm = normalize_feed_url(key)
        except ValueError:
            raise FeedNotFound(f"no feed {id_or_url!r}") from None
        fid = self.redis.hget(self._urls, norm)
        if fid is None:
            raise FeedNotFound(f"no feed {id_or_url!r}")
        return self._s(fid)

    def get(self, feed_id: str) -> Feed:
        """The :class:`Feed` with this id (or URL); raises :class:`FeedNotFound`.

        One round trip for an id; a URL costs one more (the URL index).
        """
        key = (feed_id or "").strip()
        raw = self.redis.hgetall(self._key(key)) if key and "/" not in key else None
        if not raw:
            fid = self.resolve(key)
            raw = self.redis.hgetall(self._key(fid))
        if not raw:
            raise FeedNotFound(f"no feed {feed_id!r}")
        return Feed.from_redis(raw)

    def list(self) -> list[Feed]:
        """Every feed, enabled or not, sorted by title then URL."""
        ids = sorted(self._s(i) for i in self.redis.smembers(self._all))
        pipe = self.redis.pipeline(transaction=False)
        for fid in ids:
            pipe.hgetall(self._key(fid))
        feeds = [Feed.from_redis(raw) for raw in pipe.execute() if raw]
        return sorted(feeds, key=lambda f: ((f.title or "").lower(), f.url))

    def count(self) -> int:
        """Number of feeds in the registry."""
        return int(self.redis.scard(self._all))

    # ---- changes ----
    def add(self, url: str, title: str | None = None, categories: list[str] | None = None,
            now: float | None = None) -> Feed:
        """Register ``url`` (due at once) and return its :class:`Feed`.

        Idempotent: adding a known URL returns the existing record, filling in the title and
        categories when they were empty. Raises :class:`ValueError` for a non-http(s) URL.
        """
        norm = normalize_feed_url(url)
        now = time.time() if now is None else now
        existing = self.redis.hget(self._urls, norm)
        if existing is not None:
            feed = self.get(self._s(existing))
            changes: dict[str, str] = {}
            if title and not feed.title:
                feed.title = title
                changes["title"] = title
            if categories and not feed.categories:
                feed.categories = list(categories)
                changes["categories"] = json.dumps(feed.categories)
            if changes:
                self.redis.hset(self._key(feed.id), mapping=changes)
            return feed
        fid = feed_id_for(norm)
        feed = Feed(id=fid, url=norm, title=title or "", categories=list(categories or []),
                    added_at=now, next_due=now)
        pipe = self.redis.pipeline()
        pipe.hset(self._key(fid), mapping=feed.to_redis())
        pipe.sadd(self._all, fid)
        pipe.zadd(self._due, {fid: now})
        pipe.hset(self._urls, norm, fid)
        pipe.execute()
        log.info("feed_added", feed_id=fid, url=norm)
        return feed

    def add_many(self, items: Iterable[tuple[str, str | None, list[str] | None]], now: float | None = None,
                 batch: int = 1000) -> dict[str, Any]:
        """Register many feeds at once (OPML imports, benchmarks), pipelined in batches.

        ``items`` are ``(url, title, categories)``. Known URLs are left as they are (unlike
        :meth:`add`, no title back-fill). Returns ``{"added": [ids], "existing": [ids],
        "invalid": [{"url", "error"}]}``.
        """
        now = time.time() if now is None else now
        out: dict[str, Any] = {"added": [], "existing": [], "invalid": []}
        chunk: list[tuple[str, str | None, list[str] | None]] = []

        def flush() -> None:
            norms = []
            for url, title, cats in chunk:
                try:
                    norms.append((normalize_feed_url(url), title, cats))
                except ValueError as exc:
                    out["invalid"].append({"url": url, "error": str(exc)})
            if not norms:
                return
            known = self.redis.hmget(self._urls, [n for n, _, _ in norms])
            pipe = self.redis.pipeline()
            fresh: set[str] = set()
            for (norm, title, cats), existing in zip(norms, known):
                if existing is not None:
                    out["existing"].append(self._s(existing))
                    continue
                fid = feed_id_for(norm)
                if fid in fresh:
                    out["existing"].append(fid)
                    continue
                fresh.add(fid)
                feed = Feed(id=fid, url=norm, title=title or "", categories=list(cats or []), added_at=now, next_due=now)
                pipe.hset(self._key(fid), mapping=feed.to_redis())
                pipe.sadd(self._all, fid)
                pipe.zadd(self._due, {fid: now})
                pipe.hset(self._urls, norm, fid)
                out["added"].append(fid)
            pipe.execute()

        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                flush()
                chunk = []
        if chunk:
            flush()
        log.info("feeds_added", added=len(out["added"]), existing=len(out["existing"]), invalid=len(out["invalid"]))
        return out

    def remove(self, id_or_url: str) -> Feed:
        """Delete a feed and its seen guids; return the removed record. Raises FeedNotFound."""
        feed = self.get(id_or_url)
        urls = [u for u in dict.fromkeys([feed.url, *feed.previous_urls])
                if self._s(self.redis.hget(self._urls, u) or b"") == feed.id]
        pipe = self.redis.pipeline()
        pipe.delete(self._key(feed.id), self._seen_key(feed.id))
        pipe.srem(self._all, feed.id)
        pipe.zrem(self._due, feed.id)
        if urls:
            pipe.hdel(self._urls, *urls)
        pipe.execute()
        log.info("feed_removed", feed_id=feed.id, url=feed.url)
        return feed

    def update(self, feed_id: str, *, current: Feed | None = None, **changes: Any) -> Feed:
        """Set fields of a feed record (``Feed`` field names) and return the new record.

        ``next_due`` also moves the feed in the due queue (enabled feeds only). Only the
        changed fields are written. ``current`` is the record the caller already holds (saves
        a read). Unknown field names raise :class:`ValueError`.
        """
        feed = Feed(**current.to_dict()) if current is not None else self.get(feed_id)
        names = {f.name for f in fields(Feed)}
        bad = set(changes) - names
        if bad:
            raise ValueError(f"unknown feed fields: {sorted(bad)}")
        if "url" in changes and changes["url"] != feed.url:
            changes["previous_urls"] = [*feed.previous_urls, feed.url][-20:]
        for k, v in changes.items():
            setattr(feed, k, v)
        flat = feed.to_redis()
        pipe = self.redis.pipeline()
        pipe.hset(self._key(feed.id), mapping={k: flat[k] for k in changes})
        if "url" in changes:
            pipe.hset(self._urls, normalize_feed_url(feed.url), feed.id)
        if "enabled" in changes:
            if feed.enabled and feed.next_due is not None:
                pipe.zadd(self._due, {feed.id: feed.next_due})
            elif not feed.enabled:
                pipe.zrem(self._due, feed.id)
        elif "next_due" in changes and feed.next_due is not None:
            # XX: only reschedule a feed still in the queue, so a poll that finishes after
            # someone disabled the feed does not put it back
            pipe.zadd(self._due, {feed.id: feed.next_due}, xx=True)
        pipe.execute()
        return feed

    def enable(self, feed_id: str, now: float | None = None) -> Feed:
        """Re-enable a feed: clears the disabled reason and the error streak, due at once."""
        now = time.time() if now is None else now
        feed = self.update(feed_id, enabled=True, disabled_reason=None, consecutive_errors=0, next_due=now)
        log.info("feed_enabled", feed_id=feed.id)
        return feed

    def disable(self, feed_id: str, reason: str) -> Feed:
        """Disable a feed with a reason; it stays listed (``health`` shows the reason)."""
        feed = self.update(feed_id, enabled=False, disabled_reason=reason or "disabled", last_status="disabled")
        log.warning("feed_disabled", feed_id=feed.id, url=feed.url, reason=feed.disabled_reason)
        return feed

    def set_ignore_validators(self, feed_id: str, ignore: bool) -> Feed:
        """Turn the per-feed switch on (always fetch without ETag/Last-Modified) or off."""
        changes: dict[str, Any] = {"ignore_validators": ignore}
        if not ignore:
            changes["validator_lies"] = 0
        return self.update(feed_id, **changes)

    # ---- scheduling ----
    def due(self, now: float | None = None, limit: int = 100) -> list[Feed]:
        """Enabled feeds whose ``next_due`` <= ``now``, earliest first, at most ``limit``.

        Read-only; see :meth:`claim_due` for dispatching without double polls.
        """
        now = time.time() if now is None else now
        ids = [self._s(i) for i in self.redis.zrangebyscore(self._due, "-inf", now, start=0, num=limit)]
        return self._load(ids)

    def claim_due(self, now: float | None = None, limit: int = 100, lease_s: float = 600) -> list[Feed]:
        """Like :meth:`due`, but atomically pushes each returned feed's ``next_due`` to
        ``now + lease_s``, so a second caller does not get it again while it is polled. The
        poll's own :meth:`record_success`/:meth:`record_error` then sets the real next time;
        if the poll is lost, the feed comes due again when the lease ends."""
        now = time.time() if now is None else now
        ids = [self._s(i) for i in self._claim(keys=[self._due],
                                               args=[now, limit, now + lease_s, f"{self._prefix}:feed:"])]
        return self._load(ids)

    def _load(self, ids: list[str]) -> list[Feed]:
        pipe = self.redis.pipeline(transaction=False)
        for fid in ids:
            pipe.hgetall(self._key(fid))
        return [Feed.from_redis(raw) for raw in pipe.execute() if raw]

    def record_success(self, feed_id: str, *, now: float | None = None, status: str = "ok",
                       interval_s: float | None = None, current: Feed | None = None, delay_s: float = 0.0,
                       **changes: Any) -> Feed:
        """Record a successful poll (``status``: ``ok``, ``not_modified`` or ``unchanged``).

        Resets the error streak, sets ``last_success``/``last_polled``, stores ``changes``
        (e.g. ``etag``, ``last_modified``, ``body_hash``, ``entries_per_day``, ``url``) and
        schedules ``next_due = now + interval_s`` (``interval_s`` defaults to the feed's
        current interval or :data:`DEFAULT_INTERVAL_S`, clamped to the settings). ``current``:
        the record as the caller read it before the poll (saves a read). ``delay_s`` is added
        to ``next_due`` only (the poll stage's schedule jitter).
        """
        now = time.time() if now is None else now
        feed = current if current is not None else self.get(feed_id)
        interval = interval_s if interval_s is not None else (feed.interval_s or DEFAULT_INTERVAL_S)
        interval = clamp(interval, self.settings.poll_min_interval_s, self.settings.poll_max_interval_s)
        upd = dict(changes)
        upd.update(last_success=now, last_polled=now, last_status=status, consecutive_errors=0,
                   interval_s=interval, next_due=now + interval + max(0.0, delay_s),
                   total_polls=feed.total_polls + 1)
        return self.update(feed.id, current=feed, **upd)

    def record_error(self, feed_id: str, reason: str, *, now: float | None = None, message: str = "",
                     retry_after_s: float | None = None, next_due: float | None = None,
                     disable: bool = False, rng: random.Random | None = None,
                     current: Feed | None = None) -> Feed:
        """Record a failed poll with its reason; back off or disable; log it.

        ``next_due`` defaults to ``now + backoff_delay(consecutive_errors, ...)`` (honouring
        ``retry_after_s``). ``disable=True`` (410 Gone) disables the feed with ``reason``.
        The feed is never removed. ``current`` as for :meth:`record_success`.
        """
        now = time.time() if now is None else now
        feed = current if current is not None else self.get(feed_id)
        n = feed.consecutive_errors + 1
        if next_due is None:
            next_due = now + backoff_delay(n, min_s=self.settings.poll_min_interval_s,
                                           max_s=self.settings.poll_max_interval_s,
                                           retry_after_s=retry_after_s, rng=rng)
        feed = self.update(feed.id, current=feed, last_error=now, last_polled=now, last_error_reason=reason,
                           last_error_message=(message or reason)[:500], last_status="error",
                           consecutive_errors=n, next_due=next_due, total_polls=feed.total_polls + 1,
                           total_errors=feed.total_errors + 1)
        log.warning("feed_poll_failed", feed_id=feed.id, url=feed.url, reason=reason, message=message[:300],
                    consecutive_errors=n, next_due=next_due, retry_after_s=retry_after_s)
        if disable:
            feed = self.update(feed.id, current=feed, enabled=False, disabled_reason=reason, last_status="disabled")
            log.warning("feed_disabled", feed_id=feed.id, url=feed.url, reason=reason)
        return feed

    # ---- seen guids ----
    def unseen(self, feed_id: str, guids: Iterable[str]) -> list[str]:
        """The guids (in the given order, without repeats) not yet marked seen. Read-only."""
        from pipeline.feeds.parse import guid_key

        guids = list(dict.fromkeys(guids))
        if not guids:
            return []
        scores = self.redis.zmscore(self._seen_key(feed_id), [guid_key(g) for g in guids])
        return [g for g, s in zip(guids, scores) if s is None]

    def mark_seen(self, feed_id: str, guids: Iterable[str], now: float | None = None) -> list[str]:
        """Mark guids seen; return those that were new (input order). Keeps the newest
        :data:`SEEN_PER_FEED` per feed."""
        from pipeline.feeds.parse import guid_key

        guids = list(dict.fromkeys(guids))
        if not guids:
            return []
        now = time.time() if now is None else now
        key = self._seen_key(feed_id)
        pipe = self.redis.pipeline()
        for g in guids:
            pipe.zadd(key, {guid_key(g): now}, nx=True)
        pipe.zremrangebyrank(key, 0, -SEEN_PER_FEED - 1)
        added = pipe.execute()[:-1]
        return [g for g, a in zip(guids, added) if a]

    def seen_count(self, feed_id: str) -> int:
        """Number of guids remembered for a feed."""
        return int(self.redis.zcard(self._seen_key(feed_id)))
