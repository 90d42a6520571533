"""The pending pool: documents waiting for the index stage, gathered into batches ("linger").

One bulk request for ten documents costs the search engine about a quarter of the CPU that ten
one-document requests cost (index + percolate + alert writes: 50 ms per document one at a time,
12 ms in batches of ten, 6 ms in batches of forty, measured on the local OpenSearch 2.19 node
with `/proc` CPU ticks). Enrichment hands documents over one at a time, so the index stage lets
them gather for up to ``Settings.index_linger_s`` and indexes what has gathered in one go, like
a Kafka producer's ``linger.ms``.

Redis keys (``<p>`` = ``redis_key_prefix``, ``<pool>`` = the pool's name, e.g. ``index``):

- ``<p>:pending:<pool>``: sorted set, member = document id, score = epoch seconds it was first
  added (so the age of the oldest waiting document is one ``ZRANGE``);
- ``<p>:claim:<pool>:<task id>``: list of the ids one task took, kept until the task finished
  (:meth:`PendingPool.release`) or ``claim_ttl_s`` passed.

Protocol (at-least-once, nothing lost, nothing processed twice in the normal case):

1. The producer :meth:`adds <PendingPool.add>` the id, then sends a task message naming it.
2. The task, if it has a claim already (a redelivered or retried message keeps its task id),
   processes that claim again. Otherwise, when none of its own ids is still pending (an earlier
   task took them), it has nothing to do. Otherwise it :meth:`waits <PendingPool.wait>` until
   the oldest pending document is ``linger_s`` old or ``limit`` are pending, then
   :meth:`claims <PendingPool.claim>` its own ids and the oldest others, atomically (one Lua
   script), up to ``limit``.
3. After processing it :meth:`releases <PendingPool.release>` the claim.

A worker killed between 2 and 3 leaves the claim; the broker redelivers the unacknowledged
message (same task id) and the claim is processed again, which the index stage tolerates
(``_id`` = document id; alert events are created once per search and story).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

from pipeline.settings import Settings

#: Seconds a claim is kept when its task never releases it (7 days, as payloads in
#: :mod:`pipeline.store`: longer than any retry schedule or visibility timeout).
DEFAULT_CLAIM_TTL_S = 7 * 24 * 3600

# KEYS[1] pending zset, KEYS[2] claim list; ARGV[1] limit, ARGV[2] claim TTL s, ARGV[3..] own ids.
_CLAIM_LUA = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.call('LRANGE', KEYS[2], 0, -1)
end
local limit = tonumber(ARGV[1])
local taken = {}
for i = 3, #ARGV do
  if #taken < limit and redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    taken[#taken + 1] = ARGV[i]
  end
end
if #taken == 0 then
  return taken
end
if #taken < limit then
  local extra = redis.call('ZRANGE', KEYS[1], 0, limit - #taken - 1)
  for _, id in ipairs(extra) do
    redis.call('ZREM', KEYS[1], id)
    taken[#taken + 1] = id
  end
end
redis.call('RPUSH', KEYS[2], unpack(taken))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
return taken
"""


class PendingPool:
    """A named pool of ids waiting to be processed in batches (see the module docstring).

    ``redis`` is a ``redis.Redis`` (bytes or str responses both work). Every method raises
    ``redis.RedisError`` when Redis is unreachable; callers (Celery tasks) retry.
    """

    def __init__(self, redis, settings: Settings, name: str, *, claim_ttl_s: int = DEFAULT_CLAIM_TTL_S):
        self.redis = redis
        self.name = name
        self.key = f"{settings.redis_key_prefix}:pending:{name}"
        self._claim_prefix = f"{settings.redis_key_prefix}:claim:{name}:"
        self.claim_ttl_s = claim_ttl_s
        self._claim = redis.register_script(_CLAIM_LUA)

    def _claim_key(self, task_id: str) -> str:
        return self._claim_prefix + task_id

    def add(self, ids: Sequence[str], *, now: float | None = None) -> None:
        """Add ``ids`` to the pool; an id already waiting keeps its first time (``ZADD NX``)."""
        if ids:
            t = time.time() if now is None else now
            self.redis.zadd(self.key, {i: t for i in ids}, nx=True)

    def size(self) -> int:
        """How many ids are waiting."""
        return int(self.redis.zcard(self.key))

    def oldest_age_s(self, *, now: float | None = None) -> float | None:
        """Seconds the oldest waiting id has waited, or None when the pool is empty."""
        first = self.redis.zrange(self.key, 0, 0, withscores=True)
        if not first:
            return None
        return max(0.0, (time.time() if now is None else now) - float(first[0][1]))

    def any_pending(self, ids: Sequence[str]) -> bool:
        """True when at least one of ``ids`` is still waiting (not yet claimed)."""
        if not ids:
            return False
        return any(score is not None for score in self.redis.zmscore(self.key, list(ids)))

    def claimed(self, task_id: str) -> list[str] | None:
        """The ids ``task_id`` claimed earlier (a redelivered message), or None."""
        if not self.redis.exists(self._claim_key(task_id)):
            return None
        return [_s(v) for v in self.redis.lrange(self._claim_key(task_id), 0, -1)]

    def wait(self, own_ids: Sequence[str], *, linger_s: float, limit: int,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> bool:
        """Block until the batch is worth taking; return whether ``own_ids`` are still waiting.

        Returns False at once when none of ``own_ids`` is pending (another task took them).
        Otherwise sleeps until the oldest waiting id is ``linger_s`` seconds old, at most
        ``linger_s`` seconds of ``clock`` in all, and returns :meth:`any_pending` then. The
        count is looked at before each sleep only: ``limit`` ids already waiting end the wait at
        once, but ids that arrive during a sleep do not cut it short.
        """
        if not self.any_pending(own_ids):
            return False
        deadline = clock() + max(0.0, linger_s)
        while True:
            now = clock()
            age = self.oldest_age_s(now=now)
            if age is None:
                return False
            remaining = min(linger_s - age, deadline - now)
            if remaining <= 0 or self.size() >= limit:
                break
            sleep(remaining)
        return self.any_pending(own_ids)

    def claim(self, task_id: str, own_ids: Sequence[str], limit: int) -> list[str]:
        """Atomically take, for ``task_id``, those of ``own_ids`` still waiting plus the oldest
        other waiting ids, ``limit`` in all; or return its earlier claim unchanged.

        Returns ``[]`` (and claims nothing) when none of ``own_ids`` is waiting any more.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        out = self._claim(keys=[self.key, self._claim_key(task_id)], args=[limit, self.claim_ttl_s, *own_ids])
        return [_s(v) for v in out]

    def release(self, task_id: str) -> None:
        """Forget ``task_id``'s claim (its ids were processed or dead-lettered)."""
        self.redis.delete(self._claim_key(task_id))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
