"""Feed health: one event when a feed starts failing, is disabled, or falls silent, and one when
it recovers; never a storm.

States (:func:`evaluate`, from the registry's :class:`pipeline.feeds.Feed` record):

- ``disabled``: the feed is disabled (410 Gone, by hand, ...), with its reason;
- ``failing``: ``settings.feed_health_failures`` or more failed polls in a row;
- ``silent``: polls succeed but no new entry came for ``feed_health_silent_factor`` times the
  feed's usual interval between entries (``1 / entries_per_day``, the rate the registry learns
  from the feed's history) and at least ``feed_health_min_silence_s``;
- ``ok`` otherwise (also a feed never polled or without a learned rate yet).

The state of every feed is kept in Redis (``<prefix>:feedhealth:state``, a hash feed id ->
state, and ``:detail`` with reason and since). :meth:`FeedHealth.observe` changes it with a
compare-and-set (one Lua script), so when two workers evaluate one feed at once only one of them
sees the change and emits the event: one event per feed per state change. A feed's first
state is recorded without an event when it is ``ok`` (nothing to clear). Events go to a capped
list (``:events``, newest first, :data:`EVENTS_KEPT`) and, through :func:`pipeline.alerts.notify.notify`,
to the channels of ``settings.feed_health_notify`` (failed deliveries are dead-lettered there).

Who observes: the poll task after every poll of a feed (failures, disabling, new entries), and
beat's ``check_feed_health`` every ``feed_health_interval_s`` for all feeds (silence, which no
poll reports, and feeds disabled by hand).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from pipeline.logs import get_logger

log = get_logger(__name__)

#: Events kept in the list shown by ``wirewatch feeds health --events`` and ``status``.
EVENTS_KEPT = 1000

# KEYS: state hash, detail hash, events list; ARGV: feed id, new state, detail JSON, event JSON
# (empty: record the first state silently when it is ok), events kept.
_CAS_LUA = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if (not old) and ARGV[2] == 'ok' then return 0 end
redis.call('LPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
return 1
"""


def usual_interval_s(feed) -> float | None:
    """Seconds between two new entries the feed usually has (``86400 / entries_per_day``),
    None before the registry has learned a rate."""
    epd = feed.entries_per_day
    return 86_400.0 / epd if epd and epd > 0 else None


def evaluate(feed, now: float, settings, last_new: float | None = None) -> tuple[str, str]:
    """``(state, reason)`` of a :class:`pipeline.feeds.Feed` at ``now`` (epoch seconds);
    ``last_new`` is when it last had a new entry (default: when it was added; :class:`FeedHealth`
    passes when it first saw the feed if it has seen no new entry since)."""
    if not feed.enabled:
        return "disabled", feed.disabled_reason or "disabled"
    if feed.consecutive_errors >= settings.feed_health_failures:
        return "failing", f"{feed.consecutive_errors} failed polls in a row (last: {feed.last_error_reason or 'error'})"
    usual = usual_interval_s(feed)
    since = last_new or feed.added_at
    if usual and since and feed.last_success and feed.last_success > since:
        quiet = now - since
        limit = max(settings.feed_health_silent_factor * usual, settings.feed_health_min_silence_s)
        if quiet > limit:
            return "silent", f"no new entry for {quiet / 3600:.1f} h; usually one every {usual / 3600:.1f} h"
    return "ok", ""


@dataclass
class HealthEvent:
    """A feed's state change: ``state`` (new), ``previous`` (None for a first state), ``reason``,
    ``at`` (ISO-8601 UTC), the feed's ``feed_id``, ``url`` and ``title``; ``cleared`` True when the
    feed recovered (``state`` ok)."""

    feed_id: str
    url: str
    title: str
    state: str
    previous: str | None
    reason: str
    at: str

    @property
    def cleared(self) -> bool:
        """True when the feed recovered (the new state is ``ok``)."""
        return self.state == "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with ``cleared``)."""
        return {**asdict(self), "cleared": self.cleared}


