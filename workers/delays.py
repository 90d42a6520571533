"""Retry delays and the broker's visibility timeout (Celery wiring of :mod:`pipeline.delayed`).

- :func:`check_visibility` runs when a worker or beat starts: it works out the longest
  countdown the task layer will put in an ETA message for this broker
  (:func:`pipeline.delayed.max_eta_countdown_s`: half the visibility timeout), logs it with the timeout, and refuses to start (:class:`~pipeline.errors.ConfigError`)
  only when the timeout is not positive. The retry backoff itself is capped at
  ``BACKOFF_CAP_S`` (300 s), so with the 3,600 s default no retry is parked; with a low
  timeout (the failure drills use 20 s) the longer ones are.
- :func:`retry_later` is how every task retries: a countdown up to that limit is an ordinary
  Celery retry (an ETA message); a longer one is parked in Redis and the message acknowledged.
- :func:`release_delayed` (a beat task, every ``beat_interval_s``) sends parked retries that
  are due, with their task id and retry count, to their queues.
"""
from __future__ import annotations

import time

import structlog
from celery import signals
from celery.exceptions import Reject, Retry

from pipeline.delayed import max_eta_countdown_s
from pipeline.errors import ConfigError
from workers.app import app
from workers.runtime import runtime

#: Backoff base and cap, seconds: delay = uniform(0, min(cap, base * 2**attempt)) ("full
#: jitter", AWS Architecture Blog, "Exponential Backoff And Jitter", 2015).
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0

log = structlog.get_logger("workers.delays")


def visibility_timeout_s(celery_app=app) -> float:
    """The broker's visibility timeout in seconds, as the app is configured."""
    return float((celery_app.conf.broker_transport_options or {}).get("visibility_timeout") or 3600)


def eta_limit_s(celery_app=app) -> float:
    """Longest countdown sent as an ETA message (see :func:`pipeline.delayed.max_eta_countdown_s`)."""
    return max_eta_countdown_s(visibility_timeout_s(celery_app))


def check_visibility(backoff_cap_s: float, celery_app=app) -> dict[str, float]:
    """The start-up check: ``{"visibility_timeout_s", "eta_limit_s", "backoff_cap_s",
    "parked_above_s"}``, logged as ``broker_visibility_checked``. Raises
    :class:`~pipeline.errors.ConfigError` when the visibility timeout is not positive (no
    countdown could be safe)."""
    vis = visibility_timeout_s(celery_app)
    try:
        limit = max_eta_countdown_s(vis)
    except ValueError as exc:
        raise ConfigError(f"{exc}: set broker_visibility_timeout_s (WIREWATCH_BROKER_VISIBILITY_TIMEOUT_S) "
                          "to more than the longest task, e.g. 3600", reason="config") from None
    out = {"visibility_timeout_s": vis, "eta_limit_s": limit, "backoff_cap_s": backoff_cap_s,
           "parked_above_s": limit}
    if backoff_cap_s > limit:
        log.warning("broker_visibility_checked", **out,
                    message=(f"broker visibility timeout {vis:.0f}s: retries longer than {limit:.0f}s (backoff "
                             f"reaches {backoff_cap_s:.0f}s) are parked in Redis and re-sent by beat, not held "
                             "as ETA messages that Redis would deliver twice"))
    else:
        log.info("broker_visibility_checked", **out)
    return out


@signals.worker_init.connect
def _check_on_worker_start(**_kwargs) -> None:
    check_visibility(BACKOFF_CAP_S)


@signals.beat_init.connect
def _check_on_beat_start(**_kwargs) -> None:
    check_visibility(BACKOFF_CAP_S)


def retry_later(task, exc: BaseException, delay_s: float, max_retries: int) -> Retry:
    """Retry ``task`` (the bound task now running) after ``delay_s`` seconds; returns the
    :class:`~celery.exceptions.Retry` to raise.

    Up to :func:`eta_limit_s`: Celery's own retry (an ETA message). Longer: the call is parked
    in :class:`pipeline.delayed.DelayedTasks` with the same task id and ``retries + 1``, and the
    current message is acknowledged as retried. Raises :class:`~celery.exceptions.Reject`
    (requeue) when the retry can be neither published nor parked (broker or Redis down), so
    the message is kept rather than dropped.
    """
    if delay_s <= eta_limit_s(task.app):
        try:
            return task.retry(exc=exc, countdown=delay_s, max_retries=max_retries, throw=False)
        except Reject as rej:
            # Celery turns a retry it could not publish (broker unreachable) into
            # Reject(requeue=False), which drops the message: requeue it instead.
            log.warning("task_retry_unpublished", error=str(rej.reason))
            raise Reject(rej.reason, requeue=True) from None
    req = task.request
    record = {"task": task.name, "id": req.id, "args": list(req.args or []), "kwargs": dict(req.kwargs or {}),
              "retries": int(req.retries or 0) + 1}
    try:
        runtime().delayed.add(record, time.time() + delay_s)
    except Exception as park_exc:  # noqa: BLE001 - Redis is gone: keep the message
        log.warning("task_retry_unparked", error=f"{type(park_exc).__name__}: {park_exc}")
        raise Reject(park_exc, requeue=True) from None
    log.info("task_retry_parked", delay_s=round(delay_s, 2), retries=record["retries"],
             eta_limit_s=eta_limit_s(task.app))
    return Retry(exc=exc, when=delay_s)


@app.task(name="wirewatch.release_delayed", bind=True)
def release_delayed(self, limit: int = 500) -> int:
    """Send the parked retries that are due (at most ``limit``) to their queues with their
    task id and retry count; returns how many. A record is removed only after it was sent; if
    sending fails the record comes due again after its 60 s lease."""
    rt = runtime()
    sent = 0
    for member, rec in rt.delayed.claim_due(limit=limit, lease_s=60.0):
        app.send_task(rec["task"], args=rec.get("args") or [], kwargs=rec.get("kwargs") or {},
                      task_id=rec.get("id"), retries=int(rec.get("retries") or 0))
        rt.delayed.ack(member)
        sent += 1
    if sent:
        log.info("delayed_released", sent=sent)
    return sent
