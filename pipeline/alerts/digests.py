"""Digests: a saved search with ``alert_mode: digest`` gets its matches once per hour or day,
grouped by story, instead of one message per article.

Matching is unchanged (:func:`pipeline.alerts.match_alerts` records one event per search and
story cluster, with ``mode: digest`` and nothing sent). Once a period has ended (hourly, or a
calendar day, in the search's ``digest_timezone``) and :data:`GRACE_S` more have passed, beat's
``send_digests`` task builds the period's digest from the alerts index (:func:`build_digest`:
the events grouped by ``story_id``, each story with its title, outlets, count, newest article and
top quotes) and sends it on the search's channels through :func:`pipeline.alerts.notify.notify`.

**Each period is sent once**, even when beat or a worker restarts mid-send
(:func:`send_digest`):

1. a period whose ledger entry (``<prefix>:digest:<search>:<period start>``) says ``sent`` or
   ``empty`` is skipped;
2. the sender takes the period's lease (``SET NX`` with ``settings.digest_lease_s``); another
   sender (a second beat, a redelivered task) finds it taken and does nothing;
3. the digest is built once and stored in the ledger before anything is sent, so a sender that
   takes over after a crash sends the same content;
4. each channel is marked done (a Redis set) right after its delivery returned (delivered, or
   dead-lettered by :mod:`pipeline.alerts.notify` after its retries); a sender that takes over after a
   crash sends only the channels not marked;
5. the entry is marked ``sent`` and the lease released.

A sender killed mid-send leaves the lease to expire; the next beat tick after it takes over. The
one window left is between a channel's acknowledgement and step 4: that channel then gets the
digest again with the same delivery id (``X-Wirewatch-Delivery``: SHA-256 of search and period),
by which a receiver drops it. An empty period is recorded as ``empty`` and nothing is sent.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from pipeline.logs import get_logger

log = get_logger(__name__)

#: Seconds after a period's end before its digest is sent, so events matched in its last
#: moments (written a batch linger and a percolation later) are in it.
GRACE_S = 60.0
#: Stories listed in one digest (the most matched first); the rest are counted.
MAX_STORIES = 50
#: Quotes shown per story.
QUOTES_PER_STORY = 2
#: Events read per digest (one search request).
MAX_EVENTS = 10_000


def period_bounds(period: str, tz: str, at: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC of the ``period`` (``hourly`` | ``daily``) containing ``at``, on
    the wall clock of time zone ``tz`` (a day is local midnight to midnight, 23 or 25 hours long
    on daylight-saving days). Raises ValueError for another period, ZoneInfoNotFoundError for
    an unknown zone."""
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    if period == "hourly":
        start_local = local.replace(minute=0, second=0, microsecond=0)
        # step in UTC: an hour is an hour even across a DST change
        start = start_local.astimezone(timezone.utc)
        return start, start + timedelta(hours=1)
    if period == "daily":
        start_local = datetime(local.year, local.month, local.day, tzinfo=zone)
        nxt = start_local.date() + timedelta(days=1)
        end_local = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
        return start_local.astimezone(timezone.utc), end_local.astimezone(timezone.utc)
    raise ValueError(f"digest period must be hourly or daily, not {period!r}")


