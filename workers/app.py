"""The Celery app: Redis broker, one queue per stage, at-least-once delivery, the beat schedule.

Delivery: ``task_acks_late`` with ``task_reject_on_worker_lost`` so a message is acknowledged
only after its task finished (a killed worker's message is redelivered); the Redis
``visibility_timeout`` (:data:`VISIBILITY_TIMEOUT_S`) is far above the longest task, so a
slow task is not redelivered while it still runs, and retries whose countdown would come near
it are parked in Redis instead of held as ETA messages (:mod:`workers.delays`); prefetch multiplier 1 so a long enrich task
does not hold other messages hostage. Writes downstream are idempotent, so a redelivery
duplicates nothing.
"""
from __future__ import annotations

from celery import Celery
from kombu import Queue

from pipeline.settings import Settings, get_settings

QUEUES = ("poll", "fetch", "enrich", "index", "alerts")

#: Seconds before Redis redelivers an unacknowledged message. Must exceed the longest task
#: (a fetch is capped at fetch_total_timeout_s, an enrich takes seconds); one hour leaves room.
VISIBILITY_TIMEOUT_S = 3600

#: Retries of a publish while the broker is unreachable: ~57 s in all (0.5 + 1.0 + 1.5 + 27 x 2 s).
PUBLISH_RETRY_POLICY = {"max_retries": 30, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2.0}

ROUTES = {
    "wirewatch.poll_due_feeds": {"queue": "poll"},
    "wirewatch.poll_feed": {"queue": "poll"},
    "wirewatch.poll_feeds": {"queue": "poll"},
    "wirewatch.release_delayed": {"queue": "poll"},
    "wirewatch.fetch_article": {"queue": "fetch"},
    "wirewatch.enrich_article": {"queue": "enrich"},
    "wirewatch.index_batch": {"queue": "index"},
    "wirewatch.match_alerts": {"queue": "alerts"},
    "wirewatch.send_digests": {"queue": "alerts"},
    "wirewatch.check_feed_health": {"queue": "poll"},
}


def make_app(settings: Settings) -> Celery:
    """Build the Celery app for ``settings`` (broker = ``settings.redis_url``)."""
    app = Celery("wirewatch", broker=settings.redis_url, include=["workers.tasks", "workers.delays"])
    app.conf.update(
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue="fetch",
        task_routes=ROUTES,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        # Our structlog lines go to stderr as they are (JSON lines off a terminal); Celery's
        # redirect would re-log each one as "WARNING celery.redirected: {...}".
        worker_redirect_stdouts=False,
        worker_max_memory_per_child=None,
        broker_connection_retry_on_startup=True,
        # Publishing (the next stage, a retry) waits out a broker restart instead of failing
        # after Celery's default ~0.6 s: about a minute in all (0.5 s steps, capped at 2 s).
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s or VISIBILITY_TIMEOUT_S, "global_keyprefix": f"{settings.redis_key_prefix}:celery:"},
        task_send_sent_event=settings.task_events,
        worker_send_task_events=settings.task_events,
        beat_schedule={
            "poll-due-feeds": {"task": "wirewatch.poll_due_feeds", "schedule": settings.beat_interval_s, "options": {"expires": settings.beat_interval_s}},
            # retries longer than an ETA message may safely wait (workers.delays)
            "release-delayed-retries": {"task": "wirewatch.release_delayed", "schedule": settings.beat_interval_s,
                                        "options": {"expires": settings.beat_interval_s}},
            "send-digests": {"task": "wirewatch.send_digests", "schedule": settings.digest_check_interval_s, "options": {"expires": settings.digest_check_interval_s}},
            "check-feed-health": {"task": "wirewatch.check_feed_health", "schedule": settings.feed_health_interval_s, "options": {"expires": settings.feed_health_interval_s}},
        },
        timezone="UTC",
    )
    return app


app = make_app(get_settings())
