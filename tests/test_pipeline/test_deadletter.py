"""Dead-letter store against the real Redis (per-session key prefix)."""
from __future__ import annotations

import uuid

import pytest

from pipeline.deadletter import DeadLetterError, DeadLetters

pytestmark = pytest.mark.integration


@pytest.fixture()
def dlq(redis_client, settings):
    """A store under a per-test prefix so counts start at zero."""
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:{uuid.uuid4().hex[:6]}"})
    store = DeadLetters(redis_client, s)
    yield store
    store.purge()


def test_add_get_list_count(dlq):
    a = dlq.add("task", {"task": "enrich", "article_id": "a1"}, reason="poison", error="ValueError: boom", attempts=3)
    b = dlq.add("notification", {"channel": {"type": "webhook"}}, reason="http_5xx", error="503", attempts=5)
    c = dlq.add("task", {"task": "index", "ids": ["x"]}, reason="engine_error", error="down", attempts=1)
    entry = dlq.get(a)
    assert entry["kind"] == "task" and entry["payload"] == {"task": "enrich", "article_id": "a1"}
    assert entry["reason"] == "poison" and entry["attempts"] == 3 and entry["error"] == "ValueError: boom"
    assert entry["created_at"].endswith("+00:00")
    assert dlq.count() == 3 and dlq.count("task") == 2 and dlq.count("notification") == 1
    assert [e["id"] for e in dlq.list()] == [a, b, c]  # oldest first
    assert [e["id"] for e in dlq.list(kind="task")] == [a, c]
    assert [e["id"] for e in dlq.list(limit=1)] == [a]
    assert dlq.kinds() == {"notification": 1, "task": 2}
    assert dlq.get("nope") is None


def test_remove_and_purge_by_kind(dlq):
    ids = [dlq.add("task", {"n": i}, reason="r") for i in range(5)]
    n_id = dlq.add("notification", {"n": 9}, reason="r")
    assert dlq.remove(ids[0]) is True
    assert dlq.remove(ids[0]) is False
    assert dlq.count("task") == 4
    assert dlq.purge("task") == 4
    assert dlq.count() == 1 and dlq.get(n_id)["payload"] == {"n": 9}
    assert dlq.purge() == 1 and dlq.count() == 0 and dlq.kinds() == {}


def test_replay_removes_only_on_success(dlq):
    entry_id = dlq.add("task", {"article_id": "a9"}, reason="poison", error="boom", attempts=2)
    seen = []

    def failing(payload):
        seen.append(payload)
        raise RuntimeError("still broken")

    with pytest.raises(RuntimeError):
        dlq.replay(entry_id, failing)
    kept = dlq.get(entry_id)
    assert kept is not None and kept["replays"] == 1
    assert kept["last_replay_error"] == "RuntimeError: still broken"
    replayed = dlq.replay(entry_id, seen.append)
    assert replayed["id"] == entry_id
    assert seen == [{"article_id": "a9"}, {"article_id": "a9"}]
    assert dlq.get(entry_id) is None and dlq.count() == 0


def test_replay_missing_and_locked(dlq, redis_client):
    with pytest.raises(DeadLetterError) as err:
        dlq.replay("0000-none", lambda p: None)
    assert err.value.reason == "not_found"
    entry_id = dlq.add("task", {"x": 1}, reason="r")
    redis_client.set(dlq._lock_key(entry_id), b"1", ex=30)
    with pytest.raises(DeadLetterError) as err:
        dlq.replay(entry_id, lambda p: None)
    assert err.value.reason == "locked"
    assert dlq.get(entry_id) is not None
    redis_client.delete(dlq._lock_key(entry_id))


def test_bad_kind_and_unserialisable_payload(dlq):
    with pytest.raises(DeadLetterError):
        dlq.add("a b", {}, reason="r")
    with pytest.raises(DeadLetterError):
        dlq.add("task:*", {}, reason="r")
    with pytest.raises(TypeError):
        dlq.add("task", {"obj": object()}, reason="r")
    assert dlq.count() == 0


def test_long_error_is_cut(dlq):
    entry_id = dlq.add("article", {"id": "z"}, reason="enrich_crash", error="x" * 10_000)
    assert len(dlq.get(entry_id)["error"]) == 4000


