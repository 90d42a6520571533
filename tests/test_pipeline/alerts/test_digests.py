"""Alert modes (article / story / digest) and digests (pipeline/alerts/digests.py) against the real
search engine and Redis, with real HTTP receivers; the kill test SIGKILLs a sending process
mid-send and checks the period is still delivered once per channel."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.alerts.percolate import match_alerts
from pipeline.alerts.digests import (
    DigestLedger,
    build_digest,
    due_periods,
    last_completed,
    period_bounds,
    send_digest,
)
from pipeline.index.engine import SearchEngine
from pipeline.index.bulk import index_batch
from pipeline.alerts.searches import SavedSearch, SavedSearchStore

REPO = Path(__file__).resolve().parents[3]
UTC = timezone.utc


def test_hourly_and_daily_periods_follow_the_time_zone():
    at = datetime(2026, 3, 29, 10, 30, tzinfo=UTC)  # Europe/Paris switches to summer time this day
    assert period_bounds("hourly", "UTC", at) == (datetime(2026, 3, 29, 10, tzinfo=UTC), datetime(2026, 3, 29, 11, tzinfo=UTC))
    start, end = period_bounds("daily", "Europe/Paris", at)
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC) and end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # a 23-hour day
    assert period_bounds("daily", "America/Mexico_City", at)[0] == datetime(2026, 3, 29, 6, tzinfo=UTC)
    assert last_completed("hourly", "UTC", at) == (datetime(2026, 3, 29, 9, tzinfo=UTC), datetime(2026, 3, 29, 10, tzinfo=UTC))
    with pytest.raises(ValueError):
        period_bounds("weekly", "UTC", at)


def test_saved_search_refuses_an_unknown_time_zone():
    with pytest.raises(ValueError, match="IANA"):
        SavedSearch(name="x", query="y", alert_mode="digest", digest_timezone="Mars/Olympus")


def test_only_ended_periods_of_enabled_digest_searches_after_creation_are_due():
    now = datetime(2026, 5, 2, 9, 0, 30, tzinfo=UTC)  # 30 s after the hour: inside the grace
    hourly = SavedSearch(name="h", query="q", alert_mode="digest", digest_period="hourly", created_at="2026-05-01T00:00:00+00:00")
    daily = SavedSearch(name="d", query="q", alert_mode="digest", created_at="2026-05-01T12:00:00+00:00")
    fresh = SavedSearch(name="f", query="q", alert_mode="digest", created_at="2026-05-02T08:00:00+00:00")
    other = SavedSearch(name="o", query="q", alert_mode="story")
    due = {s.id: (a, b) for s, a, b in due_periods([hourly, daily, fresh, other], now)}
    assert due["h"] == (datetime(2026, 5, 2, 7, tzinfo=UTC), datetime(2026, 5, 2, 8, tzinfo=UTC))  # 8-9 not past grace
    assert due["d"] == (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC))
    assert "f" not in due and "o" not in due


# --- receivers -----------------------------------------------------------------------------

class Receiver(ThreadingHTTPServer):
    """Records POSTs; ``stall_first``: the first request is held until :attr:`release` is set,
    then its connection is closed unanswered (a receiver that never accepted it)."""

    daemon_threads = True

    def __init__(self, stall_first: bool = False):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.accepted: list[dict] = []
        self.stall_first = stall_first
        self.release = threading.Event()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv = self.server
        entry = {"delivery": self.headers.get("X-Wirewatch-Delivery"), "body": json.loads(body)}
        srv.requests.append(entry)
        if srv.stall_first and len(srv.requests) == 1:
            srv.release.wait(60)
            self.close_connection = True
            return
        srv.accepted.append(entry)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture()
def receivers():
    made = []

    def make(**kw):
        r = Receiver(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.release.set()
        r.shutdown()
        r.server_close()


@pytest.fixture()
def dsettings(settings, request):
    tag = request.node.name[-12:].lower().replace("_", "")
    return settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-dg{tag}",
                                       "redis_key_prefix": f"{settings.redis_key_prefix}:dg{tag}",
                                       "notify_max_attempts": 1, "notify_timeout_s": 30.0, "digest_lease_s": 2.0})


@pytest.fixture()
def engine(dsettings, search_url):
    eng = SearchEngine.from_settings(dsettings)
    eng.ensure_setup()
    yield eng
    eng.delete_all()
    eng.close()


def _doc(aid, story, title, domain, published, quote=None):
    return {"id": aid, "title": title, "body": f"{title}. Officials described the earthquake damage.",
            "url": f"https://{domain}/{aid}", "published_at": published, "source": {"domain": domain},
            "story": {"id": story}, "dedupe": {"cluster_id": aid, "duplicate_of": None},
            "quotes": [{"text": quote, "speaker": "Selim Arkan"}] if quote else [], "topics": [], "countries": ["TR"]}


DOCS = [_doc("q1", "s-quake", "Quake kills 14 in Malatya", "one.example", "2026-03-02T04:40:00Z", "Our teams are working"),
        _doc("q2", "s-quake", "Death toll rises after eastern Turkey earthquake", "two.example", "2026-03-02T06:05:00Z"),
        _doc("q3", "s-izmir", "Earthquake shakes Izmir, no casualties", "three.example", "2026-03-02T07:00:00Z")]
MATCHED = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


@pytest.mark.integration
def test_alert_modes_article_story_and_digest(engine, dsettings, receivers):
    hook = receivers()
    store = SavedSearchStore(engine, dsettings)
    for name, mode in (("per article", "article"), ("per story", "story"), ("digest", "digest")):
        store.add(SavedSearch(name=name, query="earthquake OR quake", alert_mode=mode, digest_period="hourly",
                              notify=[{"type": "webhook", "url": hook.url}]))
    index_batch(engine, DOCS, refresh=True)
    events = match_alerts(engine, DOCS, now=MATCHED, refresh=True)
    by = {}
    for e in events:
        by.setdefault(e.search_id, []).append(e)
    assert len(by["per-article"]) == 3  # one per cluster of copies
    assert sorted(e.story_id for e in by["per-story"]) == ["s-izmir", "s-quake"]  # once per story
    assert all(not e.notify and e.notified_at and e.mode == "digest" for e in by["digest"])  # recorded, not sent now
    # a later article of a story already alerted: nothing more for the story search
    later = _doc("q4", "s-quake", "Survivors pulled from rubble after quake", "four.example", "2026-03-02T09:30:00Z")
    index_batch(engine, [later], refresh=True)
    again = match_alerts(engine, [later], now=MATCHED, refresh=True)
    assert sorted(e.search_id for e in again) == ["digest", "per-article"]


@pytest.mark.integration
def test_digest_groups_by_story_and_is_sent_once(engine, dsettings, redis_client, receivers):
    hook = receivers()
    search = SavedSearchStore(engine, dsettings).add(SavedSearch(name="digest", query="earthquake OR quake", alert_mode="digest",
                                                      digest_period="hourly", notify=[{"type": "webhook", "url": hook.url}]))
    index_batch(engine, DOCS, refresh=True)
    match_alerts(engine, DOCS, now=MATCHED, refresh=True)
    start, end = period_bounds("hourly", "UTC", MATCHED)
    digest = build_digest(engine, search, start, end)
    assert digest["articles"] == 3 and digest["story_count"] == 2
    quake = digest["stories"][0]
    assert quake["story_id"] == "s-quake" and quake["count"] == 2 and quake["outlets"] == ["one.example", "two.example"]
    assert quake["newest"]["title"] == "Death toll rises after eastern Turkey earthquake"
    assert quake["quotes"] == [{"speaker": "Selim Arkan", "text": "Our teams are working"}]
    first = send_digest(engine, redis_client, dsettings, search, start, end)
    second = send_digest(engine, redis_client, dsettings, search, start, end)
    assert first.status == "sent" and first.channels_sent == [0] and second.status == "already"
    assert len(hook.accepted) == 1
    body = hook.accepted[0]["body"]
    assert body["event"]["kind"] == "digest" and body["event"]["digest"]["story_count"] == 2
    # an empty period is recorded and sends nothing
    empty = send_digest(engine, redis_client, dsettings, search, end, end.replace(hour=end.hour + 1))
    assert empty.status == "empty" and len(hook.requests) == 1


@pytest.mark.integration
def test_two_senders_at_once_send_one_digest(engine, dsettings, redis_client, receivers):
    hook = receivers()
    search = SavedSearchStore(engine, dsettings).add(SavedSearch(name="digest", query="earthquake", alert_mode="digest",
                                                      digest_period="hourly", notify=[{"type": "webhook", "url": hook.url}]))
    index_batch(engine, DOCS, refresh=True)
    match_alerts(engine, DOCS, now=MATCHED, refresh=True)
    start, end = period_bounds("hourly", "UTC", MATCHED)
    results = []
    threads = [threading.Thread(target=lambda: results.append(send_digest(engine, redis_client, dsettings, search, start, end)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status for r in results) in (["busy", "sent"], ["already", "sent"])
    assert len(hook.requests) == 1


_SENDER = """
import sys
from datetime import datetime
from pipeline.settings import Settings
from pipeline.index.engine import SearchEngine
from pipeline.alerts.searches import SavedSearchStore
from pipeline.alerts.digests import send_digest
import redis
s = Settings()
eng = SearchEngine.from_settings(s)
search = SavedSearchStore(eng, s).get(sys.argv[1])
start, end = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
print(send_digest(eng, redis.Redis.from_url(s.redis_url), s, search, start, end).status, flush=True)
"""


@pytest.mark.integration
def test_sender_killed_mid_send_is_taken_over_and_each_channel_gets_the_period_once(engine, dsettings, redis_client, receivers):
    fast, stalling = receivers(), receivers(stall_first=True)
    search = SavedSearchStore(engine, dsettings).add(SavedSearch(
        name="digest", query="earthquake OR quake", alert_mode="digest", digest_period="hourly",
        notify=[{"type": "webhook", "url": fast.url}, {"type": "webhook", "url": stalling.url}]))
    index_batch(engine, DOCS, refresh=True)
    match_alerts(engine, DOCS, now=MATCHED, refresh=True)
    start, end = period_bounds("hourly", "UTC", MATCHED)
    env = {**os.environ, "WIREWATCH_REDIS_KEY_PREFIX": dsettings.redis_key_prefix, "WIREWATCH_INDEX_PREFIX": dsettings.index_prefix,
           "WIREWATCH_NOTIFY_MAX_ATTEMPTS": "1", "WIREWATCH_NOTIFY_TIMEOUT_S": "30", "WIREWATCH_DIGEST_LEASE_S": "2",
           "WIREWATCH_LOG_LEVEL": "WARNING", "WIREWATCH_NOTIFY_ALLOW_HOSTS": '["127.0.0.1"]'}  # the local receivers
    proc = subprocess.Popen([sys.executable, "-c", _SENDER, search.id, start.isoformat(), end.isoformat()],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not stalling.requests and time.monotonic() < deadline:  # channel 1 is being sent
            time.sleep(0.05)
        assert stalling.requests, proc.stderr.read1().decode() if proc.poll() is not None else "no request"
        os.kill(proc.pid, signal.SIGKILL)  # the worker dies mid-send
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stalling.release.set()
    ledger = DigestLedger(redis_client, dsettings)
    state = ledger.state(search.id, start.isoformat(timespec="seconds"))
    assert state["status"] == "sending" and state["channels_done"] == [0]
    # while the dead sender's lease runs, a restarted beat/worker does nothing
    assert send_digest(engine, redis_client, dsettings, search, start, end).status == "busy"
    time.sleep(2.2)  # lease (digest_lease_s = 2) expires
    taken = send_digest(engine, redis_client, dsettings, search, start, end)
    assert taken.status == "sent" and taken.channels_sent == [1]
    assert send_digest(engine, redis_client, dsettings, search, start, end).status == "already"
    assert len(fast.requests) == 1 and len(fast.accepted) == 1  # channel 0 was not sent again
    assert len(stalling.accepted) == 1  # channel 1: accepted once, by the sender that took over
    assert len({r["delivery"] for r in stalling.requests + fast.requests}) == 1  # one delivery id per period
    assert stalling.requests[0]["body"] == stalling.accepted[0]["body"]  # the same digest


@pytest.mark.integration
def test_real_worker_killed_mid_send_then_restarted_by_beat_sends_the_period_once(engine, dsettings, redis_client, receivers, tmp_path):
    """Real processes: `wirewatch worker` (alerts queue) and `wirewatch beat` (send_digests every
    second). The worker is SIGKILLed while its webhook delivery hangs; after a restart, beat's next
    ticks have the new worker take the period over once its lease (3 s) expires; later ticks send
    nothing more."""
    from datetime import timedelta

    from wirewatch.processes import start_processes

    hook = receivers(stall_first=True)
    now = datetime.now(UTC)
    start, end = last_completed("hourly", "UTC", now - timedelta(seconds=90))
    search = SavedSearchStore(engine, dsettings).add(SavedSearch(
        name="digest", query="earthquake OR quake", alert_mode="digest", digest_period="hourly",
        created_at=(start - timedelta(hours=3)).isoformat(), notify=[{"type": "webhook", "url": hook.url}]))
    index_batch(engine, DOCS, refresh=True)
    match_alerts(engine, DOCS, now=start + timedelta(minutes=5), refresh=True)
    env = {"WIREWATCH_DIGEST_CHECK_INTERVAL_S": "1", "WIREWATCH_DIGEST_LEASE_S": "3", "WIREWATCH_NOTIFY_MAX_ATTEMPTS": "1",
           "WIREWATCH_NOTIFY_TIMEOUT_S": "60", "WIREWATCH_METRICS_PORT": "-1", "WIREWATCH_STATE_DIR": str(tmp_path)}
    layout = ({"name": "alerts", "queues": "alerts", "pool": "threads", "concurrency": 2},)
    group = start_processes(dsettings, env=env, layout=layout, beat=True, log_dir=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not hook.requests and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hook.requests, (tmp_path / "alerts.log").read_text()[-2000:]
        os.kill(group.procs["alerts"].pid, signal.SIGKILL)  # the worker dies mid-send
        group.procs["alerts"].wait(10)
        hook.release.set()  # the hung delivery is dropped unanswered
        assert group.restart_exited() == ["alerts"]
        deadline = time.monotonic() + 120
        while not hook.accepted and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(hook.accepted) == 1, (tmp_path / "alerts.log").read_text()[-2000:]
        time.sleep(5)  # several more beat ticks
    finally:
        group.stop()
    assert len(hook.accepted) == 1 and len(hook.requests) == 2
    assert hook.requests[0]["delivery"] == hook.accepted[0]["delivery"]
    state = DigestLedger(redis_client, dsettings).state(search.id, start.isoformat(timespec="seconds"))
    assert state["status"] == "sent" and state["digest"]["articles"] == 3


@pytest.mark.integration
def test_cli_searches_add_alert_mode_and_alerts_digest(engine, dsettings, redis_client, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.logs import configure_logging
    from pipeline.settings import get_settings
    from wirewatch.cli import app

    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", dsettings.index_prefix)
    monkeypatch.setenv("WIREWATCH_REDIS_KEY_PREFIX", dsettings.redis_key_prefix)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(app, ["searches", "add", "Quakes", "--query", "earthquake OR quake", "--alert-mode", "digest",
                                  "--digest-period", "hourly", "--digest-timezone", "Asia/Kolkata", "--format", "json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["alert_mode"] == "digest"
        bad = runner.invoke(app, ["searches", "add", "Bad", "--query", "x", "--digest-timezone", "Nowhere/Else"])
        assert bad.exit_code != 0 and "IANA" in bad.output
        index_batch(engine, DOCS, refresh=True)
        match_alerts(engine, DOCS, now=MATCHED, refresh=True)
        res = runner.invoke(app, ["alerts", "digest", "--search", "quakes", "--period", MATCHED.isoformat(), "--format", "json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        # Asia/Kolkata is UTC+5:30: 07:30 UTC is 13:00 local, so its local hour runs 07:30-08:30 UTC
        assert out["start"] == "2026-03-02T07:30:00+00:00" and out["end"] == "2026-03-02T08:30:00+00:00"
        assert out["timezone"] == "Asia/Kolkata"
        assert out["articles"] == 3 and out["story_count"] == 2 and out["status"] == "not sent yet"
    finally:
        get_settings.cache_clear()
        configure_logging("INFO", "json")
