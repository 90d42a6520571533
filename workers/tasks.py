"""Thin Celery tasks: each loads its input by id, calls one pipeline function, hands ids on.

Failure policy (the same for every task, in :func:`_guarded`):
- transient errors (network, a search engine or Redis that went away, ``transient=True``
  reasons) are retried with exponential backoff and full jitter, at most ``MAX_RETRIES`` times,
  then dead-lettered;
- permanent errors (a page that is not HTML and has no summary, a malformed document) are
  counted, logged and dead-lettered at once with their reason;
- any other exception is a poison message: dead-lettered with ``exception:<Type>``.
Nothing escapes to Celery, so no task crashes a worker, and every message ends indexed,
retried or in the dead letters (``wirewatch dlq``).

Retries longer than the broker's visibility timeout allows in an ETA message are parked in
Redis and re-sent by beat (:mod:`workers.delays`). The side effects of each body (the poll,
the fetch, the enrichment, each hand-off to the next stage) run at most once per task id
(:class:`pipeline.once.StepMarkers`), so a message delivered twice does not fetch, enrich
or hand on twice; a delivery that finds a step running elsewhere retries after its lease.
"""
from __future__ import annotations

import hashlib
import random
import time
from functools import wraps

import structlog
from celery.exceptions import Reject, Retry

from pipeline.errors import WirewatchError
from pipeline.models import Article, ArticleRef, utcnow_iso_ms
from pipeline.once import StepBusy
from pipeline.retry import backoff_s as retry_backoff_s
from workers import metrics
from workers.app import app
from workers.delays import BACKOFF_BASE_S, BACKOFF_CAP_S, retry_later
from workers.runtime import runtime

log = structlog.get_logger("workers.tasks")

#: Retries before a transient failure is dead-lettered. With the backoff below the caps add up
#: to 1 + 2 + ... + 256 + 3 x 300 = 1,411 s, about 12 minutes expected with full jitter, so a
#: search-engine or Redis restart of a few minutes is waited out. 8 retries (255 s of caps,
#: ~2 minutes expected) dead-lettered 3 of 60 messages in the opensearch_down drill when the
#: node took 137 s to come back (`wirewatch bench chaos`).
MAX_RETRIES = 12
#: Retries of a transient fetch failure before the summary stands in for the page.
FETCH_FALLBACK_AFTER = 3
#: Seconds another delivery of the same enrich task waits for a running enrichment before it
#: may take over (a SIGKILLed enrich process leaves its marker this long). Enrichment takes
#: well under a second per article (`wirewatch bench enrich`); long texts are capped.
ENRICH_LEASE_S = 60.0
#: Enqueue at most this many poll tasks per beat tick.
POLL_BATCH = 500
#: Feeds polled by one ``poll_feeds`` task. Celery's work per message (receive, unacked
#: bookkeeping, ack, enqueue) costs about as much worker CPU as a conditional GET answered 304:
#: `wirewatch bench poll` measured 5.1 ms of worker CPU per feed with one task per feed and
#: 2.5 ms with ten per task. Ten keeps the delay one slow feed (at most fetch_total_timeout_s)
#: causes to the feeds after it in its chunk small.
POLL_CHUNK = 10


