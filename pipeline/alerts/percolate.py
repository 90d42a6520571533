"""Alert stage: percolate indexed articles against the enabled saved searches and record one
alert event per (saved search, story cluster).

Alert modes (a saved search's ``alert_mode``, :func:`alert_key`): ``article`` (the default:
one event per cluster of copies, as described below), ``story`` (one event per ``story.id``,
:mod:`pipeline.dedupe.stories`: the first matching article of a story, then nothing more for it) and
``digest`` (events recorded as usual but not sent; :mod:`pipeline.alerts.digests` sends them grouped
by story once per period). Events carry ``story_id`` and ``mode``.

Flow for one batch (:func:`match_alerts`):

1. drop documents that are duplicates of a story already seen (``dedupe.duplicate_of`` set):
   duplicates never alert;
2. percolate the remaining documents against ``<prefix>-searches`` in ONE request
   (multi-document percolate, restricted to ``search.enabled: true``);
3. write each match to ``<prefix>-alerts`` with ``_id = alert_id(search_id, cluster_id)`` and
   ``op_type=create``: a 409 conflict means this search already alerted on this story cluster
   (another article of the cluster, or a redelivered task), which is not an error;
4. return the events to notify: the NEW ones, so the caller notifies each once
   (:func:`notify_events`, called by the ``alerts`` worker after :func:`match_alerts`).

Notifications are at-least-once like every other hop: an event whose search has channels is
recorded with ``notified_at: null`` and :func:`notify_events` sets it once the channels were
tried (failed deliveries are dead-lettered by :mod:`pipeline.alerts.notify`). If the same article is
matched again while its event is still un-notified (the task was retried or redelivered after
a crash between recording and notifying), the stored event is returned again so the
notification is not lost; a receiver drops a repeat by its delivery id. Another article of
the same cluster never gets the event (its creator's task owns the notification). Events of
searches without channels are recorded as notified.

Latency of an event is ``matched_at`` minus the document's ``enqueued_at`` (when the pipeline
handed it to the index stage) or, without it, its ``indexed_at``.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from pipeline.index.engine import SearchEngine
from pipeline.errors import EngineError
from pipeline.document import to_index_doc
from pipeline.index.bulk import BACKOFF_BASE_S, BACKOFF_CAP_S, MAX_ATTEMPTS
from pipeline.logs import get_logger
from pipeline.retry import backoff_s

log = get_logger(__name__)

#: Percolate filter: only enabled saved searches alert.
ENABLED_FILTER = {"term": {"search.enabled": True}}


def alert_id(search_id: str, cluster_id: str) -> str:
    """Deterministic alert-event id: first 32 hex digits of SHA-256(search_id NUL cluster_id)."""
    return hashlib.sha256(f"{search_id}\x00{cluster_id}".encode("utf-8")).hexdigest()[:32]


def cluster_of(doc: dict[str, Any]) -> str:
    """The story cluster of a document: ``dedupe.cluster_id``, else the document's own id."""
    return str((doc.get("dedupe") or {}).get("cluster_id") or doc["id"])


def story_of(doc: dict[str, Any]) -> str | None:
    """The document's story id (``story.id``, :mod:`pipeline.dedupe.stories`), or None."""
    sid = (doc.get("story") or {}).get("id")
    return str(sid) if sid else None


def alert_key(mode: str, doc: dict[str, Any]) -> str:
    """What one alert event stands for, per saved-search ``alert_mode``: ``story`` ->
    ``"story:<story id>"`` (once per story; the cluster when the document has no story),
    otherwise the story cluster of copies (:func:`cluster_of`; ``article`` and ``digest``)."""
    if mode == "story" and story_of(doc):
        return f"story:{story_of(doc)}"
    return cluster_of(doc)


