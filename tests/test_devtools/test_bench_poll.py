"""Tests for ``wirewatch bench poll`` (wirewatch/devtools/bench/poll.py): the feed server's HTTP answers,
the feed data, and a small real run (real Redis, real worker processes). No timing assertions."""
from __future__ import annotations

import hashlib
import json
import socket

import httpx
import pytest
from typer.testing import CliRunner

from wirewatch.devtools.bench import poll as bench

KEYS = ("feeds", "feeds_per_s", "p95_s", "peak_rss_mb")


def test_changed_share_and_validators_mix():
    n = 10_000
    changed = sum(bench.is_changed(i, 0.03) for i in range(n))
    assert 280 <= changed <= 320
    assert not any(bench.is_changed(i, 0.0) for i in range(100))
    kinds = [bench.validators_kind(i) for i in range(n)]
    assert kinds.count("etag") == kinds.count("lm") == n // 10
    for i in range(20):
        etag, lm = bench.feed_validators(i, 1)
        assert etag or lm
        assert bench.feed_validators(i, 2) != (etag, lm)


def test_feed_bodies_parse_and_version_two_adds_entries():
    from pipeline.feeds.parse import parse_feed

    v1 = parse_feed(bench.feed_body(7, 1), feed_url="http://127.0.0.1/feeds/7.xml", feed_id="f7")
    v2 = parse_feed(bench.feed_body(7, 2), feed_url="http://127.0.0.1/feeds/7.xml", feed_id="f7")
    assert [e.guid for e in v1.entries] == bench.feed_guids(7, 1)
    assert len(v2.entries) == bench.ENTRIES_PER_FEED + bench.NEW_ENTRIES
    assert set(bench.feed_guids(7, 1)) < {e.guid for e in v2.entries}
    assert bench.feed_body(7, 1) == bench.feed_body(7, 1)  # deterministic across processes


def test_header_lookup():
    rest = b'Host: x\r\nIf-None-Match: "a", "b"\r\nIf-Modified-Since: Tue'
    lower = rest.lower()
    assert bench._header(rest, lower, b"if-none-match") == b'"a", "b"'
    assert bench._header(rest, lower, b"if-modified-since") == b"Tue"
    assert bench._header(rest, lower, b"host") == b"x"
    assert bench._header(rest, lower, b"etag") is None