def backoff_s(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based), with full jitter
    (:func:`pipeline.retry.backoff_s`)."""
    return retry_backoff_s(attempt + 1, base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, jitter="full")


def _is_transient(exc: BaseException) -> bool:
    import redis

    if isinstance(exc, WirewatchError):
        return exc.transient
    from kombu.exceptions import OperationalError  # the broker went away while publishing

    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OperationalError))


def _guarded(stage: str):
    """Wrap a bound task body with the failure policy above, timing, metrics and log binding."""

    def deco(fn):
        @wraps(fn)
        def wrapper(self, *args, **kwargs):
            structlog.contextvars.bind_contextvars(task_id=self.request.id, stage=stage)
            started = time.perf_counter()
            try:
                rt0 = runtime()
                if rt0.settings.task_ledger and self.request.id:  # drills: executions per task id
                    rt0.redis.hincrby(f"{rt0.settings.redis_key_prefix}:ledger:runs", f"{self.name}:{self.request.id}", 1)
                out = fn(self, *args, **kwargs)
                metrics.ITEMS.labels(stage).inc()
                return out
            except Retry:
                raise
            except Exception as exc:  # noqa: BLE001 - the policy decides; nothing escapes
                reason = getattr(exc, "reason", None) or f"exception:{type(exc).__name__}"
                rt = runtime()
                metrics.ERRORS.labels(stage, reason).inc()
                try:
                    rt.counters.error(stage, reason)
                except Exception:  # noqa: BLE001 - Redis itself may be the failure
                    pass
                if _is_transient(exc) and self.request.retries < MAX_RETRIES:
                    delay = backoff_s(self.request.retries)
                    if isinstance(exc, StepBusy):  # another delivery holds the step: wait out its lease
                        delay = exc.retry_after_s + random.uniform(0, 1)
                    metrics.RETRIES.labels(stage, reason).inc()
                    log.warning("task_retry", reason=reason, error=str(exc), attempt=self.request.retries + 1, delay_s=round(delay, 2))
                    raise retry_later(self, exc, delay, MAX_RETRIES)
                log.error("task_dead_lettered", reason=reason, error=str(exc), attempts=self.request.retries + 1)
                metrics.DEAD_LETTERS.labels(stage, reason).inc()
                # A task may name what a replay must run instead of its own arguments (the
                # index task: the ids it had claimed from the pending pool), or a callable that
                # looks it up (read here, where a Redis failure keeps the message too).
                dl_call = getattr(self.request, "dead_letter_call", None)
                try:
                    if callable(dl_call):
                        dl_call = dl_call()
                    dl_args, dl_kwargs = dl_call or (list(args), kwargs)
                    rt.deadletters.add(
                        kind=f"task:{self.name}",
                        payload={"task": self.name, "args": list(dl_args), "kwargs": dl_kwargs},
                        reason=reason, error=f"{type(exc).__name__}: {exc}", attempts=self.request.retries + 1,
                    )
                    rt.counters.incr("dead_lettered")
                    cleanup = getattr(self.request, "after_dead_letter", None)
                    if cleanup is not None:
                        cleanup()
                except Exception as dl_exc:  # noqa: BLE001 - Redis is gone: keep the message rather than drop it
                    log.warning("dead_letter_unwritten", reason=reason, error=str(dl_exc))
                    raise Reject(dl_exc, requeue=True) from None
                return None
            finally:
                metrics.LATENCY.labels(stage).observe(time.perf_counter() - started)
                structlog.contextvars.unbind_contextvars("task_id", "stage")

        return wrapper

    return deco


@app.task(name="wirewatch.poll_due_feeds", bind=True)
@_guarded("schedule")
def poll_due_feeds(self) -> int:
    """Enqueue polls (``poll_feeds`` tasks of :data:`POLL_CHUNK` feeds) for every feed whose
    next due time has passed; returns how many feeds."""
    rt = runtime()
    feeds = rt.registry.claim_due(time.time(), limit=POLL_BATCH)
    ids = [feed.id for feed in feeds]
    for start in range(0, len(ids), POLL_CHUNK):
        poll_feeds.delay(ids[start:start + POLL_CHUNK])
    return len(feeds)


@app.task(name="wirewatch.poll_feed", bind=True)
@_guarded("poll")
def poll_feed(self, feed_id: str) -> int:
    """Poll one feed (conditional GET) and enqueue a fetch for each new entry.

    New entries are marked seen only after their fetch tasks are enqueued (``on_new`` runs
    before the registry commits), so a crash between the two re-polls them rather than losing
    them. Feed errors are recorded in the registry (backoff, reason) by the poll stage itself.
    """
    return _poll_one(feed_id, self.request.id)


def _poll_one(feed_id: str, task_id: str | None = None) -> int:
    """The body of :func:`poll_feed`: poll, hand new entries to fetch, count; returns how many
    entries were new. Logs ``feed_poll_done`` with the status and ``elapsed_s``
    (:attr:`pipeline.feeds.poll.PollResult.elapsed_s`, which ``wirewatch bench poll`` reads)."""
    from pipeline.feeds.poll import poll_feed as poll

    rt = runtime()
    structlog.contextvars.bind_contextvars(feed_id=feed_id)
    try:
        # at most once per (task id, feed): a second delivery does not poll and hand on again
        done = rt.steps.run(task_id, f"poll:{feed_id}", lambda: _poll_and_count(rt, poll, feed_id),
                            lease_s=rt.settings.fetch_total_timeout_s + 30)
        return int(done or 0)
    finally:
        structlog.contextvars.unbind_contextvars("feed_id")


def _poll_and_count(rt, poll, feed_id: str) -> int:
    """Poll one feed, hand its new entries to fetch and count the outcome (one step of
    :func:`_poll_one`); returns how many entries were new."""
    result = poll(rt.registry, feed_id, rt.http, rt.settings,
                  on_new=lambda refs: [fetch_article.delay(r.to_dict()) for r in refs])
    rt.counters.incr("polled")
    rt.counters.incr("entries_new", len(result.new))
    for reason, n in result.dropped.items():  # logged by the parser with the feed id
        rt.counters.incr(f"entries_dropped:{reason}", n)
    for warning in (w for r in result.new for w in r.warnings):
        rt.counters.incr(f"entries_warning:{warning}")
    if result.status == "error":
        rt.counters.error("poll", result.reason or "error")
    log.info("feed_poll_done", status=result.status, http_status=result.http_status, new=len(result.new),
             elapsed_s=round(result.elapsed_s, 5))
    _observe_feed_health(rt, feed_id, len(result.new))
    return len(result.new)


def _observe_feed_health(rt, feed_id: str, new_entries: int) -> None:
    """After a poll: note new entries and update the feed's health state (one event per change,
    :mod:`pipeline.feeds.health`). A failure here never fails the poll: it is logged and
    counted, and beat's ``check_feed_health`` looks at every feed again."""
    try:
        rt.feed_health.record_new_entries(feed_id, new_entries)
        rt.feed_health.observe_and_notify(rt.registry.get(feed_id))
    except Exception as exc:  # noqa: BLE001 - health is advisory; the poll's own work is done
        log.warning("feed_health_failed", feed_id=feed_id, error=f"{type(exc).__name__}: {exc}")
        try:
            rt.counters.error("feed_health", f"exception:{type(exc).__name__}")
        except Exception:  # noqa: BLE001
            pass


