"""At most once per task id: Redis markers around the side effects of a task body.

A broker that delivers at least once may hand one message to two workers (a redelivery after
the visibility timeout while the first still holds it, a retry published twice). Writes that
are idempotent (documents by id, alert events per search and cluster) shrug that off; a fetch,
an enrichment or the hand-off to the next stage would happen twice. :class:`StepMarkers`
runs each such step of a task body once per ``(task id, step)``:

* ``SET <prefix>:once:<task id>:<step> running NX PX lease``: the first caller runs the step;
* after the step, the marker becomes ``done`` with the step's JSON result for
  :attr:`StepMarkers.done_ttl_s` (a later delivery of the same task id skips the step, logs it and gets
  that result back);
* a step that raises deletes its marker, so a retry (same task id) runs it again;
* a caller that finds ``running`` (another worker is inside the step, or died there before
  the lease ran out) gets :class:`StepBusy`, a transient error carrying the lease's remaining
  seconds: the task retries after it rather than skipping a step that may never finish.

Celery's retries keep the task id, so steps a failed attempt completed are not repeated by the
retry either. With ``ledger=True`` (failure drills) every run of a step is also counted in
``<prefix>:ledger:steps`` (``{"<task id>:<step>": runs}``) so a drill can report doubles.
"""
from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

from pipeline.errors import WirewatchError
from pipeline.logs import get_logger
from pipeline.settings import Settings

log = get_logger(__name__)
T = TypeVar("T")

#: Shortest time a ``done`` marker is kept, seconds. A second delivery of a task comes within
#: the broker's visibility timeout, and its retries (same id) within about 25 minutes of
#: backoff (``workers.tasks.MAX_RETRIES``); markers are kept ``max(DONE_TTL_S, 2 x visibility
#: timeout)``. Cost: one small key per task and step for that long.
DONE_TTL_S = 3600


class StepBusy(WirewatchError):
    """Another delivery of the same task id is inside the step (transient; reason
    ``step_running``). ``retry_after_s`` is the marker's remaining lease in seconds."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message, reason="step_running", transient=True)
        self.retry_after_s = retry_after_s


class StepMarkers:
    """Run steps of task bodies at most once per task id (see the module docstring).

    ``redis`` is a ``redis.Redis``; ``settings`` gives ``redis_key_prefix``; ``ledger`` turns on
    the per-step run counts of the failure drills.
    """

    def __init__(self, redis, settings: Settings, *, ledger: bool = False):
        self.redis = redis
        self.done_ttl_s = int(max(DONE_TTL_S, 2 * (settings.broker_visibility_timeout_s or 0)))
        self.prefix = f"{settings.redis_key_prefix}:once"
        self.ledger_key = f"{settings.redis_key_prefix}:ledger:steps"
        self.ledger = ledger

    def _key(self, task_id: str, step: str) -> str:
        return f"{self.prefix}:{task_id}:{step}"

    def run(self, task_id: str | None, step: str, fn: Callable[[], T], *, lease_s: float = 60.0) -> T | Any:
        """Run ``fn`` unless this ``(task_id, step)`` already ran; return its value (which must
        be JSON-serialisable: it is kept with the marker), or, when the step was done before,
        the value it returned then.

        ``lease_s``: how long a ``running`` marker holds off other deliveries (longer than the
        step takes). ``task_id`` None (a direct call outside a worker) runs ``fn`` unguarded.
        Raises :class:`StepBusy` when another delivery holds the step, and whatever ``fn``
        raises (after removing the marker).
        """
        if not task_id:
            return fn()
        key = self._key(task_id, step)
        if not self.redis.set(key, "running", nx=True, px=max(1, int(lease_s * 1000))):
            state = self.redis.get(key)
            state = state.decode() if isinstance(state, bytes) else state
            if state is not None and state.startswith("done:"):
                log.info("step_skipped", task_id=task_id, step=step, reason="done_before")
                return json.loads(state[len("done:"):])
            if state is not None:
                ttl_ms = self.redis.pttl(key)
                raise StepBusy(f"step {step} of task {task_id} is running in another delivery",
                               retry_after_s=max(ttl_ms, 0) / 1000.0)
            return self.run(task_id, step, fn, lease_s=lease_s)  # expired just now
        try:
            out = fn()
        except BaseException:
            self.redis.delete(key)
            raise
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(key, "done:" + json.dumps(out, default=str), ex=self.done_ttl_s)
        if self.ledger:
            pipe.hincrby(self.ledger_key, f"{task_id}:{step}", 1)
        pipe.execute()
        return out

    def doubled(self) -> dict[str, int]:
        """Ledger entries of steps that ran more than once: ``{"<task id>:<step>": runs}``."""
        raw = self.redis.hgetall(self.ledger_key)
        out: dict[str, Any] = {}
        for k, v in raw.items():
            k = k.decode() if isinstance(k, bytes) else k
            if int(v) > 1:
                out[k] = int(v)
        return out


__all__ = ["DONE_TTL_S", "StepBusy", "StepMarkers"]
