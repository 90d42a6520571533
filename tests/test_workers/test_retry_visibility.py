"""Issue 14, item 6: a retry whose countdown exceeds the broker's visibility timeout runs once.

A real ``wirewatch worker`` and ``wirewatch beat`` on the test Redis (own key prefix), with a
4 s visibility timeout: a countdown over 2 s may not travel as an ETA message. A fetch task
finds its step held by another delivery for 9 s (a marker planted by the test), so it must
retry after ~9 s: the retry is parked in Redis, released by beat, and the page is fetched
once, the hand-off to enrich made once, whatever Redis redelivers meanwhile.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from httpserver import local_server  # noqa: F401  (pytest fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VISIBILITY_S = 4


def _wait(pred, timeout_s: float, interval_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval_s)
    return False


def test_start_up_check_logs_the_limit(settings):
    from workers.app import make_app
    from workers.delays import check_visibility

    low = make_app(settings.model_copy(update={"broker_visibility_timeout_s": 20}))
    assert check_visibility(300, low) == {"visibility_timeout_s": 20.0, "eta_limit_s": 10.0, "backoff_cap_s": 300,
                                          "parked_above_s": 10.0}
    default = make_app(settings.model_copy(update={"broker_visibility_timeout_s": 3600}))
    assert check_visibility(300, default)["eta_limit_s"] == 1800.0
    from pipeline.errors import ConfigError

    zero = make_app(settings.model_copy(update={"broker_visibility_timeout_s": 0}))
    zero.conf.broker_transport_options = {"visibility_timeout": -1}
    with pytest.raises(ConfigError):
        check_visibility(300, zero)


def test_long_retry_is_parked_and_runs_once(local_server, settings, redis_client, tmp_path):
    from pipeline.models import ArticleRef
    from workers.app import make_app
    from wirewatch.processes import start_processes

    tag = uuid.uuid4().hex[:6]
    s = settings.model_copy(update={
        "redis_key_prefix": f"{settings.redis_key_prefix}:vis{tag}", "broker_visibility_timeout_s": VISIBILITY_S,
        "task_ledger": True, "beat_interval_s": 1.0, "metrics_port": -1, "state_dir": Path(tmp_path)})
    prefix = s.redis_key_prefix
    task_id = f"vis-{tag}"
    page = local_server.url("/article")
    ref = ArticleRef(feed_id="f", feed_url=local_server.url("/feed.xml"), link=page, guid=page, title="t")
    # another delivery "holds" the fetch step for 9 s: the task must wait that long
    redis_client.set(f"{prefix}:once:{task_id}:fetch", "running", px=9000)
    group = start_processes(s, layout=({"name": "io", "queues": "poll,fetch", "pool": "threads", "concurrency": 2},),
                            beat=True, log_dir=Path(tmp_path) / "logs")
    try:
        log = Path(tmp_path) / "logs" / "io.log"
        assert _wait(lambda: log.exists() and "ready." in log.read_text(errors="replace"), 180), \
            log.read_text(errors="replace")[-3000:] if log.exists() else "no log"
        app = make_app(s)
        app.send_task("wirewatch.fetch_article", args=[ref.to_dict()], task_id=task_id)
        steps_key, runs_key = f"{prefix}:ledger:steps", f"{prefix}:ledger:runs"
        assert _wait(lambda: redis_client.hget(steps_key, f"{task_id}:handoff") is not None, 90), \
            log.read_text(errors="replace")[-4000:]
        time.sleep(3 * VISIBILITY_S)  # room for any redelivery to show up
        text = log.read_text(errors="replace")
    finally:
        group.stop(timeout_s=20)
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    events = [e.get("event") for e in lines]
    assert "broker_visibility_checked" in events
    assert "task_retry_parked" in events  # the 9 s wait did not become an ETA message
    assert int(redis_client.hget(runs_key, f"wirewatch.fetch_article:{task_id}")) == 2  # busy, then released
    assert int(redis_client.hget(steps_key, f"{task_id}:fetch")) == 1
    assert int(redis_client.hget(steps_key, f"{task_id}:handoff")) == 1
    assert local_server.hits("/article") == 1  # fetched once
    assert redis_client.llen(f"{prefix}:celery:enrich") == 1  # handed to enrich once
    assert redis_client.zcard(f"{prefix}:delayed") == 0