def last_completed(period: str, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """The latest ``period`` that ended at or before ``now``."""
    start, _end = period_bounds(period, tz, now)
    return period_bounds(period, tz, start - timedelta(microseconds=1))


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def build_digest(engine, search, start: datetime, end: datetime, *, stories=None) -> dict[str, Any]:
    """The digest of ``search`` (a :class:`pipeline.searches.SavedSearch`) for matches with
    ``start <= matched_at < end``: ``{"search_id", "search_name", "period", "timezone",
    "start", "end", "articles", "story_count", "stories": [{"story_id", "title", "count",
    "outlets", "newest": {"title", "url", "source", "published_at"}, "quotes": [{"speaker",
    "text"}]}]}``, stories with the most matches first (then the newest). ``stories`` is a
    :class:`pipeline.dedupe.stories.StoryIndex` for story titles (the most central article's); without
    it, or for a story it no longer knows, the newest matched title stands in. Raises
    EngineError."""
    body = {"query": {"bool": {"filter": [{"term": {"search_id": search.id}},
                                          {"range": {"matched_at": {"gte": _iso(start), "lt": _iso(end)}}}]}},
            "size": MAX_EVENTS, "sort": [{"matched_at": "asc"}, {"alert_id": "asc"}]}
    events = [h["_source"] for h in engine.search(engine.alias("alerts"), body)["hits"]["hits"]]
    docs = engine.mget(engine.alias("articles"), sorted({e["article_id"] for e in events})) if events else {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        doc = docs.get(ev["article_id"]) or {}
        key = ev.get("story_id") or (doc.get("story") or {}).get("id") or ev.get("cluster_id") or ev["article_id"]
        groups.setdefault(str(key), []).append(ev)
    out = []
    for key, evs in groups.items():
        def when(e: dict[str, Any]) -> str:
            return str(e.get("published_at") or e.get("matched_at") or "")

        newest = max(evs, key=when)
        outlets = sorted({e.get("source_domain") for e in evs if e.get("source_domain")})
        quotes: list[dict[str, str]] = []
        for e in sorted(evs, key=when, reverse=True):
            for q in (docs.get(e["article_id"]) or {}).get("quotes") or []:
                if q.get("speaker") and q.get("text") and len(quotes) < QUOTES_PER_STORY:
                    quotes.append({"speaker": q["speaker"], "text": q["text"]})
        title = None
        if stories is not None:
            rec = stories.get(key)
            title = rec["title"] if rec else None
        out.append({"story_id": key, "title": title or newest.get("title") or "(untitled)", "count": len(evs),
                    "outlets": outlets,
                    "newest": {"title": newest.get("title"), "url": newest.get("url"),
                               "source": newest.get("source_domain"), "published_at": newest.get("published_at")},
                    "quotes": quotes})
    out.sort(key=lambda s: (-s["count"], str(s["newest"]["published_at"] or "")), reverse=False)
    return {"search_id": search.id, "search_name": search.name, "period": search.digest_period,
            "timezone": search.digest_timezone, "start": _iso(start), "end": _iso(end),
            "articles": len(events), "story_count": len(out), "stories": out[:MAX_STORIES]}


def digest_text(digest: dict[str, Any]) -> str:
    """The digest as plain text (e-mail body, Slack section, log line)."""
    zone = ZoneInfo(digest["timezone"])
    start = datetime.fromisoformat(digest["start"]).astimezone(zone)
    end = datetime.fromisoformat(digest["end"]).astimezone(zone)
    lines = [f"{digest['search_name']}: {digest['articles']} matching articles in {digest['story_count']} stories, "
             f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({digest['timezone']})", ""]
    for n, s in enumerate(digest["stories"], 1):
        lines.append(f"{n}. {s['title']} ({s['count']} articles; {', '.join(s['outlets']) or 'no outlet'})")
        nw = s["newest"]
        lines.append(f"   newest: {nw.get('title') or ''} {nw.get('url') or ''}".rstrip())
        for q in s["quotes"]:
            lines.append(f"   \u201c{q['text'][:200]}\u201d ({q['speaker']})")
    if digest["story_count"] > len(digest["stories"]):
        lines.append(f"... and {digest['story_count'] - len(digest['stories'])} more stories")
    return "\n".join(lines)


def digest_message(digest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(event, article summary)`` for :func:`pipeline.alerts.notify.notify`: the event's
    ``article_id`` is ``digest:<period start>`` (so the delivery id is unique per search and
    period) and carries the whole digest under ``digest``; the summary's excerpt is
    :func:`digest_text`."""
    event = {"kind": "digest", "search_id": digest["search_id"], "search_name": digest["search_name"],
             "article_id": f"digest:{digest['start']}", "cluster_id": None, "matched_at": digest["end"],
             "digest": digest}
    summary = {"id": event["article_id"], "title": f"Digest: {digest['story_count']} stories, {digest['articles']} articles",
               "url": None, "canonical_url": None, "published_at": digest["end"], "language": None,
               "source_domain": None, "excerpt": digest_text(digest), "persons": [], "organizations": [],
               "places": [], "countries": [], "topics": [], "quotes": 0, "cluster_id": None, "duplicate_of": None}
    return event, summary


@dataclass
class DigestResult:
    """Outcome of :func:`send_digest`: ``status`` ``sent`` (this call finished it), ``empty``
    (no match in the period), ``already`` (sent or empty before), ``busy`` (another sender
    holds the lease); ``channels_sent`` the channel indexes this call delivered; ``digest``."""

    search_id: str
    start: str
    end: str
    status: str
    channels_sent: list[int] = field(default_factory=list)
    digest: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


class DigestLedger:
    """Per search and period: status, the built digest, the channels done, the lease (Redis)."""

    def __init__(self, redis, settings):
        self.redis = redis
        self.ns = f"{settings.redis_key_prefix}:digest"
        self.lease_s = float(settings.digest_lease_s)
        self.keep_s = 90 * 86400

    def _k(self, kind: str, search_id: str, start: str) -> str:
        return f"{self.ns}:{kind}:{search_id}:{start}"

    def state(self, search_id: str, start: str) -> dict[str, Any]:
        """``{"status", "digest", "sent_at", "channels_done"}`` (empty dict when never tried)."""
        raw = self.redis.hgetall(self._k("state", search_id, start))
        d = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}
        if "digest" in d:
            d["digest"] = json.loads(d["digest"])
        d["channels_done"] = sorted(int(x) for x in self.redis.smembers(self._k("done", search_id, start)))
        return d if raw else {}

    def take(self, search_id: str, start: str) -> str | None:
        """The period's lease for :attr:`lease_s` seconds: a token, or None when held."""
        token = uuid.uuid4().hex
        ok = self.redis.set(self._k("lease", search_id, start), token, nx=True, px=int(self.lease_s * 1000))
        return token if ok else None

    def release(self, search_id: str, start: str, token: str) -> None:
        """Release the lease if this token still holds it."""
        key = self._k("lease", search_id, start)
        held = self.redis.get(key)
        held = held.decode() if isinstance(held, bytes) else held
        if held == token:
            self.redis.delete(key)

    def save(self, search_id: str, start: str, **fields: Any) -> None:
        """Set status fields (``digest`` as JSON)."""
        key = self._k("state", search_id, start)
        mapping = {k: json.dumps(v) if k == "digest" else str(v) for k, v in fields.items()}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, self.keep_s)
        pipe.execute()

    def mark_channel(self, search_id: str, start: str, index: int) -> None:
        """Record channel ``index`` as done for the period."""
        key = self._k("done", search_id, start)
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(key, index)
        pipe.expire(key, self.keep_s)
        pipe.execute()


def send_digest(engine, redis, settings, search, start: datetime, end: datetime, *, deadletters=None,
                stories=None, http_client=None) -> DigestResult:
    """Build and send ``search``'s digest for ``[start, end)`` at most once; see the module
    docstring for the protocol. Raises EngineError / redis errors (the caller retries: the
    protocol makes a retry safe)."""
    from pipeline.alerts.notify import notify

    ledger = DigestLedger(redis, settings)
    s_iso = _iso(start)
    st = ledger.state(search.id, s_iso)
    if st.get("status") in ("sent", "empty"):
        return DigestResult(search.id, s_iso, _iso(end), "already", digest=st.get("digest"))
    token = ledger.take(search.id, s_iso)
    if token is None:
        return DigestResult(search.id, s_iso, _iso(end), "busy")
    try:
        st = ledger.state(search.id, s_iso)  # re-read under the lease
        if st.get("status") in ("sent", "empty"):
            return DigestResult(search.id, s_iso, _iso(end), "already", digest=st.get("digest"))
        digest = st.get("digest")
        if digest is None:
            digest = build_digest(engine, search, start, end, stories=stories)
            if not digest["articles"]:
                ledger.save(search.id, s_iso, status="empty", digest=digest, sent_at=_iso(datetime.now(timezone.utc)))
                return DigestResult(search.id, s_iso, _iso(end), "empty", digest=digest)
            ledger.save(search.id, s_iso, status="sending", digest=digest)
        event, summary = digest_message(digest)
        done = set(st.get("channels_done") or [])
        sent: list[int] = []
        for index, channel in enumerate(search.notify):
            if index in done:
                continue
            results = notify(event, summary, [channel], settings, deadletters=deadletters, http_client=http_client)
            ledger.mark_channel(search.id, s_iso, index)
            sent.append(index)
            log.info("digest_channel", search_id=search.id, start=s_iso, channel_index=index,
                     ok=all(r.ok for r in results))
        ledger.save(search.id, s_iso, status="sent", sent_at=_iso(datetime.now(timezone.utc)))
        log.info("digest_sent", search_id=search.id, start=s_iso, stories=digest["story_count"],
                 articles=digest["articles"], channels=sent)
        return DigestResult(search.id, s_iso, _iso(end), "sent", channels_sent=sent, digest=digest)
    finally:
        ledger.release(search.id, s_iso, token)


def due_periods(searches: Iterable, now: datetime) -> list[tuple[Any, datetime, datetime]]:
    """``(search, start, end)`` of the last completed period of every enabled digest search
    whose period ended at least :data:`GRACE_S` ago and began after the search was created."""
    out = []
    for s in searches:
        if not s.enabled or s.alert_mode != "digest":
            continue
        start, end = last_completed(s.digest_period, s.digest_timezone, now - timedelta(seconds=GRACE_S))
        created = datetime.fromisoformat(s.created_at.replace("Z", "+00:00")) if s.created_at else None
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        if created is not None and end <= created:
            continue
        out.append((s, start, end))
    return out


def send_due_digests(engine, redis, settings, *, now: datetime | None = None, deadletters=None,
                     stories=None, http_client=None) -> list[DigestResult]:
    """Send every due digest (:func:`due_periods`) that is not sent yet; returns one result
    per due period. Raises EngineError / redis errors."""
    from pipeline.alerts.searches import SavedSearchStore

    now = now or datetime.now(timezone.utc)
    searches = SavedSearchStore(engine, settings).list(enabled=True)
    return [send_digest(engine, redis, settings, s, start, end, deadletters=deadletters, stories=stories,
                        http_client=http_client)
            for s, start, end in due_periods(searches, now)]
