"""The pending pool (pipeline.index.pending) against the real Redis: linger batching, atomic claims,
redelivery of a claim. The index task's use of it: tests/test_workers/test_tasks.py."""
from __future__ import annotations

import threading
import uuid

import pytest

from pipeline.index.pending import PendingPool


@pytest.fixture
def pool(redis_client, settings):
    p = PendingPool(redis_client, settings, f"test-{uuid.uuid4().hex[:8]}")  # claims are per pool name
    redis_client.delete(p.key)
    yield p
    redis_client.delete(p.key)


def test_add_keeps_first_time_and_reports_age(pool):
    pool.add(["a", "b"], now=1000.0)
    pool.add(["a"], now=1005.0)
    assert pool.size() == 2
    assert pool.oldest_age_s(now=1010.0) == pytest.approx(10.0)
    assert pool.any_pending(["x", "b"]) is True
    assert pool.any_pending(["x"]) is False


def test_claim_takes_own_ids_then_oldest_others_up_to_limit(pool):
    pool.add(["old1"], now=1.0)
    pool.add(["old2"], now=2.0)
    pool.add(["old3"], now=3.0)
    pool.add(["mine"], now=4.0)
    taken = pool.claim("task-1", ["mine"], limit=3)
    assert taken == ["mine", "old1", "old2"]
    assert pool.size() == 1 and pool.any_pending(["old3"])
    # The same task id (a redelivered or retried message) gets the same claim, nothing more.
    assert pool.claim("task-1", ["mine"], limit=3) == ["mine", "old1", "old2"]
    assert pool.claimed("task-1") == ["mine", "old1", "old2"]
    pool.release("task-1")
    assert pool.claimed("task-1") is None


def test_claim_is_empty_when_own_ids_were_taken(pool):
    pool.add(["a", "b"], now=1.0)
    assert sorted(pool.claim("t1", ["a"], limit=10)) == ["a", "b"]
    pool.add(["c"], now=2.0)
    # b's own message arrives later: b is gone, so it takes nothing (c waits for its own message).
    assert pool.claim("t2", ["b"], limit=10) == []
    assert pool.claimed("t2") is None
    assert pool.any_pending(["c"])
    with pytest.raises(ValueError):
        pool.claim("t3", ["c"], limit=0)


def test_concurrent_claims_never_share_an_id(pool):
    ids = [f"d{i:03d}" for i in range(300)]
    pool.add(ids, now=1.0)
    got: dict[str, list[str]] = {}

    def worker(k: int) -> None:
        own = ids[k::6]
        got[f"t{k}"] = pool.claim(f"t{k}", own, limit=40)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for v in got.values() for i in v]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) == 240 and pool.size() == 60


def test_wait_sleeps_until_the_oldest_lingered(pool):
    clock = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 3))
        clock[0] += s

    pool.add(["a"], now=99.6)
    assert pool.wait(["a"], linger_s=1.0, limit=50, sleep=sleep, clock=lambda: clock[0]) is True
    assert slept == [0.6]


def test_wait_returns_at_once_when_full_or_taken(pool):
    pool.add([f"x{i}" for i in range(5)], now=100.0)
    never = lambda s: pytest.fail("must not sleep")  # noqa: E731
    assert pool.wait(["x0"], linger_s=30.0, limit=5, sleep=never, clock=lambda: 100.0) is True
    assert pool.wait(["gone"], linger_s=30.0, limit=5, sleep=never, clock=lambda: 100.0) is False
