"""Per-host politeness: at most N concurrent requests and a minimum delay between requests to one host.

Two limiters share one small interface (:class:`Limiter`):

- :class:`RedisHostLimiter` for production: the state lives in Redis, so every worker process
  on every machine sees the same slots and the same "next request not before" time of a host.
  One Lua script reserves a slot and a start time atomically, with Redis's own clock (``TIME``)
  so that clocks of different machines never disagree. A slot is a lease: a worker that dies
  while holding it loses it after ``lease_s`` (the fetch's total timeout plus a margin), so a
  crash cannot lock a host forever.
- :class:`LocalHostLimiter` for one process (the CLI, tests of the client without Redis).

:class:`~pipeline.fetch.http.GuardedClient` takes a limiter optionally and wraps every hop (redirects
included) in ``limiter.slot(host)``; on 429/503 it calls ``limiter.defer(host, retry_after_s)``
so that every worker holds off that host for as long as the server asked.

Limits come from ``settings.host_max_concurrency`` and ``settings.host_min_delay_s``. A request
whose start would be later than ``max_wait_s`` from now is not queued: :class:`FetchError`
``host_busy`` (transient, ``retry_after_s`` set) is raised so that the task is retried later
instead of holding a worker.
"""
from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Iterator, Protocol

from pipeline.errors import FetchError
from pipeline.logs import get_logger
from pipeline.settings import Settings

log = get_logger(__name__)

#: Poll interval while every slot of a host is taken, seconds (doubles up to _POLL_MAX_S).
_POLL_MIN_S = 0.02
_POLL_MAX_S = 0.25


class Limiter(Protocol):
    """What :class:`~pipeline.fetch.http.GuardedClient` needs from a limiter."""

    def slot(self, host: str) -> contextlib.AbstractContextManager[None]:
        """Hold one of ``host``'s request slots (waiting for the delay and for a free slot)."""

    def defer(self, host: str, seconds: float) -> None:
        """Hold off every request to ``host`` for ``seconds`` (the server asked us to)."""


def _host_key(host: str) -> str:
    return host.lower().strip("[]").rstrip(".")


class LocalHostLimiter:
    """An in-process limiter (threads of one process share it); same rules as the Redis one."""

    def __init__(self, max_concurrency: int = 2, min_delay_s: float = 1.0, *, max_wait_s: float = 30.0):
        self.max_concurrency = max(1, max_concurrency)
        self.min_delay_s = max(0.0, min_delay_s)
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._next: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> "LocalHostLimiter":
        """Build from ``host_max_concurrency``, ``host_min_delay_s`` and ``fetch_total_timeout_s``."""
        return cls(settings.host_max_concurrency, settings.host_min_delay_s, max_wait_s=settings.fetch_total_timeout_s)

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for a free slot and the host's next start time, then hold the slot."""
        key = _host_key(host)
        deadline = time.monotonic() + self.max_wait_s
        with self._cond:
            while self._active.get(key, 0) >= self.max_concurrency:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FetchError(f"host {host} busy for {self.max_wait_s:.0f}s", reason="host_busy", transient=True,
                                     retry_after_s=self.min_delay_s or 1.0)
                self._cond.wait(left)
            now = time.monotonic()
            start = max(now, self._next.get(key, 0.0))
            if start - now > self.max_wait_s:
                raise FetchError(f"host {host} deferred for {start - now:.0f}s", reason="host_busy", transient=True,
                                 retry_after_s=start - now)
            self._next[key] = start + self.min_delay_s
            self._active[key] = self._active.get(key, 0) + 1
        try:
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            with self._cond:
                self._active[key] -= 1
                self._cond.notify_all()

    def defer(self, host: str, seconds: float) -> None:
        """Push the host's next start time to at least now + ``seconds``."""
        key = _host_key(host)
        with self._cond:
            self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + max(0.0, seconds))


