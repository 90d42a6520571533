"""Feed health (pipeline/feeds/health.py): the rules on invented feed records, and state changes,
events and notifications against the real Redis and a real HTTP receiver."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.feeds.health import FeedHealth, evaluate, usual_interval_s
from pipeline.feeds.registry import Feed, FeedRegistry

H = 3600.0
NOW = 1_800_000_000.0


def _feed(**kw) -> Feed:
    base = dict(id="f1", url="https://news.example/rss", title="Example news", added_at=NOW - 30 * 86400,
                last_success=NOW - 60, entries_per_day=24.0)
    base.update(kw)
    return Feed(**base)


def test_rules_failing_disabled_silent_and_ok(settings):
    s = settings  # failures 3, factor 4, min silence 6 h
    assert evaluate(_feed(enabled=False, disabled_reason="http_410"), NOW, s) == ("disabled", "http_410")
    assert evaluate(_feed(consecutive_errors=2, last_error_reason="timeout"), NOW, s, last_new=NOW - H)[0] == "ok"
    state, reason = evaluate(_feed(consecutive_errors=3, last_error_reason="timeout"), NOW, s, last_new=NOW - H)
    assert state == "failing" and "3 failed polls" in reason and "timeout" in reason
    # hourly feed (24/day): silent after max(4 x 1 h, 6 h) = 6 h without a new entry
    assert usual_interval_s(_feed()) == H
    assert evaluate(_feed(), NOW, s, last_new=NOW - 5 * H)[0] == "ok"
    state, reason = evaluate(_feed(), NOW, s, last_new=NOW - 7 * H)
    assert state == "silent" and "7.0 h" in reason and "1.0 h" in reason
    # a daily feed (1/day) is not silent after 2 days, is after 5
    daily = _feed(entries_per_day=1.0)
    assert evaluate(daily, NOW, s, last_new=NOW - 2 * 86400)[0] == "ok"
    assert evaluate(daily, NOW, s, last_new=NOW - 5 * 86400)[0] == "silent"
    # no learned rate, or no successful poll since the last entry: never silent
    assert evaluate(_feed(entries_per_day=None), NOW, s, last_new=NOW - 30 * 86400)[0] == "ok"
    assert evaluate(_feed(last_success=NOW - 8 * H), NOW, s, last_new=NOW - 7 * H)[0] == "ok"


class _Hook(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict] = []
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def hook():
    srv = _Hook()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def env(settings, redis_client, hook):
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:fh{uuid.uuid4().hex[:6]}",
                                    "feed_health_notify": [{"type": "webhook", "url": f"http://127.0.0.1:{hook.server_address[1]}/h"}],
                                    "notify_max_attempts": 1})
    yield FeedRegistry(redis_client, s), FeedHealth(redis_client, s), s
    for key in redis_client.scan_iter(f"{s.redis_key_prefix}:*", count=1000):
        redis_client.delete(key)


@pytest.mark.integration
def test_one_event_per_state_change_notified_and_cleared_on_recovery(env, hook):
    reg, health, _s = env
    feed = reg.add("https://news.example/rss", title="Example news", now=NOW - 86400)
    assert health.observe_and_notify(reg.get(feed.id), NOW) is None  # first state ok: nothing to clear
    for i in range(3):
        reg.record_error(feed.id, "timeout", now=NOW + i)
        event = health.observe_and_notify(reg.get(feed.id), NOW + i)
        assert (event is None) == (i < 2)
    assert event.state == "failing" and event.previous == "ok"
    reg.record_error(feed.id, "timeout", now=NOW + 10)
    assert health.observe_and_notify(reg.get(feed.id), NOW + 10) is None  # still failing: no storm
    reg.record_success(feed.id, now=NOW + 20)
    cleared = health.observe_and_notify(reg.get(feed.id), NOW + 20)
    assert cleared.cleared and cleared.previous == "failing"
    reg.disable(feed.id, "http_410")
    assert health.observe_and_notify(reg.get(feed.id), NOW + 30).state == "disabled"
    assert [e["state"] for e in health.events()] == ["disabled", "ok", "failing"]
    assert health.states()[feed.id]["state"] == "disabled" and health.states()[feed.id]["reason"] == "http_410"
    assert [b["event"]["feed_health"]["state"] for b in hook.bodies] == ["failing", "ok", "disabled"]
    assert hook.bodies[1]["article"]["title"] == "Feed Example news recovered"


@pytest.mark.integration
def test_concurrent_observers_raise_one_event(env, hook):
    reg, health, _s = env
    feed = reg.add("https://other.example/rss", now=NOW - 86400)
    reg.disable(feed.id, "manual")
    record = reg.get(feed.id)
    events = []
    threads = [threading.Thread(target=lambda: events.append(health.observe(record, NOW))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(e is not None for e in events) == 1 and len(health.events()) == 1


@pytest.mark.integration
def test_silence_from_the_learned_rate_and_recovery_on_new_entries(env, hook):
    reg, health, _s = env
    feed = reg.add("https://hourly.example/rss", now=NOW - 10 * 86400)
    reg.update(feed.id, entries_per_day=24.0)
    reg.record_success(feed.id, now=NOW - 8 * H)
    health.record_new_entries(feed.id, 3, now=NOW - 8 * H)
    reg.record_success(feed.id, now=NOW - 60)  # polls still succeed, nothing new
    silent = health.observe_and_notify(reg.get(feed.id), NOW)
    assert silent.state == "silent" and "8.0 h" in silent.reason
    health.record_new_entries(feed.id, 1, now=NOW + 30)
    assert health.observe_and_notify(reg.get(feed.id), NOW + 60).cleared
    assert [b["event"]["feed_health"]["state"] for b in hook.bodies] == ["silent", "ok"]


@pytest.mark.integration
def test_check_all_covers_every_feed_and_forgets_removed_ones(env, hook):
    reg, health, _s = env
    kept = reg.add("https://kept.example/rss", now=NOW - 86400)
    gone = reg.add("https://gone.example/rss", now=NOW - 86400)
    reg.disable(kept.id, "manual")
    reg.disable(gone.id, "manual")
    events = health.check_all(reg.list(), NOW)
    assert sorted(e.feed_id for e in events) == sorted([kept.id, gone.id])
    reg.remove(gone.id)
    assert health.check_all(reg.list(), NOW + 60) == []  # no change, no event
    assert set(health.states()) == {kept.id}