class FeedHealth:
    """Health states, events and their notification; see the module docstring. ``redis``: a
    ``redis.Redis`` (bytes or decoded responses); ``settings`` as for the pipeline."""

    def __init__(self, redis, settings, *, deadletters=None):
        self.redis = redis
        self.settings = settings
        self.deadletters = deadletters
        ns = f"{settings.redis_key_prefix}:feedhealth"
        self.k_state, self.k_detail, self.k_events, self.k_new = f"{ns}:state", f"{ns}:detail", f"{ns}:events", f"{ns}:last_new"
        self._cas = redis.register_script(_CAS_LUA)

    @staticmethod
    def _s(v: Any) -> str | None:
        return v.decode() if isinstance(v, bytes) else v

    def record_new_entries(self, feed_id: str, count: int, now: float | None = None) -> None:
        """Note that a poll found ``count`` new entries (the silence clock restarts when > 0)."""
        if count > 0:
            self.redis.hset(self.k_new, feed_id, now or time.time())

    def observe(self, feed, now: float | None = None) -> HealthEvent | None:
        """Evaluate ``feed`` and record its state; returns the event when the state changed
        (and this call was the one to change it), else None. Does not notify (see
        :meth:`notify`)."""
        now = now or time.time()
        raw_new = self.redis.hget(self.k_new, feed.id)
        if raw_new is None:
            # the silence clock starts when health first sees the feed (not at its registration,
            # which may predate this module), so an upgrade does not flag every feed as silent
            self.redis.hsetnx(self.k_new, feed.id, now)
            raw_new = now
        state, reason = evaluate(feed, now, self.settings, float(self._s(raw_new)))
        at = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
        previous = self._s(self.redis.hget(self.k_state, feed.id))
        event = HealthEvent(feed.id, feed.url, feed.title or "", state, previous, reason, at)
        changed = self._cas(keys=[self.k_state, self.k_detail, self.k_events],
                            args=[feed.id, state, json.dumps({"reason": reason, "since": at}),
                                  json.dumps(event.to_dict()), EVENTS_KEPT])
        if not int(changed):
            return None
        log.warning("feed_health", feed_id=feed.id, state=state, previous=previous, reason=reason) if state != "ok" else \
            log.info("feed_health", feed_id=feed.id, state=state, previous=previous)
        return event

    def notify(self, event: HealthEvent) -> list[Any]:
        """Send ``event`` on ``settings.feed_health_notify`` (webhook, Slack, e-mail, log);
        returns the delivery results (failures are dead-lettered by :mod:`pipeline.alerts.notify`)."""
        if not self.settings.feed_health_notify:
            return []
        from pipeline.alerts.notify import notify

        verb = "recovered" if event.cleared else f"is {event.state}"
        payload = {"kind": "feed_health", "search_id": "feed-health", "search_name": "Feed health",
                   "article_id": f"feed:{event.feed_id}:{event.state}:{event.at}", "cluster_id": None,
                   "matched_at": event.at, "feed_health": event.to_dict()}
        summary = {"id": payload["article_id"], "title": f"Feed {event.title or event.url} {verb}",
                   "url": event.url, "canonical_url": event.url, "published_at": event.at, "language": None,
                   "source_domain": None, "excerpt": event.reason or ("back to normal" if event.cleared else ""),
                   "persons": [], "organizations": [], "places": [], "countries": [], "topics": [], "quotes": 0,
                   "cluster_id": None, "duplicate_of": None}
        return notify(payload, summary, self.settings.feed_health_notify, self.settings, deadletters=self.deadletters)

    def observe_and_notify(self, feed, now: float | None = None) -> HealthEvent | None:
        """:meth:`observe`, then :meth:`notify` the event if there is one."""
        event = self.observe(feed, now)
        if event is not None:
            self.notify(event)
        return event

    def check_all(self, feeds: Iterable, now: float | None = None) -> list[HealthEvent]:
        """Observe and notify every feed of the registry (``feeds``: all of them) and forget the
        states of feeds no longer in it; returns the events raised."""
        feeds = list(feeds)
        events = [e for e in (self.observe_and_notify(f, now) for f in feeds) if e is not None]
        known = {f.id for f in feeds}
        gone = [fid for fid in (self._s(k) for k in self.redis.hkeys(self.k_state)) if fid not in known]
        if gone:
            pipe = self.redis.pipeline(transaction=False)
            for key in (self.k_state, self.k_detail, self.k_new):
                pipe.hdel(key, *gone)
            pipe.execute()
        return events

    def states(self) -> dict[str, dict[str, Any]]:
        """feed id -> ``{"state", "reason", "since"}`` of every feed observed."""
        states = {self._s(k): self._s(v) for k, v in self.redis.hgetall(self.k_state).items()}
        details = {self._s(k): json.loads(self._s(v)) for k, v in self.redis.hgetall(self.k_detail).items()}
        return {fid: {"state": st, **details.get(fid, {})} for fid, st in states.items()}

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest events, newest first."""
        return [json.loads(self._s(v)) for v in self.redis.lrange(self.k_events, 0, limit - 1)]