@app.task(name="wirewatch.poll_feeds", bind=True)
@_guarded("poll_chunk")
def poll_feeds(self, feed_ids: list[str]) -> int:
    """Poll several feeds one after the other (:data:`POLL_CHUNK` from ``poll_due_feeds``);
    returns how many entries were new.

    A feed whose poll raises (Redis gone, a bug) is handed over, with the feeds after it, to
    single :func:`poll_feed` tasks, which carry the retry and dead-letter policy; the feeds
    already polled are not polled again. If even the hand-over fails (the broker is down), the
    failure policy retries the whole chunk: polling a feed twice is harmless (its entries are
    marked seen by the first poll). Each feed counts in the ``poll`` stage metrics.
    """
    new = 0
    for i, feed_id in enumerate(feed_ids):
        started = time.perf_counter()
        try:
            new += _poll_one(feed_id, self.request.id)
        except Exception as exc:  # noqa: BLE001 - the single-feed tasks apply the failure policy
            log.warning("poll_chunk_handover", feed_id=feed_id, error=f"{type(exc).__name__}: {exc}",
                        handed_over=len(feed_ids) - i)
            for rest in feed_ids[i:]:
                poll_feed.delay(rest)
            return new
        metrics.ITEMS.labels("poll").inc()
        metrics.LATENCY.labels("poll").observe(time.perf_counter() - started)
    return new


@app.task(name="wirewatch.fetch_article", bind=True)
@_guarded("fetch")
def fetch_article(self, ref: dict) -> str | None:
    """Fetch and extract one article, dedupe it, then hand its id to enrich (or, for a
    duplicate, straight to index with its ``duplicate_of`` pointer). The fetch and the
    hand-off each run at most once per task id."""
    rt = runtime()
    # Transient failures (timeouts, rate limits) are retried first; only the attempts after
    # FETCH_FALLBACK_AFTER fall back to the feed entry's summary.
    fallback = self.request.retries >= FETCH_FALLBACK_AFTER
    out = rt.steps.run(self.request.id, "fetch", lambda: _fetch_and_dedupe(rt, ref, fallback),
                       lease_s=rt.settings.fetch_total_timeout_s + 30)
    structlog.contextvars.bind_contextvars(article_id=out["id"])
    try:
        if out["duplicate"]:
            rt.steps.run(self.request.id, "handoff", lambda: _hand_to_index(rt, out["id"]), lease_s=30)
        else:
            rt.steps.run(self.request.id, "handoff", lambda: bool(enrich_article.delay(out["id"], out["dedupe"])),
                         lease_s=30)
        return out["id"]
    finally:
        structlog.contextvars.unbind_contextvars("article_id")


