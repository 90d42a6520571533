"""Read the Celery queues in Redis: messages waiting per queue and messages in flight.

Key names follow kombu's Redis transport with the app's ``global_keyprefix``
(``<redis_key_prefix>:celery:``): one list per queue and the ``unacked`` hash.
"""
from __future__ import annotations

from workers.app import QUEUES


def queue_depths(redis, settings) -> dict[str, int]:
    """``{queue: waiting messages}`` plus ``"in_flight"`` (delivered, not yet acknowledged),
    ``"index_pending"`` (documents gathering for the next index batch, :mod:`pipeline.index.pending`)
    and ``"delayed"`` (retries parked until due, :mod:`pipeline.delayed`)."""
    from pipeline.index.pending import PendingPool

    prefix = f"{settings.redis_key_prefix}:celery:"
    pipe = redis.pipeline()
    for q in QUEUES:
        pipe.llen(prefix + q)
    pipe.hlen(prefix + "unacked")
    pipe.zcard(PendingPool(redis, settings, "index").key)
    pipe.zcard(f"{settings.redis_key_prefix}:delayed")  # DelayedTasks' key
    values = pipe.execute()
    out = dict(zip(QUEUES, values[:-3]))
    out["in_flight"] = values[-3]
    out["index_pending"] = values[-2]
    out["delayed"] = values[-1]
    return out


def idle(redis, settings) -> bool:
    """True when no message waits, none is in flight, no document waits for an index batch and
    no retry is parked."""
    return not any(queue_depths(redis, settings).values())