# KEYS[1] slots (sorted set token -> lease end, ms), KEYS[2] next start time (ms).
# ARGV: token, max concurrency, lease ms, min delay ms, max wait ms.
# Returns {status, wait_ms}: 1 = slot held, start after wait_ms; 0 = all slots taken;
# 2 = the host's next start is more than max wait away (nothing reserved).
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(now, nxt)
if start - now > tonumber(ARGV[5]) then return {2, start - now} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {0, 0} end
local delay = tonumber(ARGV[4])
local lease = tonumber(ARGV[3])
redis.call('SET', KEYS[2], start + delay, 'PX', start - now + delay + 60000)
redis.call('ZADD', KEYS[1], start + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], start - now + lease + 60000)
return {1, start - now}
"""

# KEYS[1] next start time (ms). ARGV[1]: defer ms.
_DEFER_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if want > nxt then redis.call('SET', KEYS[1], want, 'PX', tonumber(ARGV[1]) + 60000) end
return want
"""


class RedisHostLimiter:
    """A limiter shared by every process through Redis.

    Keys (all under ``settings.redis_key_prefix``): ``<prefix>:host:<host>:slots`` (sorted set of
    leases) and ``<prefix>:host:<host>:next`` (earliest next start, ms since the epoch by Redis's
    clock). Both expire on their own a minute after they stop mattering.
    """

    def __init__(self, redis_client, settings: Settings, *, max_wait_s: float | None = None,
                 lease_s: float | None = None):
        self._r = redis_client
        self._prefix = settings.redis_key_prefix
        self.max_concurrency = max(1, settings.host_max_concurrency)
        self.min_delay_s = max(0.0, settings.host_min_delay_s)
        self.max_wait_s = settings.fetch_total_timeout_s if max_wait_s is None else max_wait_s
        self.lease_s = (settings.fetch_total_timeout_s + 10.0) if lease_s is None else lease_s
        self._acquire = self._r.register_script(_ACQUIRE_LUA)
        self._defer = self._r.register_script(_DEFER_LUA)

    def _keys(self, host: str) -> tuple[str, str]:
        k = f"{self._prefix}:host:{_host_key(host)}"
        return f"{k}:slots", f"{k}:next"

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Reserve a slot and a start time in Redis, sleep until the start, hold the slot.

        Raises :class:`FetchError` ``host_busy`` (transient) when no slot frees up within
        ``max_wait_s`` or when the host is deferred beyond it.
        """
        slots, nxt = self._keys(host)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait_s
        pause = _POLL_MIN_S
        while True:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            status, wait_ms = self._acquire(
                keys=[slots, nxt],
                args=[token, self.max_concurrency, int(self.lease_s * 1000), int(self.min_delay_s * 1000), left_ms],
            )
            status, wait_ms = int(status), int(wait_ms)
            if status == 1:
                break
            if status == 2:
                raise FetchError(f"host {host} deferred for {wait_ms / 1000:.1f}s", reason="host_busy",
                                 transient=True, retry_after_s=wait_ms / 1000)
            if time.monotonic() >= deadline:
                raise FetchError(f"host {host} busy for {self.max_wait_s:.0f}s", reason="host_busy", transient=True,
                                 retry_after_s=max(self.min_delay_s, 1.0))
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)
        try:
            if wait_ms > 0:
                time.sleep(wait_ms / 1000)
            yield
        finally:
            try:
                self._r.zrem(slots, token)
            except Exception as exc:  # noqa: BLE001 - the lease expires on its own
                log.warning("politeness_release_failed", host=host, error=str(exc))

    def defer(self, host: str, seconds: float) -> None:
        """Hold off ``host`` for every process for ``seconds`` from now (Redis clock)."""
        _, nxt = self._keys(host)
        self._defer(keys=[nxt], args=[max(0, int(seconds * 1000))])

    def active(self, host: str) -> int:
        """Number of live slots of ``host`` right now (for tests and status)."""
        slots, _ = self._keys(host)
        return int(self._r.zcard(slots))


#: The production limiter under its short name (``HostLimiter(redis_client, settings)``).
HostLimiter = RedisHostLimiter