def test_feed_server_answers_conditional_gets():
    changed_i = next(i for i in range(100) if bench.is_changed(i, 0.03) and bench.validators_kind(i) == "both")
    lm_only = next(i for i in range(100) if not bench.is_changed(i, 0.03) and bench.validators_kind(i) == "lm")
    with bench.FeedServer(100, 0.03) as srv, httpx.Client() as c:
        r = c.get(srv.url(2))
        assert r.status_code == 200 and r.content == bench.feed_body(2, 1)
        etag, lm = bench.feed_validators(2, 1)
        assert r.headers["etag"] == etag and r.headers["last-modified"] == lm
        r = c.get(srv.url(2), headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag and r.content == b""
        r = c.get(srv.url(2), headers={"If-None-Match": '"other"', "If-Modified-Since": lm})
        assert r.status_code == 200  # If-None-Match wins (RFC 9110 13.2.2)
        _, lm2 = bench.feed_validators(lm_only, 1)
        assert c.get(srv.url(lm_only), headers={"If-Modified-Since": lm2}).status_code == 304
        # a changed feed answers its old validators with the new body
        old_etag, _ = bench.feed_validators(changed_i, 1)
        r = c.get(srv.url(changed_i), headers={"If-None-Match": old_etag})
        assert r.status_code == 200 and r.content == bench.feed_body(changed_i, 2)
        assert c.get("http://127.0.0.1:%d/nope" % srv.port).status_code == 404
        # pipelined requests on one raw connection are answered in order
        s = socket.create_connection(("127.0.0.1", srv.port))
        req = f"GET /feeds/2.xml HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n".encode()
        s.sendall(req * 3)
        data = b""
        while data.count(b"\r\n\r\n") < 3:
            data += s.recv(65536)
        s.close()
        assert data.count(b"HTTP/1.1 304") == 3
        counts = srv.counts()
        assert counts["requests"] == 9
        assert counts["not_modified_304"] == 5 and counts["not_found_404"] == 1
        assert bench.probe_capacity(srv, seconds=0.3, conns=2, depth=2) > 0


def test_poll_latencies_prefer_poll_result_lines(tmp_path):
    a = tmp_path / "a.log"
    a.write_text('{"status": "not_modified", "elapsed_s": 0.004, "event": "feed_poll_done", "level": "info"}\n'
                 "[x] Task wirewatch.poll_feed[ab] succeeded in 0.5s: 0\n"
                 '{"event": "feed_poll_done", "elapsed_s": 0.02}\n')
    values, source = bench.poll_latencies([a])
    assert sorted(values) == [0.004, 0.02] and source.startswith("PollResult.elapsed_s")
    b = tmp_path / "b.log"
    b.write_text("[x] Task wirewatch.poll_feed[ab] succeeded in 0.5s: 0\n")
    values, source = bench.poll_latencies([b])
    assert values == [0.5] and "celery" in source
    assert bench.poll_latencies([tmp_path / "none.log"]) == ([], "")


def test_percentile_and_log_parsing(tmp_path):
    log = tmp_path / "w.log"
    log.write_text(
        "[x] Task wirewatch.poll_feed[ab-12] succeeded in 0.0125s: 0\n"
        "[x] Task wirewatch.poll_due_feeds[cd] succeeded in 0.5s: 500\n"
        "[x] Task wirewatch.poll_feed[ef] succeeded in 0.25s: 2\n")
    assert sorted(bench.task_runtimes([log, tmp_path / "missing.log"])) == [0.0125, 0.25]


@pytest.mark.integration
def test_small_run_polls_every_feed_and_cleans_up(settings, redis_client):
    result = bench.run(settings, n_feeds=300, workers=1, concurrency=4)
    for key in KEYS:
        assert result[key] is not None, key
    assert result["feeds"] == result["expected"] == 300
    assert sum(result["statuses"].values()) == 300
    changed = sum(bench.is_changed(i, bench.DEFAULT_CHANGED) for i in range(300))
    # the seeded validators make every unchanged feed a 304 and every changed one a 200 with 2 new entries
    assert result["statuses"].get("not_modified") == 300 - changed
    assert result["statuses"].get("ok") == changed
    assert result["new_entries"] == changed * bench.NEW_ENTRIES
    assert result["errors"] == {}
    assert result["server"]["requests"] == 300
    assert result["latencies"] == 300
    assert result["p95_source"].startswith("PollResult.elapsed_s")
    assert result["feeds_per_s"] > 0 and result["p95_s"] > 0 and result["peak_rss_mb"] > 0
    assert result["server"]["capacity_rps"] > 0
    assert not list(redis_client.scan_iter(f"{settings.redis_key_prefix}:benchpoll:*"))


@pytest.mark.integration
def test_cli_json_writes_result(settings, redis_client, tmp_path, monkeypatch):
    from pipeline import settings as settings_mod
    from wirewatch.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIREWATCH_REDIS_KEY_PREFIX", settings.redis_key_prefix)
    settings_mod.get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["bench", "poll", "--feeds", "60", "--workers", "1", "--concurrency", "2",
                                       "--format", "json"])
    finally:
        settings_mod.get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout[out.stdout.index("{"):])
    written = json.loads((tmp_path / "bench-results" / "poll.json").read_text())
    assert printed["feeds"] == written["feeds"] == 60
    assert all(k in written for k in KEYS)
    assert not list(redis_client.scan_iter(f"{settings.redis_key_prefix}:benchpoll:*"))
