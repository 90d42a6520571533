"""Tests of pipeline.feeds.registry: URL identity and scheduling rules (unit), the registry on the real Redis (integration)."""
from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from pipeline.feeds.registry import (
    DEFAULT_INTERVAL_S,
    SEEN_PER_FEED,
    Feed,
    FeedNotFound,
    FeedRegistry,
    adaptive_interval,
    backoff_delay,
    entries_per_day_from_dates,
    feed_id_for,
    normalize_feed_url,
    update_entries_per_day,
)

MIN, MAX = 300, 86_400


# ------------------------------------------------------------------------------------------
# unit: URLs
# ------------------------------------------------------------------------------------------

def test_normalize_feed_url():
    assert normalize_feed_url("  HTTP://News.Example.COM:80/Feed.xml?A=1#top ") == "http://news.example.com/Feed.xml?A=1"
    assert normalize_feed_url("https://x.example:443") == "https://x.example/"
    assert normalize_feed_url("https://x.example:8443/a") == "https://x.example:8443/a"
    assert normalize_feed_url("feed://x.example/rss") == "http://x.example/rss"
    for bad in ("ftp://x.example/a", "/relative", "", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            normalize_feed_url(bad)


def test_feed_id_is_stable_across_spellings():
    assert feed_id_for("http://EXAMPLE.com:80/rss") == feed_id_for("http://example.com/rss")
    assert feed_id_for("http://example.com/rss") != feed_id_for("https://example.com/rss")
    assert len(feed_id_for("http://example.com/rss")) == 16


def test_feed_round_trips_through_redis_hash():
    f = Feed(id="abc", url="http://x.example/", title="T", categories=["A/B"], enabled=False,
             disabled_reason="gone", etag='"e"', consecutive_errors=3, next_due=12.5, ignore_validators=True)
    back = Feed.from_redis({k.encode(): v.encode() for k, v in f.to_redis().items()})
    assert back == f


# ------------------------------------------------------------------------------------------
# unit: interval rules
# ------------------------------------------------------------------------------------------

def test_adaptive_interval_follows_rate_and_clamps():
    assert adaptive_interval(None, min_s=MIN, max_s=MAX) == DEFAULT_INTERVAL_S
    assert adaptive_interval(24, min_s=MIN, max_s=MAX) == 1800  # 86400 / (24 * 2)
    assert adaptive_interval(1000, min_s=MIN, max_s=MAX) == MIN  # busy feed: clamped to the minimum
    assert adaptive_interval(0.1, min_s=MIN, max_s=MAX) == MAX  # 432000 s -> clamped to a day
    assert adaptive_interval(0, min_s=MIN, max_s=MAX) == MAX


def test_adaptive_interval_respects_feed_hints_but_not_beyond_max():
    assert adaptive_interval(1000, min_s=MIN, max_s=MAX, feed_min_s=3600) == 3600  # ttl of an hour
    assert adaptive_interval(1000, min_s=MIN, max_s=MAX, feed_min_s=7 * 86_400) == MAX  # weekly: still daily


def test_entries_per_day_from_dates():
    now = 1_700_000_000.0
    ts = [now - h * 3600 for h in range(0, 48, 4)]  # 12 entries over 44 h
    epd = entries_per_day_from_dates(ts, now)
    assert epd == pytest.approx(12 / (44 / 24))
    assert entries_per_day_from_dates([now], now) is None
    assert entries_per_day_from_dates([now - 90 * 86_400, now - 80 * 86_400], now) is None  # too old
    # a burst within minutes reads as at most 24 x n per day (span floored at an hour)
    assert entries_per_day_from_dates([now - 60, now - 30, now], now) == pytest.approx(3 * 24)


def test_update_entries_per_day_time_weighted():
    # seeded from dates when there is no history
    assert update_entries_per_day(None, 50, None, 10.0) == 10.0
    # no history, no dates: the prior, then the first observation
    prior = update_entries_per_day(None, 0, None, None)
    assert prior == pytest.approx(86_400 / (DEFAULT_INTERVAL_S * 2))
    # a short silent poll barely moves the estimate; a silent day moves it by ~63 %
    after_5min = update_entries_per_day(20.0, 0, 300, None)
    after_day = update_entries_per_day(20.0, 0, 86_400, None)
    assert 19.9 < after_5min < 20.0
    assert after_day == pytest.approx(20.0 * 0.3679, rel=1e-3)
    # steady 10 per day converges to 10
    epd = 50.0
    for _ in range(2000):
        epd = update_entries_per_day(epd, 1, 8640, None)
    assert epd == pytest.approx(10.0, rel=0.01)


def test_backoff_grows_exponentially_with_jitter_and_caps():
    rng = random.Random(7)
    for n in range(1, 15):
        cap = min(MAX, MIN * 2 ** (n - 1))
        d = backoff_delay(n, min_s=MIN, max_s=MAX, rng=rng)
        assert cap / 2 <= d <= cap
    delays = {round(backoff_delay(3, min_s=MIN, max_s=MAX, rng=rng)) for _ in range(20)}
    assert len(delays) > 5  # jitter spreads retries
    # Retry-After is a floor, capped at the maximum interval
    assert backoff_delay(1, min_s=MIN, max_s=MAX, retry_after_s=5000, rng=rng) == 5000
    assert backoff_delay(1, min_s=MIN, max_s=MAX, retry_after_s=10**9, rng=rng) == MAX


# ------------------------------------------------------------------------------------------
# integration: the registry on the real Redis
# ------------------------------------------------------------------------------------------

@pytest.fixture
def registry(settings, redis_client):
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:feeds:{uuid.uuid4().hex[:6]}"})
    return FeedRegistry(redis_client, s)


@pytest.mark.integration
def test_add_get_list_remove(registry):
    f = registry.add("http://News.Example.test/rss", title="News", categories=["World"], now=1000.0)
    assert f.url == "http://news.example.test/rss" and f.enabled and f.next_due == 1000.0
    assert registry.get(f.id) == f
    assert registry.get("http://news.example.test:80/rss").id == f.id  # by any spelling of the URL
    again = registry.add("http://news.example.test/rss", title="Other title")
    assert again.id == f.id and again.title == "News"  # idempotent, title kept
    g = registry.add("http://b.example.test/atom")
    assert registry.add("http://b.example.test/atom", title="B").title == "B"  # empty title filled in
    assert [x.id for x in registry.list()] == [g.id, f.id]  # sorted by title
    assert registry.count() == 2
    registry.mark_seen(f.id, ["a"])
    registry.remove("http://news.example.test/rss")
    with pytest.raises(FeedNotFound):
        registry.get(f.id)
    assert registry.seen_count(f.id) == 0
    assert registry.count() == 1
    with pytest.raises(FeedNotFound):
        registry.remove("http://nope.example.test/")


@pytest.mark.integration
def test_add_refuses_non_http(registry):
    with pytest.raises(ValueError):
        registry.add("file:///etc/passwd")


@pytest.mark.integration
def test_due_and_claim(registry):
    a = registry.add("http://a.example.test/", now=100.0)
    b = registry.add("http://b.example.test/", now=200.0)
    registry.add("http://c.example.test/", now=900.0)
    assert [f.id for f in registry.due(now=500)] == [a.id, b.id]
    assert [f.id for f in registry.due(now=500, limit=1)] == [a.id]
    claimed = registry.claim_due(now=500, limit=10, lease_s=600)
    assert {f.id for f in claimed} == {a.id, b.id}
    assert all(f.next_due == 1100 for f in claimed)
    assert registry.claim_due(now=500) == []  # leased: not handed out twice
    assert registry.get(a.id).next_due == 1100


@pytest.mark.integration
def test_disable_keeps_feed_and_enable_brings_it_back(registry):
    f = registry.add("http://a.example.test/", now=100.0)
    registry.record_error(f.id, "timeout", now=150.0)
    d = registry.disable(f.id, "gone")
    assert not d.enabled and d.disabled_reason == "gone"
    assert registry.due(now=10**10) == []  # not scheduled
    assert [x.id for x in registry.list()] == [f.id]  # but still listed
    e = registry.enable(f.id, now=300.0)
    assert e.enabled and e.disabled_reason is None and e.consecutive_errors == 0
    assert [x.id for x in registry.due(now=300.0)] == [f.id]


@pytest.mark.integration
def test_record_error_backs_off_and_success_resets(registry, settings):
    f = registry.add("http://a.example.test/", now=0.0)
    rng = random.Random(1)
    prev_cap = 0
    for n in range(1, 6):
        e = registry.record_error(f.id, "connect_error", now=1000.0, message="refused", rng=rng)
        assert e.consecutive_errors == n and e.last_error_reason == "connect_error"
        cap = min(settings.poll_max_interval_s, settings.poll_min_interval_s * 2 ** (n - 1))
        assert cap / 2 <= e.next_due - 1000.0 <= cap
        assert cap > prev_cap
        prev_cap = cap
    r = registry.record_error(f.id, "rate_limited", now=2000.0, retry_after_s=40_000)
    assert r.next_due >= 2000.0 + 40_000
    assert registry.due(now=2000.0 + 39_999) == []
    ok = registry.record_success(f.id, now=3000.0, interval_s=600, etag='"v2"')
    assert ok.consecutive_errors == 0 and ok.last_success == 3000.0 and ok.etag == '"v2"'
    assert ok.next_due == 3600.0 and ok.last_error_reason == "rate_limited"  # history kept
    assert ok.total_errors == 6 and ok.total_polls == 7
    # the interval is clamped to the settings
    assert registry.record_success(f.id, now=0.0, interval_s=1).interval_s == settings.poll_min_interval_s


@pytest.mark.integration
def test_record_error_with_disable(registry):
    f = registry.add("http://a.example.test/")
    g = registry.record_error(f.id, "gone", message="410", disable=True)
    assert not g.enabled and g.disabled_reason == "gone" and g.last_error_reason == "gone"


@pytest.mark.integration
def test_mark_seen_returns_only_new_and_is_bounded(registry):
    f = registry.add("http://a.example.test/")
    assert registry.mark_seen(f.id, ["g1", "g2", "g1"]) == ["g1", "g2"]
    assert registry.mark_seen(f.id, ["g2", "g3"]) == ["g3"]
    assert registry.unseen(f.id, ["g3", "g4"]) == ["g4"]
    assert registry.mark_seen(f.id, []) == []
    registry.mark_seen(f.id, [f"x{i}" for i in range(SEEN_PER_FEED + 50)], now=10**10)
    assert registry.seen_count(f.id) == SEEN_PER_FEED
    assert registry.unseen(f.id, ["x0", f"x{SEEN_PER_FEED + 49}"]) == []  # newest batch kept


@pytest.mark.integration
def test_url_update_keeps_id_and_old_url_resolves(registry):
    f = registry.add("http://old.example.test/rss")
    moved = registry.update(f.id, url="https://new.example.test/rss")
    assert moved.id == f.id and moved.previous_urls == ["http://old.example.test/rss"]
    assert registry.resolve("https://new.example.test/rss") == f.id
    assert registry.resolve("http://old.example.test/rss") == f.id
    registry.remove(f.id)
    with pytest.raises(FeedNotFound):
        registry.resolve("http://old.example.test/rss")
    with pytest.raises(ValueError):
        registry.update(registry.add("http://z.example.test/").id, colour="red")


@pytest.mark.integration
def test_ignore_validators_switch(registry):
    f = registry.add("http://a.example.test/")
    assert registry.set_ignore_validators(f.id, True).ignore_validators
    off = registry.set_ignore_validators(f.id, False)
    assert not off.ignore_validators and off.validator_lies == 0


@pytest.mark.integration
def test_poll_finishing_after_a_disable_does_not_reschedule(registry):
    f = registry.add("http://a.example.test/", now=100.0)
    stale = registry.get(f.id)  # what a poll read before someone disabled the feed
    registry.disable(f.id, "manual")
    registry.record_success(f.id, current=stale, now=200.0, interval_s=600)
    after = registry.get(f.id)
    assert not after.enabled and after.disabled_reason == "manual"
    assert registry.due(now=10**10) == []


# ------------------------------------------------------------------------------------------
# integration: the `wirewatch feeds` commands
# ------------------------------------------------------------------------------------------


@pytest.fixture
def quiet_cli(monkeypatch):
    """Keep CLI logs out of CliRunner's captured stdout and away from its stderr (closed after
    each invoke): warnings and above go to the process's real stderr; structlog restored after."""
    import logging
    import sys

    import structlog

    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    monkeypatch.setattr("wirewatch.cli.configure_logging", lambda *a, **k: None)
    yield
    structlog.configure(**saved)

@pytest.fixture
def cli(settings, redis_client, monkeypatch, quiet_cli):
    """Run `wirewatch feeds ...` in-process against a private registry prefix; returns (invoke, registry)."""
    import json

    from typer.testing import CliRunner

    import wirewatch.commands.feeds as feeds_cmd
    from wirewatch.cli import app

    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:cli:{uuid.uuid4().hex[:6]}"})
    monkeypatch.setattr(feeds_cmd, "get_settings", lambda: s)
    # the CLI's callback points structlog at CliRunner's temporary stderr, which is closed after
    # each invoke; keep the test process's logging as it is
    runner = CliRunner()

    def invoke(*args, ok=True):
        res = runner.invoke(app, ["feeds", *args])
        if ok:
            assert res.exit_code == 0, res.output
            return json.loads(res.stdout) if "--format" in args else res
        return res

    return invoke, FeedRegistry(redis_client, s)


@pytest.mark.integration
def test_cli_add_list_disable_health_enable_remove(cli):
    invoke, reg = cli
    added = invoke("add", "https://News.Example.test/rss", "--title", "Courier", "--category", "World", "--format", "json")
    assert added["url"] == "https://news.example.test/rss" and added["categories"] == ["World"]
    assert [f["id"] for f in invoke("list", "--format", "json")] == [added["id"]]
    invoke("disable", added["id"], "--reason", "paywall", "--format", "json")
    reg.record_error(added["id"], "timeout", message="slow")
    health = invoke("health", "--format", "json")
    assert health["by_status"] == {"disabled": 1}
    (item,) = health["items"]
    assert item["disabled_reason"] == "paywall" and item["last_error_reason"] == "timeout"
    assert item["consecutive_errors"] == 1 and item["next_due"] is None
    table = invoke("health")  # the table names the reason too
    assert "paywall" in table.stdout and "timeout" in table.stdout
    assert invoke("enable", "https://news.example.test/rss", "--format", "json")["enabled"] is True
    assert invoke("validators", added["id"], "--ignore", "--format", "json")["ignore_validators"] is True
    assert invoke("remove", added["id"], "--format", "json")["removed"] == added["id"]
    assert invoke("list", "--format", "json") == []
    missing = invoke("remove", "nope", ok=False)
    assert missing.exit_code == 1 and "no feed" in missing.output and "Traceback" not in missing.output
    bad = invoke("add", "ftp://x.example.test/", ok=False)
    assert bad.exit_code == 1 and "http" in bad.output


@pytest.mark.integration
def test_cli_opml_import_export_round_trip(cli, tmp_path):
    invoke, reg = cli
    src = Path(__file__).resolve().parents[3] / "seeds" / "feeds.opml"
    first = invoke("import-opml", str(src), "--format", "json")
    assert first["added"] == first["feeds_in_file"] >= 40 and first["invalid"] == []
    again = invoke("import-opml", str(src), "--format", "json")
    assert again["added"] == 0 and again["already_known"] == first["feeds_in_file"]  # idempotent
    out = tmp_path / "export.opml"
    invoke("export-opml", str(out), "--format", "json")
    from pipeline.feeds.opml import read_opml

    original = {f.url: (f.title, f.categories[:1]) for f in read_opml(src)}
    exported = {f.url: (f.title, f.categories[:1]) for f in read_opml(out)}
    assert exported == original


@pytest.mark.integration
def test_cli_import_bad_opml(cli, tmp_path):
    invoke, _ = cli
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<opml><body><outline")
    res = invoke("import-opml", str(bad), ok=False)
    assert res.exit_code == 1 and "xml_error" in res.output and "Traceback" not in res.output


def test_cli_redis_down_gives_a_clear_error(settings, monkeypatch, quiet_cli):
    import socket

    from typer.testing import CliRunner

    import wirewatch.commands.feeds as feeds_cmd
    from wirewatch.cli import app

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    monkeypatch.setattr(feeds_cmd, "get_settings", lambda: s)
    for args in (["list"], ["health", "--format", "json"], ["add", "http://x.example.test/"]):
        res = CliRunner().invoke(app, ["feeds", *args])
        assert res.exit_code == 1
        assert "Redis is not reachable" in res.output and "wirewatch services up" in res.output
        assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


@pytest.mark.integration
def test_add_many_in_batches(registry):
    known = registry.add("http://known.example.test/rss", title="Known", now=10.0)
    items = [(f"http://bulk.example.test/{i}.xml", f"Feed {i}", ["Bulk"]) for i in range(2500)]
    items += [("HTTP://KNOWN.example.test:80/rss", "Other", None),  # another spelling of a known feed
              ("http://bulk.example.test/7.xml", "dup", None),  # repeated within the import
              ("mailto:someone@example.test", None, None)]
    res = registry.add_many(items, now=50.0, batch=1000)
    assert len(res["added"]) == 2500
    assert res["existing"].count(known.id) == 1 and len(res["existing"]) == 2
    assert [bad["url"] for bad in res["invalid"]] == ["mailto:someone@example.test"]
    assert registry.count() == 2501
    assert registry.get("http://bulk.example.test/7.xml").title == "Feed 7"
    assert registry.get(known.id).title == "Known"
    assert len(registry.due(now=50.0, limit=10_000)) == 2501
