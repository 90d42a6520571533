"""The pending pool (pipeline.index.pending) against the real Redis: linger batching, atomic claims,
redelivery of a claim, and the index task's pooled protocol."""
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


def test_index_task_dead_lettered_before_reading_its_claim_records_the_claim(redis_client, settings, monkeypatch):
    """The last retry of a pooled index task fails on Redis before it reads the claim an earlier
    attempt made (same task id). The dead letter must name the claimed ids as an unpooled call:
    the pooled call it was sent with, replayed under a new task id, finds its id neither pending
    nor claimed by it and indexes nothing, so the claim's ids would be lost."""
    import redis

    from pipeline.deadletter import DeadLetters
    from workers import runtime as runtime_mod
    from workers.tasks import MAX_RETRIES, index_batch

    class TimesOutOnce(PendingPool):  # fault injection on our own class; Redis itself is real
        failures = 1

        def claimed(self, task_id):
            if self.failures:
                self.failures -= 1
                raise redis.TimeoutError("injected: Redis did not answer")
            return super().claimed(task_id)

    tag = uuid.uuid4().hex[:8]
    rt = runtime_mod.Runtime(settings)
    pool = TimesOutOnce(redis_client, settings, f"test-{tag}")
    rt.__dict__["index_pool"] = pool
    monkeypatch.setattr(runtime_mod, "_runtime", rt)
    mine, other, task_id = f"mine-{tag}", f"other-{tag}", f"task-{tag}"
    pool.add([mine, other], now=1.0)
    assert pool.claim(task_id, [mine], limit=10) == [mine, other]  # an earlier attempt's claim

    index_batch.apply(args=[[mine]], kwargs={"pooled": True}, task_id=task_id, retries=MAX_RETRIES)

    entries = [e for e in DeadLetters(redis_client, settings).list(kind="task:wirewatch.index_batch", limit=1000)
               if tag in repr(e["payload"])]
    assert [e["payload"] for e in entries] == [{"task": "wirewatch.index_batch", "args": [[mine, other]], "kwargs": {}}]
    assert pool.claimed(task_id) is None  # released once the dead letter names its ids
    redis_client.delete(pool.key)


class _Recorder:
    """Stands in for a Celery task in the pure splitting rule: records ``delay`` calls."""

    name = "wirewatch.index_batch"

    def __init__(self):
        self.sent: list[list[str]] = []

    def delay(self, ids):
        self.sent.append(ids)


def test_a_permanently_failing_batch_is_split_into_single_documents():
    from pipeline.errors import EngineError
    from workers.tasks import _split_batch

    task = _Recorder()
    permanent = EngineError("mapper_parsing_exception", reason="engine_400", transient=False)
    assert _split_batch(task, ["a", "b", "c"], permanent) is True
    assert task.sent == [["a"], ["b"], ["c"]]
    # One document, or a failure that may pass (engine down): the failure policy decides.
    assert _split_batch(task, ["a"], permanent) is False
    assert _split_batch(task, ["a", "b"], EngineError("down", reason="unreachable", transient=True)) is False
    assert _split_batch(task, ["a", "b"], ConnectionError("reset")) is False
    assert task.sent == [["a"], ["b"], ["c"]]