def _fetch_and_dedupe(rt, ref: dict, fallback_on_transient: bool) -> dict:
    """The fetch step: fetch and extract, then the dedupe stage
    (:func:`pipeline.dedupe.duplicate.dedupe_fetched`: decide, store, count). Returns ``{"id",
    "dedupe", "duplicate"}`` (JSON: kept with the step's marker for a second delivery)."""
    from pipeline.dedupe.duplicate import dedupe_fetched
    from pipeline.fetch.article import fetch_article as fetch

    article: Article = fetch(ArticleRef.from_dict(ref), rt.http, rt.settings,
                             fallback_on_transient=fallback_on_transient)
    structlog.contextvars.bind_contextvars(article_id=article.id)
    result = dedupe_fetched(article, rt.deduper, rt.store, rt.counters)
    for name in article.truncated:  # cut at ingestion (pipeline.sanitize), reason field_too_long
        rt.counters.incr(f"truncated:{name}")
    if result.duplicate_of:
        _place_copy_in_story(rt, article.id)
    return {"id": article.id, "dedupe": result.to_dict(), "duplicate": bool(result.duplicate_of)}


@app.task(name="wirewatch.enrich_article", bind=True)
@_guarded("enrich")
def enrich_article(self, article_id: str, dedupe: dict | None = None) -> str:
    """Enrich one stored article into the contract document and hand it to index; the
    enrichment and the hand-off each run at most once per task id."""
    rt = runtime()
    structlog.contextvars.bind_contextvars(article_id=article_id)
    try:
        rt.steps.run(self.request.id, "enrich", lambda: _enrich_and_store(rt, article_id, dedupe),
                     lease_s=ENRICH_LEASE_S)
        rt.steps.run(self.request.id, "handoff", lambda: _hand_to_index(rt, article_id), lease_s=30)
        return article_id
    finally:
        structlog.contextvars.unbind_contextvars("article_id")


def _enrich_and_store(rt, article_id: str, dedupe: dict | None) -> None:
    """The enrich step: load the stored article, enrich it, store the document, count.
    Raises ``payload_missing`` when the article is not stored, ``chaos_poison`` in drills."""
    from pipeline.enrich import enrich_article as enrich
    from pipeline.errors import WirewatchError as _E

    data = rt.store.get("article", article_id)
    if data is None:
        raise _E(f"article {article_id} is not in the payload store", reason="payload_missing")
    marker = rt.settings.chaos_poison_marker  # failure drills only (None in production)
    if marker and marker in (data.get("body") or ""):
        from pipeline.errors import ChaosPoison

        raise ChaosPoison(f"article {article_id} carries the chaos poison marker")
    doc = enrich(Article.from_dict(data), settings=rt.settings, dedupe=dedupe)
    _place_in_story(rt, doc)
    doc["enqueued_at"] = utcnow_iso_ms()  # hand-off to index: alert latency is measured from here
    rt.store.put("doc", article_id, doc)
    rt.counters.incr("enriched")


def _place_in_story(rt, doc: dict) -> None:
    """Set ``doc["story"]`` (:func:`pipeline.dedupe.stories.place_in_story`; idempotent, so a retried
    task gets the same story)."""
    from pipeline.dedupe.stories import place_in_story

    place_in_story(rt.stories, doc, store=rt.store, engine=rt.engine)


def _place_copy_in_story(rt, doc_id: str) -> None:
    """Put a duplicate's stored document (written by
    :func:`pipeline.dedupe.duplicate.dedupe_fetched`) in its original's story and store it again."""
    doc = rt.store.get("doc", doc_id)
    if doc is not None:
        _place_in_story(rt, doc)
        rt.store.put("doc", doc_id, doc)


def _hand_to_index(rt, doc_id: str) -> None:
    """Hand a stored document to the index stage (:func:`pipeline.index.batch.hand_to_index`)."""
    from pipeline.index.batch import hand_to_index

    hand_to_index(rt.index_pool, doc_id, lambda ids: index_batch.delay(ids, pooled=True))


@app.task(name="wirewatch.index_batch", bind=True)
@_guarded("index")
def index_batch(self, doc_ids: list[str], pooled: bool = False) -> int:
    """Bulk-index stored documents (``_id`` = document id) and hand the indexed ids to alerts.

    ``pooled=True`` (what enrich and fetch send): ``doc_ids`` are in the index stage's pending
    pool; the task lets documents gather for ``settings.index_linger_s`` and indexes its own ids
    with the others waiting (at most ``settings.index_batch_max``) in one bulk request, or does
    nothing when an earlier task already took its ids (:mod:`pipeline.index.pending`). A redelivered
    or retried message processes the same claim again. ``pooled=False`` (replays, older
    messages) indexes exactly ``doc_ids``.

    Items that fail transiently are retried as a smaller batch; permanent item failures are
    dead-lettered with the engine's reason. A task that is dead-lettered as a whole records the
    ids it had claimed (looked up again if it failed before reading its claim), as an unpooled
    call, so a replay indexes them; its claim is then released. A batch of several documents
    that fails permanently as a whole is split into one unpooled task per document
    (:func:`_split_batch`), so one bad document does not take the others with it.
    """
    from pipeline.index.batch import claim_batch, dead_letter_call

    rt = runtime()
    ids = doc_ids
    if pooled:
        pool, task_id = rt.index_pool, self.request.id
        # A dead letter records the claim as it stands then (looked up at that moment: this
        # attempt may fail before it reads its claim, e.g. Redis failing on the last retry).
        self.request.dead_letter_call = lambda: dead_letter_call(pool, task_id, doc_ids)
        self.request.after_dead_letter = lambda: pool.release(task_id)
        ids = claim_batch(pool, task_id, doc_ids, linger_s=rt.settings.index_linger_s, limit=rt.settings.index_batch_max)
        if ids is None:   # an earlier task took them
            return 0
    try:
        indexed = _index_ids(rt, ids, self.request.id)
    except Exception as exc:  # noqa: BLE001 - split a batch one bad document broke
        if not _split_batch(index_batch, ids, exc):
            raise
        indexed = 0
    if pooled:
        pool.release(task_id)
    return indexed