def test_kind_families(dlq):
    a = dlq.add("task:wirewatch.enrich", {"args": ["a1"]}, reason="poison")
    b = dlq.add("task", {"x": 1}, reason="r")
    c = dlq.add("task:wirewatch.index_batch", {"args": [["a2"]]}, reason="engine_error")
    dlq.add("tasks", {"x": 2}, reason="r")  # same start, different family
    dlq.add("notification", {"x": 3}, reason="r")
    assert [e["id"] for e in dlq.list(kind="task")] == [a, b, c]
    assert dlq.count("task") == 3 and dlq.count("task:wirewatch.enrich") == 1
    assert dlq.kinds() == {"notification": 1, "task": 1, "task:wirewatch.enrich": 1, "task:wirewatch.index_batch": 1, "tasks": 1}
    assert [e["id"] for e in dlq.list(kind="task", limit=2, offset=1)] == [b, c]
    assert dlq.purge("task") == 3 and dlq.count() == 2


# --- the `wirewatch dlq` commands ------------------------------------------------------------
@pytest.fixture()
def cli(monkeypatch, dlq):
    """Run `wirewatch ...` with settings pointing at the test store's prefix."""
    import json as _json

    from typer.testing import CliRunner

    from pipeline.logs import configure_logging
    from pipeline.settings import get_settings
    from wirewatch.cli import app

    monkeypatch.setenv("WIREWATCH_REDIS_KEY_PREFIX", dlq.prefix[: -len(":dlq")])
    monkeypatch.setenv("WIREWATCH_NOTIFY_ALLOW_HOSTS", '["127.0.0.1"]')  # the test's local webhook receiver
    get_settings.cache_clear()

    def run(*args, code=0):
        result = CliRunner().invoke(app, list(args))
        # the CLI configured structlog onto CliRunner's (now closed) stderr: point it back
        configure_logging("INFO", "json")
        assert result.exit_code == code, result.output
        return _json.loads(result.stdout) if "--format" in args else result.output

    yield run
    get_settings.cache_clear()


def test_cli_list_show_purge(cli, dlq):
    a = dlq.add("task:wirewatch.enrich", {"task": "wirewatch.enrich", "args": ["a1"], "kwargs": {}}, reason="poison", error="boom")
    dlq.add("notification", {"x": 1}, reason="http_5xx")
    out = cli("dlq", "list", "--format", "json")
    assert out["total"] == 2 and out["kinds"] == {"notification": 1, "task:wirewatch.enrich": 1}
    assert cli("dlq", "list", "--kind", "task", "--format", "json")["entries"][0]["id"] == a
    assert "poison" in cli("dlq", "list")
    assert cli("dlq", "show", a, "--format", "json")["error"] == "boom"
    cli("dlq", "show", "nope", code=1)
    assert cli("dlq", "purge", "--kind", "task", "--yes", "--format", "json") == {"purged": 1, "kind": "task"}
    assert dlq.count() == 1


def test_cli_replay_notification_and_unknown_kind(cli, dlq, settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            hits.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
        good = dlq.add("notification", {"event": {"search_id": "s1", "article_id": "a1"}, "article": {"id": "a1", "title": "T"},
                                        "channel": {"type": "webhook", "url": url}, "channel_index": 0, "redacted": []},
                       reason="connect_error")
        odd = dlq.add("mystery", {"x": 1}, reason="r")
        out = cli("dlq", "replay", "--all", "--format", "json", code=1)
        by_id = {r["id"]: r for r in out["results"]}
        assert by_id[good]["ok"] is True and len(hits) == 1
        assert by_id[odd]["ok"] is False and "no replay handler for kind 'mystery'" in by_id[odd]["error"]
        assert dlq.get(good) is None and dlq.get(odd) is not None
        cli("dlq", "replay", code=1)  # neither an id nor --all
    finally:
        srv.shutdown()
        srv.server_close()


def test_register_replay_handler(cli, dlq):
    from workers import replay

    seen = []
    shipped = replay.REPLAY_HANDLERS["doc"]
    replay.register_replay_handler("doc", lambda settings: seen.append)
    try:
        entry_id = dlq.add("doc", {"id": "d1"}, reason="payload_missing")
        out = cli("dlq", "replay", entry_id, "--format", "json")
        assert out["replayed"] == 1 and seen == [{"id": "d1"}] and dlq.count() == 0
    finally:
        replay.register_replay_handler("doc", shipped)
