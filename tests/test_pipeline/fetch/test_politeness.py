"""Per-host politeness: the in-process limiter, and the Redis limiter shared across processes
(real Redis). Delays are checked only from below (a sleep never ends early), never from above."""
from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import pytest

from httpserver import local_server  # noqa: F401  (pytest fixture)
from pipeline.errors import FetchError
from pipeline.fetch.http import GuardedClient
from pipeline.fetch.politeness import HostLimiter, LocalHostLimiter, RedisHostLimiter


def _max_parallel(limiter, host: str, workers: int, hold_s: float = 0.05) -> int:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def work():
        with limiter.slot(host):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(hold_s)
            with lock:
                state["now"] -= 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return state["max"]


# -- in-process limiter ------------------------------------------------------------------------------

def test_local_concurrency_cap():
    assert _max_parallel(LocalHostLimiter(2, 0.0), "a.example", 6) == 2


def test_local_min_delay_spaces_requests():
    lim = LocalHostLimiter(4, 0.15)
    starts = []
    for _ in range(3):
        with lim.slot("b.example"):
            starts.append(time.monotonic())
    assert all(b - a >= 0.14 for a, b in zip(starts, starts[1:]))
    t = time.monotonic()
    with lim.slot("other.example"):  # another host is not delayed by b.example
        pass
    assert time.monotonic() - t < 5


def test_local_defer_beyond_max_wait_is_host_busy():
    lim = LocalHostLimiter(2, 0.0, max_wait_s=0.2)
    lim.defer("c.example", 60)
    with pytest.raises(FetchError) as e:
        with lim.slot("c.example"):
            pass
    assert e.value.reason == "host_busy" and e.value.transient and e.value.retry_after_s > 50


# -- Redis limiter (integration) ----------------------------------------------------------------------


def _settings(settings, **kw):
    base = {"host_max_concurrency": 2, "host_min_delay_s": 0.0, "fetch_total_timeout_s": 5.0}
    base.update(kw)
    return settings.model_copy(update=base)


def _host() -> str:
    return f"h{uuid.uuid4().hex[:8]}.example"


@pytest.mark.integration
def test_redis_concurrency_cap_across_limiters(settings, redis_client):
    s = _settings(settings)
    host = _host()
    # three limiters = three workers, each with its own Redis connection
    import redis

    limiters = [RedisHostLimiter(redis.Redis.from_url(s.redis_url), s) for _ in range(3)]
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def work(lim):
        with lim.slot(host):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.05)
            with lock:
                state["now"] -= 1

    threads = [threading.Thread(target=work, args=(limiters[i % 3],)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["max"] == 2
    assert limiters[0].active(host) == 0  # every slot released


def _proc_work(redis_url, prefix, host, n, out):
    import redis

    from pipeline.settings import Settings

    s = Settings(redis_url=redis_url, redis_key_prefix=prefix, host_max_concurrency=2, host_min_delay_s=0.0,
                 fetch_total_timeout_s=10.0)
    r = redis.Redis.from_url(redis_url)
    lim = RedisHostLimiter(r, s)
    counter = f"{prefix}:test:{host}:inflight"
    peak = 0
    for _ in range(n):
        with lim.slot(host):
            now = r.incr(counter)
            peak = max(peak, now)
            time.sleep(0.02)
            r.decr(counter)
    out.put(peak)


@pytest.mark.integration
def test_redis_concurrency_cap_across_processes(settings, redis_client):
    host = _host()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_proc_work, args=(settings.redis_url, settings.redis_key_prefix, host, 5, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    peaks = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs)
    assert max(peaks) == 2  # four processes, never more than two in flight on one host


@pytest.mark.integration
def test_redis_min_delay_between_two_workers(settings, redis_client):
    s = _settings(settings, host_min_delay_s=0.2)
    host = _host()
    a, b = RedisHostLimiter(redis_client, s), RedisHostLimiter(redis_client, s)
    starts = []
    for lim in (a, b, a):
        with lim.slot(host):
            starts.append(time.monotonic())
    assert all(y - x >= 0.18 for x, y in zip(starts, starts[1:]))


@pytest.mark.integration
def test_redis_defer_is_seen_by_other_workers(settings, redis_client):
    s = _settings(settings)
    host = _host()
    RedisHostLimiter(redis_client, s).defer(host, 120)
    other = RedisHostLimiter(redis_client, s, max_wait_s=0.3)
    with pytest.raises(FetchError) as e:
        with other.slot(host):
            pass
    assert e.value.reason == "host_busy" and 100 < e.value.retry_after_s <= 120


@pytest.mark.integration
def test_redis_busy_host_times_out_and_crashed_lease_expires(settings, redis_client):
    s = _settings(settings, host_max_concurrency=1)
    host = _host()
    crashed = RedisHostLimiter(redis_client, s, lease_s=0.5)
    held = crashed.slot(host)
    held.__enter__()  # a worker that dies holding its slot never exits the block
    impatient = RedisHostLimiter(redis_client, s, max_wait_s=0.1)
    with pytest.raises(FetchError) as e:
        with impatient.slot(host):
            pass
    assert e.value.reason == "host_busy"
    patient = RedisHostLimiter(redis_client, s, max_wait_s=5.0)
    with patient.slot(host):  # the lease ran out, so the slot is free again
        assert patient.active(host) == 1


def test_host_limiter_alias():
    assert HostLimiter is RedisHostLimiter


@pytest.mark.integration
def test_client_defers_host_after_429(settings, redis_client, local_server):
    s = _settings(settings, fetch_allow_hosts=["127.0.0.1"])
    lim = RedisHostLimiter(redis_client, s, max_wait_s=0.3)
    with GuardedClient(s, limiter=lim) as client:
        with pytest.raises(FetchError) as e:
            client.get(local_server.url("/status/429?retry_after=60"))
        assert e.value.reason == "rate_limited"
        with pytest.raises(FetchError) as e:
            client.get(local_server.url("/article"))
        assert e.value.reason == "host_busy"
    assert local_server.hits("/article") == 0


def test_client_with_local_limiter_fetches(settings, local_server):
    s = settings.model_copy(update={"fetch_allow_hosts": ["127.0.0.1"]})
    with GuardedClient(s, limiter=LocalHostLimiter(1, 0.0)) as client:
        assert client.get(local_server.url("/redirect/chain?n=1")).status == 200
    assert local_server.hits("/article") == 1