def _split_batch(task, ids: list[str], exc: BaseException) -> bool:
    """After a permanent failure of a batch of several ids, send one ``task`` per id and
    return True, so that one bad document is dead-lettered alone and the others go through;
    return False (the caller re-raises for the failure policy) for one id or a transient
    failure. Raises when the broker cannot take the messages (the policy then retries)."""
    if len(ids) < 2 or _is_transient(exc):
        return False
    reason = getattr(exc, "reason", None) or f"exception:{type(exc).__name__}"
    log.warning("batch_split", task=task.name, ids=len(ids), reason=reason, error=str(exc))
    for one in ids:
        task.delay([one])
    return True


def _index_ids(rt, doc_ids: list[str], task_id: str | None = None) -> int:
    """Index the stored documents ``doc_ids`` (:func:`pipeline.index.batch.index_stored`) and
    hand the indexed ids to alerts, at most once per ``task_id`` and set of ids (a retry may
    hand on other ids); returns how many were indexed."""
    from pipeline.index.batch import index_stored

    result = index_stored(rt.engine, rt.store, rt.deadletters, rt.counters, doc_ids)
    if result.read:
        metrics.BATCH_DOCS.labels("index").observe(result.read)
    if result.indexed:
        ids = sorted(result.indexed)
        step = "alerts:" + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]
        rt.steps.run(task_id, step, lambda: bool(match_alerts.delay(list(result.indexed))), lease_s=30)
    return len(result.indexed)


@app.task(name="wirewatch.match_alerts", bind=True)
@_guarded("alerts")
def match_alerts(self, doc_ids: list[str]) -> int:
    """Percolate indexed documents against the saved searches, record new alert events
    (one per search and story cluster) and send their notifications. A batch that fails
    permanently is split into one task per document (:func:`_split_batch`)."""
    from pipeline.alerts.percolate import match_alerts as match
    from pipeline.alerts.percolate import notify_events

    rt = runtime()
    docs = list(rt.store.get_many("doc", doc_ids).values())
    try:
        events = match(rt.engine, docs)
    except Exception as exc:  # noqa: BLE001 - split a batch one bad document broke
        if not _split_batch(match_alerts, doc_ids, exc):
            raise
        return 0
    rt.counters.incr("alerts", len(events))
    if events:
        notify_events(rt.engine, events, {d["id"]: d for d in docs}, rt.settings, deadletters=rt.deadletters)
    return len(events)


@app.task(name="wirewatch.send_digests", bind=True)
@_guarded("digests")
def send_digests(self) -> int:
    """Send the digests of saved searches in ``digest`` mode whose period ended
    (:func:`pipeline.alerts.digests.send_due_digests`; each period once, even across restarts).
    Returns how many were sent by this call."""
    from pipeline.alerts.digests import send_due_digests

    rt = runtime()
    results = send_due_digests(rt.engine, rt.redis, rt.settings, deadletters=rt.deadletters, stories=rt.stories)
    sent = sum(1 for r in results if r.status == "sent")
    if sent:
        rt.counters.incr("digests", sent)
    return sent


@app.task(name="wirewatch.check_feed_health", bind=True)
@_guarded("feed_health")
def check_feed_health(self) -> int:
    """Re-evaluate every feed's health (silence, feeds disabled by hand) and notify the state
    changes (:meth:`pipeline.feeds.health.FeedHealth.check_all`); returns how many events."""
    rt = runtime()
    events = rt.feed_health.check_all(rt.registry.list())
    if events:
        rt.counters.incr("feed_health_events", len(events))
    return len(events)
