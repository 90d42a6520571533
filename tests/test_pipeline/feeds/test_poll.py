"""poll_feed against a real local HTTP server (tests/httpserver.py) and the real Redis.

Covers: ETag/Last-Modified, a 200 that did not change, a 304 that hides a change, 301, 410,
429/503 with Retry-After, gzip, an XML entity bomb, an HTML page served as a feed, connect
errors and the SSRF guard, at-least-once hand-over of new entries, the adaptive interval.
"""
from __future__ import annotations

import random
import socket
import time
import uuid
from email.utils import formatdate

import pytest
from httpserver import Reply, local_server  # noqa: F401  (pytest fixture)

from pipeline.feeds.registry import VALIDATOR_CHECK_EVERY, FeedRegistry
from pipeline.fetch.http import GuardedClient
from pipeline.feeds.poll import is_check_poll, permanent_target, poll_feed, request_headers

pytestmark = pytest.mark.integration

T0 = 1_750_000_000.0  # a fixed "now" (2025-06-15) so schedules are exact


def rss(items: list[tuple[str, float]], *, title: str = "Valley Courier", ttl: int | None = None) -> bytes:
    """An RSS 2.0 document with (slug, published epoch) items."""
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl else ""
    body = "".join(
        f"<item><title>Story {slug}</title><link>http://news.example.test/{slug}</link>"
        f"<guid>http://news.example.test/{slug}</guid><pubDate>{formatdate(ts, usegmt=True)}</pubDate>"
        f"<description>About {slug}.</description></item>"
        for slug, ts in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://news.example.test/</link>{ttl_el}{body}</channel></rss>").encode()


FEED_V1 = rss([("a", T0 - 7200), ("b", T0 - 3600)])
FEED_V2 = rss([("a", T0 - 7200), ("b", T0 - 3600), ("c", T0 - 600)])
RSS_TYPE = "application/rss+xml; charset=utf-8"


@pytest.fixture
def registry(settings, redis_client):
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:poll:{uuid.uuid4().hex[:6]}"})
    return FeedRegistry(redis_client, s)


@pytest.fixture
def client(settings):
    c = GuardedClient(settings)
    yield c
    c.close()


def test_conditional_get_with_both_validators(local_server, registry, client, settings):
    local_server.add("/feed.xml", FEED_V1, content_type=RSS_TYPE, etag='"v1"', last_modified=T0 - 3600)
    feed = registry.add(local_server.url("/feed.xml"), now=T0)

    r1 = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r1.status == "ok" and r1.http_status == 200
    assert [ref.link for ref in r1.new] == ["http://news.example.test/a", "http://news.example.test/b"]
    assert r1.new[0].feed_id == feed.id and r1.new[0].summary == "About a."
    stored = registry.get(feed.id)
    assert stored.etag == '"v1"' and stored.last_modified == formatdate(T0 - 3600, usegmt=True)
    assert stored.title == "Valley Courier" and stored.body_hash
    first = local_server.last("/feed.xml")
    assert "if-none-match" not in first.headers
    assert "wirewatch" in first.headers["user-agent"].lower()

    r2 = poll_feed(registry, feed.id, client, settings, now=T0 + 600)
    assert r2.status == "not_modified" and r2.http_status == 304 and r2.new == []
    sent = local_server.last("/feed.xml").headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == formatdate(T0 - 3600, usegmt=True)
    assert registry.get(feed.id).last_status == "not_modified"

    # the feed changes: only the new entry comes out
    local_server.add("/feed.xml", FEED_V2, content_type=RSS_TYPE, etag='"v2"')
    r3 = poll_feed(registry, feed.id, client, settings, now=T0 + 1200)
    assert r3.status == "ok" and [ref.link for ref in r3.new] == ["http://news.example.test/c"]
    assert registry.get(feed.id).etag == '"v2"'
    assert registry.get(feed.id).last_modified is None  # the server stopped sending it
    assert T0 + 1200 + r3.interval_s <= r3.next_due <= T0 + 1200 + 1.1 * r3.interval_s  # schedule jitter


def test_lying_200_with_the_same_body_is_unchanged(local_server, registry, client, settings):
    # the server ignores validators and always answers 200 with the same body
    local_server.route("/feed.xml", lambda req: Reply(200, FEED_V1, RSS_TYPE, {"ETag": '"always"'}))
    feed = registry.add(local_server.url("/feed.xml"), now=T0)
    assert poll_feed(registry, feed.id, client, settings, now=T0).status == "ok"
    r2 = poll_feed(registry, feed.id, client, settings, now=T0 + 600)
    assert r2.status == "unchanged" and r2.http_status == 200 and r2.new == []
    assert local_server.last("/feed.xml").headers["if-none-match"] == '"always"'
    f = registry.get(feed.id)
    assert f.last_status == "unchanged" and f.consecutive_errors == 0 and f.total_entries == 2


def test_lying_304_is_caught_by_a_check_poll(local_server, registry, client, settings):
    state = {"body": FEED_V1}

    def liar(req):
        if req.headers.get("if-none-match"):
            return Reply(304, b"", None, {"ETag": '"frozen"'})  # says "not modified" whatever changed
        return Reply(200, state["body"], RSS_TYPE, {"ETag": '"frozen"'})

    local_server.route("/feed.xml", liar)
    feed = registry.add(local_server.url("/feed.xml"), now=T0)
    assert poll_feed(registry, feed.id, client, settings, now=T0).status == "ok"
    # a new story is published right after the first poll; the server keeps answering 304
    state["body"] = rss([("a", T0 - 7200), ("b", T0 - 3600), ("hidden", T0 + 60)])
    now = T0
    results = []
    for _ in range(VALIDATOR_CHECK_EVERY + 1):
        now += 600
        results.append(poll_feed(registry, feed.id, client, settings, now=now))
    assert [r.status for r in results[:-1]] == ["not_modified"] * VALIDATOR_CHECK_EVERY
    check = results[-1]
    assert check.check_poll and check.status == "ok" and check.validator_lie
    assert [r.link for r in check.new] == ["http://news.example.test/hidden"]
    assert "if-none-match" not in local_server.last("/feed.xml").headers
    f = registry.get(feed.id)
    assert f.validator_lies == 1 and not f.ignore_validators and f.polls_since_check == 0

    # a second lie turns the per-feed switch on: from then on no validators are sent
    state["body"] = rss([("a", T0 - 7200), ("hidden", T0 + 60), ("hidden2", now + 30)])
    now += 600
    assert poll_feed(registry, feed.id, client, settings, now=now).status == "not_modified"
    registry.update(feed.id, polls_since_check=VALIDATOR_CHECK_EVERY)
    now += 600
    r = poll_feed(registry, feed.id, client, settings, now=now)
    assert r.validator_lie and [x.link for x in r.new] == ["http://news.example.test/hidden2"]
    assert registry.get(feed.id).ignore_validators
    now += 600
    assert poll_feed(registry, feed.id, client, settings, now=now).status == "unchanged"
    assert "if-none-match" not in local_server.last("/feed.xml").headers


def test_per_feed_switch_ignores_validators(local_server, registry, client, settings):
    local_server.add("/feed.xml", FEED_V1, content_type=RSS_TYPE, etag='"v1"')
    feed = registry.add(local_server.url("/feed.xml"), now=T0)
    poll_feed(registry, feed.id, client, settings, now=T0)
    registry.set_ignore_validators(feed.id, True)
    r = poll_feed(registry, feed.id, client, settings, now=T0 + 600)
    assert r.status == "unchanged" and r.http_status == 200
    assert "if-none-match" not in local_server.last("/feed.xml").headers


def test_permanent_redirect_updates_the_url(local_server, registry, client, settings):
    local_server.add("/new.xml", FEED_V1, content_type=RSS_TYPE)
    local_server.route("/old.xml", lambda req: Reply(301, b"", None, {"Location": "/new.xml"}))
    local_server.route("/temp.xml", lambda req: Reply(302, b"", None, {"Location": "/new.xml"}))
    moved = registry.add(local_server.url("/old.xml"), now=T0)
    temp = registry.add(local_server.url("/temp.xml"), now=T0)

    r = poll_feed(registry, moved.id, client, settings, now=T0)
    assert r.status == "ok" and r.moved_to == local_server.url("/new.xml")
    f = registry.get(moved.id)
    assert f.url == local_server.url("/new.xml") and f.id == moved.id
    assert all(ref.feed_url == local_server.url("/new.xml") for ref in r.new)
    poll_feed(registry, moved.id, client, settings, now=T0 + 600)
    assert local_server.hits("/old.xml") == 1  # the next poll goes straight to the new URL

    r2 = poll_feed(registry, temp.id, client, settings, now=T0)
    assert r2.status == "ok" and r2.moved_to is None
    assert registry.get(temp.id).url == local_server.url("/temp.xml")  # 302: URL kept


def test_permanent_redirect_onto_a_known_feed_disables_the_duplicate(local_server, registry, client, settings):
    local_server.add("/main.xml", FEED_V1, content_type=RSS_TYPE)
    local_server.route("/alias.xml", lambda req: Reply(308, b"", None, {"Location": "/main.xml"}))
    main = registry.add(local_server.url("/main.xml"), now=T0)
    alias = registry.add(local_server.url("/alias.xml"), now=T0)
    r = poll_feed(registry, alias.id, client, settings, now=T0)
    assert r.status == "disabled" and r.reason == f"moved_to:{main.id}"
    f = registry.get(alias.id)
    assert not f.enabled and f.disabled_reason == f"moved_to:{main.id}"


def test_410_disables_the_feed_with_the_reason(local_server, registry, client, settings):
    feed = registry.add(local_server.url("/status/410"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r.status == "error" and r.reason == "gone" and r.http_status == 410
    f = registry.get(feed.id)
    assert not f.enabled and f.disabled_reason == "gone" and f.last_error_reason == "gone"
    assert feed.id in [x.id for x in registry.list()]  # never dropped
    again = poll_feed(registry, feed.id, client, settings, now=T0 + 600)
    assert again.status == "disabled" and again.reason == "gone"
    assert local_server.hits("/status/410") == 1  # a disabled feed is not fetched


@pytest.mark.parametrize("code", [429, 503])
def test_rate_limited_honours_retry_after(local_server, registry, client, settings, code):
    feed = registry.add(local_server.url(f"/status/{code}?retry_after=7200"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0, rng=random.Random(3))
    assert r.status == "error" and r.reason == "rate_limited"
    f = registry.get(feed.id)
    assert f.next_due >= T0 + 7200 and f.consecutive_errors == 1 and f.enabled
    assert registry.due(now=T0 + 7199) == []


def test_gzip_feed(local_server, registry, client, settings):
    local_server.add("/feed.xml", FEED_V2, content_type=RSS_TYPE, gzip_body=True)
    feed = registry.add(local_server.url("/feed.xml"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r.status == "ok" and len(r.new) == 3
    assert "gzip" in local_server.last("/feed.xml").headers["accept-encoding"]


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rss version="2.0"><channel><title>&d;</title><item><link>http://x.example.test/&d;</link></item></channel></rss>
"""


def test_xml_entity_bomb_is_a_recorded_error(local_server, registry, client, settings):
    local_server.add("/bomb.xml", ENTITY_BOMB, content_type=RSS_TYPE)
    feed = registry.add(local_server.url("/bomb.xml"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r.status == "error" and r.reason == "entity_bomb" and r.new == []
    f = registry.get(feed.id)
    assert f.last_error_reason == "entity_bomb" and f.consecutive_errors == 1 and f.enabled
    assert f.next_due > T0


def test_html_page_served_as_feed(local_server, registry, client, settings):
    feed = registry.add(local_server.url("/article"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r.status == "error" and r.reason == "not_a_feed"
    assert registry.get(feed.id).last_error_reason == "not_a_feed"


def test_connect_error_backs_off_and_keeps_the_feed(registry, client, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feed = registry.add(f"http://127.0.0.1:{port}/feed.xml", now=T0)
    rng = random.Random(5)
    r1 = poll_feed(registry, feed.id, client, settings, now=T0, rng=rng)
    r2 = poll_feed(registry, feed.id, client, settings, now=T0 + 1000, rng=rng)
    assert r1.reason == r2.reason == "connect_error"
    f = registry.get(feed.id)
    assert f.consecutive_errors == 2 and f.enabled and f.status == "failing"
    assert settings.poll_min_interval_s <= f.next_due - (T0 + 1000) <= 2 * settings.poll_min_interval_s


def test_ssrf_block_is_recorded(local_server, registry, settings):
    strict = settings.model_copy(update={"fetch_allow_hosts": []})
    with GuardedClient(strict) as c:
        feed = registry.add(local_server.url("/feed.xml"), now=T0)
        r = poll_feed(registry, feed.id, c, strict, now=T0)
    assert r.reason == "blocked"
    assert registry.get(feed.id).last_error_reason == "blocked"
    assert local_server.hits("/feed.xml") == 0


def test_new_entries_are_not_lost_when_the_handover_fails(local_server, registry, client, settings):
    local_server.add("/feed.xml", FEED_V1, content_type=RSS_TYPE, etag='"v1"')
    feed = registry.add(local_server.url("/feed.xml"), now=T0)

    def queue_down(refs):
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        poll_feed(registry, feed.id, client, settings, now=T0, on_new=queue_down)
    f = registry.get(feed.id)
    assert f.body_hash is None and f.etag is None and registry.seen_count(feed.id) == 0
    got = []
    r = poll_feed(registry, feed.id, client, settings, now=T0 + 60, on_new=got.extend)
    assert r.status == "ok" and [x.link for x in got] == [x.link for x in r.new] and len(got) == 2
    assert registry.seen_count(feed.id) == 2


def test_interval_adapts_and_respects_ttl(local_server, registry, client, settings):
    busy = rss([(f"s{i}", T0 - i * 600) for i in range(40)])  # one entry every 10 minutes
    local_server.add("/busy.xml", busy, content_type=RSS_TYPE)
    local_server.add("/ttl.xml", rss([(f"t{i}", T0 - i * 600) for i in range(40)], ttl=120), content_type=RSS_TYPE)
    local_server.add("/quiet.xml", rss([("old", T0 - 200 * 86_400)]), content_type=RSS_TYPE)
    busy_feed = registry.add(local_server.url("/busy.xml"), now=T0)
    ttl_feed = registry.add(local_server.url("/ttl.xml"), now=T0)
    quiet_feed = registry.add(local_server.url("/quiet.xml"), now=T0)
    assert poll_feed(registry, busy_feed.id, client, settings, now=T0).interval_s == settings.poll_min_interval_s
    assert poll_feed(registry, ttl_feed.id, client, settings, now=T0).interval_s == 120 * 60
    quiet = poll_feed(registry, quiet_feed.id, client, settings, now=T0)
    assert settings.poll_min_interval_s < quiet.interval_s <= settings.poll_max_interval_s
    # a feed that stays silent for days drifts to the maximum interval
    now = T0
    for _ in range(12):
        now += 86_400
        last = poll_feed(registry, quiet_feed.id, client, settings, now=now)
    assert last.status == "not_modified" or last.status == "unchanged"
    assert last.interval_s == settings.poll_max_interval_s
    # the ttl floor holds on 304s too
    assert poll_feed(registry, ttl_feed.id, client, settings, now=T0 + 7200).interval_s == 120 * 60


# ---- unit tests of the small rules --------------------------------------------------------------

def test_permanent_target():
    assert permanent_target("http://a.test/x", [(301, "http://b.test/y"), (308, "http://c.test/z")]) == "http://c.test/z"
    assert permanent_target("http://a.test/x", [(301, "http://b.test/y"), (302, "http://c.test/z")]) == "http://b.test/y"
    assert permanent_target("http://a.test/x", [(302, "http://b.test/y"), (301, "http://c.test/z")]) is None
    assert permanent_target("http://a.test/x", []) is None


def test_request_headers_and_check_rule():
    from pipeline.feeds.registry import Feed

    f = Feed(id="x", url="http://a.test/", etag='"e"', last_modified="Tue, 04 Jun 2024 08:30:00 GMT", body_hash="h")
    h = request_headers(f, use_validators=True)
    assert h["If-None-Match"] == '"e"' and h["If-Modified-Since"].startswith("Tue")
    assert "If-None-Match" not in request_headers(f, use_validators=False)
    now = time.time()
    f.last_full_fetch = now
    assert not is_check_poll(f, now)
    f.polls_since_check = VALIDATOR_CHECK_EVERY
    assert is_check_poll(f, now)
    f.polls_since_check = 0
    assert is_check_poll(f, now + 86_400)
    f.body_hash = None
    assert not is_check_poll(f, now + 86_400)  # nothing to compare with yet


@pytest.fixture
def feeds_cli(settings, registry, monkeypatch):
    """Invoke `wirewatch feeds ...` in-process on this test's registry; logs kept off stdout."""
    import json
    import logging
    import sys

    import structlog
    from typer.testing import CliRunner

    import wirewatch.commands.feeds as feeds_cmd
    from wirewatch.cli import app

    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    monkeypatch.setattr("wirewatch.cli.configure_logging", lambda *a, **k: None)
    monkeypatch.setattr(feeds_cmd, "get_settings", lambda: registry.settings)

    def invoke(*args):
        res = CliRunner().invoke(app, ["feeds", *args, "--format", "json"])
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)

    yield invoke
    structlog.configure(**saved)


def test_cli_poll_preview_marks_nothing_seen(local_server, registry, feeds_cli):
    local_server.add("/feed.xml", FEED_V1, content_type=RSS_TYPE, etag='"v1"')
    local_server.add("/other.xml", FEED_V2, content_type=RSS_TYPE)
    feed = registry.add(local_server.url("/feed.xml"))
    registry.add(local_server.url("/other.xml"))
    (res,) = feeds_cli("poll", feed.id, "--preview")
    assert res["status"] == "preview" and len(res["new"]) == 2
    assert registry.seen_count(feed.id) == 0 and registry.get(feed.id).etag is None
    due = feeds_cli("poll", "--due", "--preview")
    assert sorted(len(r["new"]) for r in due) == [2, 3]


def test_304_to_an_unconditional_request_is_an_error(local_server, registry, client, settings):
    local_server.route("/feed.xml", lambda req: Reply(304, b"", None))
    feed = registry.add(local_server.url("/feed.xml"), now=T0)
    r = poll_feed(registry, feed.id, client, settings, now=T0)
    assert r.status == "error" and r.reason == "unexpected_304"
    assert registry.get(feed.id).last_error_reason == "unexpected_304"


def test_removed_feed_is_a_result_not_a_crash(registry, client, settings):
    r = poll_feed(registry, "0123456789abcdef", client, settings, now=T0)
    assert r.status == "missing" and r.reason == "feed_not_found" and r.new == []