def is_duplicate(doc: dict[str, Any]) -> bool:
    """True when the document is a duplicate of an earlier article (``dedupe.duplicate_of`` set)."""
    return bool((doc.get("dedupe") or {}).get("duplicate_of"))


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 string (``Z`` accepted), epoch seconds or datetime -> aware UTC datetime; None if unusable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)):
        dt = datetime.fromtimestamp(float(value), timezone.utc)
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass
class AlertEvent:
    """One alert: saved search ``search_id`` matched article ``article_id`` of story ``cluster_id``.

    Times are ISO-8601 UTC; ``latency_s`` is seconds from ``enqueued_at`` (or ``indexed_at``) to
    ``matched_at``, None when the document carries neither. ``notified_at`` is set when the
    notify step has run (at creation for searches without channels). ``notify`` holds the saved
    search's channel configs for the notify step; it is never written to the alerts index.
    """

    id: str
    search_id: str
    search_name: str
    article_id: str
    cluster_id: str
    matched_at: str
    latency_s: float | None = None
    enqueued_at: str | None = None
    indexed_at: str | None = None
    title: str | None = None
    url: str | None = None
    source_domain: str | None = None
    published_at: str | None = None
    topics: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    story_id: str | None = None
    mode: str = "article"
    notified_at: str | None = None
    notify: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The event without its notify channels (what the alerts index and webhooks carry)."""
        d = asdict(self)
        d.pop("notify")
        return d

    def to_index_doc(self) -> dict[str, Any]:
        """Document for the alerts index (``alert_id`` = :attr:`id`)."""
        d = self.to_dict()
        d["alert_id"] = d.pop("id")
        return d

    @classmethod
    def from_index_doc(cls, src: dict[str, Any]) -> "AlertEvent":
        """Build from an alerts-index ``_source``."""
        d = dict(src)
        d["id"] = d.pop("alert_id")
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def match_alerts(engine: SearchEngine, docs: Sequence[dict[str, Any]], *, now: datetime | None = None,
                 refresh: bool | str | None = None, sleep: Callable[[float], None] = time.sleep) -> list[AlertEvent]:
    """Percolate ``docs`` (contract documents) and record new alert events; return the events
    to notify: the new ones, plus the stored events of these same articles that were recorded
    but never marked notified (a retried or redelivered task; see the module docstring).

    One percolate request for the whole batch; one bulk ``create`` for the events. ``now`` fixes
    ``matched_at`` (default: when the percolation answered). Transient item failures are
    retried like :func:`pipeline.index.bulk.index_batch`. Raises EngineError (transient when the
    engine is unreachable) when the percolation fails or events still cannot be written; the
    events written before the failure are attached as ``exc.events`` (they stay un-notified, so
    the retried task gets them back).
    """
    candidates = [d for d in docs if d.get("id") and not is_duplicate(d)]
    skipped = len(docs) - len(candidates)
    if not candidates:
        return []
    t0 = time.perf_counter()
    matches = engine.percolate([to_index_doc(d) for d in candidates], filters=[ENABLED_FILTER],
                               source=["search.id", "search.name", "search.notify", "search.alert_mode"])
    t1 = time.perf_counter()
    matched = now or datetime.now(timezone.utc)
    matched_at = _iso(matched)
    events: dict[str, AlertEvent] = {}
    for doc, hits in zip(candidates, matches):
        start = parse_time(doc.get("enqueued_at")) or parse_time(doc.get("indexed_at"))
        for hit in hits:
            s = hit["_source"].get("search") or {}
            search_id = str(s.get("id") or hit["_id"])
            mode = str(s.get("alert_mode") or "article")
            cluster = cluster_of(doc)
            aid = alert_id(search_id, alert_key(mode, doc))
            # digest searches: the event is recorded now and sent in its period's digest
            notify_now = list(s.get("notify") or []) if mode != "digest" else []
            if aid in events:  # two articles of one cluster in the same batch
                continue
            events[aid] = AlertEvent(
                id=aid, search_id=search_id, search_name=str(s.get("name") or search_id), article_id=str(doc["id"]),
                cluster_id=cluster, matched_at=matched_at,
                latency_s=round((matched - start).total_seconds(), 4) if start else None,
                enqueued_at=doc.get("enqueued_at"), indexed_at=doc.get("indexed_at"),
                title=doc.get("title"), url=doc.get("canonical_url") or doc.get("url"),
                source_domain=(doc.get("source") or {}).get("domain"), published_at=doc.get("published_at"),
                topics=list(doc.get("topics") or []), countries=list(doc.get("countries") or []),
                story_id=story_of(doc), mode=mode, notify=notify_now,
                notified_at=None if notify_now else matched_at,
            )
    new: list[AlertEvent] = []
    conflicts: list[AlertEvent] = []
    pending = list(events.values())
    attempt = 1
    while pending:
        items = engine.bulk_index(engine.alias("alerts"), [e.to_index_doc() for e in pending], "alert_id",
                                  op_type="create", refresh=refresh)
        retry: list[AlertEvent] = []
        for ev, item in zip(pending, items):
            if item.ok:
                new.append(ev)
            elif item.conflict:
                if ev.notify:  # this search already alerted on this story cluster; notified?
                    conflicts.append(ev)
            elif item.transient and attempt < MAX_ATTEMPTS:
                retry.append(ev)
            else:
                exc = EngineError(f"alert event {ev.id} not recorded: {item.error}", reason="alert_write_failed",
                                  transient=item.transient)
                exc.events = new  # type: ignore[attr-defined]
                raise exc
        if retry:
            sleep(backoff_s(attempt, base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, jitter=None))
            attempt += 1
        pending = retry
    renotify = _unnotified(engine, conflicts)
    log.info("alerts_matched", docs=len(docs), skipped_duplicates=skipped, matches=len(events), new=len(new),
             renotify=len(renotify),
             percolate_ms=round((t1 - t0) * 1000, 1), write_ms=round((time.perf_counter() - t1) * 1000, 1))
    return new + renotify


def _unnotified(engine: SearchEngine, conflicts: Sequence[AlertEvent]) -> list[AlertEvent]:
    """Stored events (among ``conflicts``) recorded for the same article and never notified."""
    if not conflicts:
        return []
    stored = engine.mget(engine.alias("alerts"), [ev.id for ev in conflicts])
    out = []
    for ev in conflicts:
        src = stored.get(ev.id)
        if src and not src.get("notified_at") and src.get("article_id") == ev.article_id:
            again = AlertEvent.from_index_doc(src)
            again.notify = ev.notify
            out.append(again)
    return out


def mark_notified(engine: SearchEngine, events: Sequence[AlertEvent], *, now: datetime | None = None,
                  refresh: bool | str | None = None) -> int:
    """Set ``notified_at`` on the stored events (one bulk update); returns how many were updated.

    Raises EngineError when the request fails (the events then stay un-notified and are returned
    again if their articles are matched again)."""
    pending = [ev for ev in events if not ev.notified_at]
    if not pending:
        return 0
    stamp = _iso(now or datetime.now(timezone.utc))
    lines: list[dict[str, Any]] = []
    for ev in pending:
        lines.append({"update": {"_index": engine.alias("alerts"), "_id": ev.id}})
        lines.append({"doc": {"notified_at": stamp}})
    items = engine.bulk(lines, refresh=refresh)
    for ev, item in zip(pending, items):
        if item.ok:
            ev.notified_at = stamp
        else:
            log.warning("mark_notified_failed", alert_id=ev.id, status=item.status, reason=item.error_type)
    return sum(1 for i in items if i.ok)


def notify_events(engine: SearchEngine, events: Sequence[AlertEvent], docs_by_id: dict[str, dict[str, Any]],
                  settings: Any, *, deadletters: Any = None) -> list[Any]:
    """Send each event on its saved search's channels (:func:`pipeline.alerts.notify.notify`), then
    mark the events notified (:func:`mark_notified`).

    ``docs_by_id`` maps article id -> contract document (for the message); ``deadletters`` a
    :class:`pipeline.deadletter.DeadLetters` or None. Events without channels are only logged.
    Returns the delivery results of every channel. Never raises for a failed delivery (those
    are dead-lettered by :mod:`pipeline.alerts.notify`); raises EngineError if marking fails.
    """
    from pipeline.alerts.notify import notify

    results: list[Any] = []
    for ev in events:
        log.info("alert", search_id=ev.search_id, article_id=ev.article_id, cluster_id=ev.cluster_id, latency_s=ev.latency_s)
        if not ev.notify:
            continue
        article = docs_by_id.get(ev.article_id) or {"id": ev.article_id, "title": ev.title, "url": ev.url}
        results.extend(notify(ev.to_dict(), article, ev.notify, settings, deadletters=deadletters))
    mark_notified(engine, events)
    return results


def alert_history(engine: SearchEngine, search_id: str | None = None, since: datetime | None = None, *,
                  limit: int = 100) -> list[AlertEvent]:
    """Recorded alert events, newest first: of one search when ``search_id`` is given, and with
    ``matched_at >= since`` when given. At most ``limit`` (<= 10,000) events. Raises EngineError."""
    flt: list[dict[str, Any]] = []
    if search_id:
        flt.append({"term": {"search_id": search_id}})
    if since is not None:
        flt.append({"range": {"matched_at": {"gte": _iso(since)}}})
    body = {"query": {"bool": {"filter": flt}} if flt else {"match_all": {}},
            "size": min(limit, 10_000), "sort": [{"matched_at": "desc"}, {"alert_id": "asc"}]}
    hits = engine.search(engine.alias("alerts"), body)["hits"]["hits"]
    return [AlertEvent.from_index_doc(h["_source"]) for h in hits]
