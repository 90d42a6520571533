"""Issue 14, item 6 (pieces): once-per-task-id step markers and the parked-retry set, against
the real Redis; the ETA limit derived from the broker's visibility timeout."""
from __future__ import annotations

import time
import uuid

import pytest

from pipeline.delayed import DelayedTasks, max_eta_countdown_s
from pipeline.once import StepBusy, StepMarkers

pytestmark = pytest.mark.integration


@pytest.fixture
def s(settings, redis_client):
    return settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:once:{uuid.uuid4().hex[:6]}"})


def test_a_step_runs_once_per_task_id_and_returns_its_first_result(s, redis_client):
    markers = StepMarkers(redis_client, s, ledger=True)
    calls = []

    def step():
        calls.append(1)
        return {"id": "a1", "n": len(calls)}

    assert markers.run("task-1", "fetch", step) == {"id": "a1", "n": 1}
    assert markers.run("task-1", "fetch", step) == {"id": "a1", "n": 1}  # second delivery: skipped
    assert markers.run("task-2", "fetch", step) == {"id": "a1", "n": 2}  # another task id runs
    assert len(calls) == 2
    assert markers.doubled() == {}
    # the ledger counts each run of a step; a task run twice outside the markers would show
    redis_client.hincrby(markers.ledger_key, "task-3:fetch", 2)
    assert markers.doubled() == {"task-3:fetch": 2}


def test_a_failed_step_runs_again_on_retry(s, redis_client):
    markers = StepMarkers(redis_client, s)
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("site went away")
        return "ok"

    with pytest.raises(ConnectionError):
        markers.run("task-9", "fetch", flaky)
    assert markers.run("task-9", "fetch", flaky) == "ok"
    assert len(attempts) == 2


def test_a_step_running_elsewhere_is_busy_with_its_remaining_lease(s, redis_client):
    markers = StepMarkers(redis_client, s)
    redis_client.set(markers._key("task-5", "enrich"), "running", px=5000)
    with pytest.raises(StepBusy) as err:
        markers.run("task-5", "enrich", lambda: "never")
    assert err.value.transient and err.value.reason == "step_running"
    assert 3.0 < err.value.retry_after_s <= 5.0
    # once the lease is gone (the holder died), the step runs
    redis_client.delete(markers._key("task-5", "enrich"))
    assert markers.run("task-5", "enrich", lambda: "ran") == "ran"


def test_parked_retries_come_due_are_leased_and_acked(s, redis_client):
    delayed = DelayedTasks(redis_client, s)
    now = time.time()
    delayed.add({"task": "wirewatch.fetch_article", "id": "t1", "args": [{}], "kwargs": {}, "retries": 5}, now + 100)
    delayed.add({"task": "wirewatch.index_batch", "id": "t2", "args": [["d1"]], "kwargs": {}, "retries": 3}, now - 1)
    assert delayed.count() == 2
    due = delayed.claim_due(now)
    assert [rec["id"] for _, rec in due] == ["t2"] and due[0][1]["retries"] == 3
    assert delayed.claim_due(now) == []  # leased: not handed out twice
    assert [rec["id"] for _, rec in delayed.claim_due(now + 61)] == ["t2"]  # lease over, never acked
    delayed.ack(due[0][0])
    assert delayed.count() == 1 and delayed.claim_due(now + 200)[0][1]["id"] == "t1"


def test_eta_limit_is_half_the_visibility_timeout():
    assert max_eta_countdown_s(3600) == 1800.0
    assert max_eta_countdown_s(20) == 10.0
    with pytest.raises(ValueError):
        max_eta_countdown_s(0)
