"""Issue 16: each attack performed against real local services (loopback listeners, the test
Redis and OpenSearch), shown refused or harmless. One section per kind of attack:

1. a page's cross-site ``<link rel=canonical>`` (overwrite another site's article, spoof its source)
2. notification targets on loopback/private/metadata addresses
3. one very long field breaking search highlighting
4. terminal and mail-header injection through control and bidi characters
5. saved searches that hang the engine or flood the CLI
6. secrets shown or stored in clear
7. ``services down``/``status`` acting on a process that is not ours
"""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from httpserver import LocalServer, Reply, local_server  # noqa: F401  (pytest fixture)

from pipeline.engine import SearchEngine
from pipeline.enrich.duplicate import base_document
from pipeline.errors import EngineError, InvalidQueryError
from pipeline.feedparse import parse_feed
from pipeline.fetch import fetch_article
from pipeline.http import GuardedClient
from pipeline.index import index_batch
from pipeline.models import ArticleRef
from pipeline.searches import QUERY_MAX_DEPTH, SearchFilters, run_search

ESC_TITLE = "Border\x1b[2J\x1b]0;owned\x07 talks\x00 resume \u202egnp.exe\u202c\x9b31m today"
BODY = ("Negotiators met on Tuesday in the border city to discuss the crossing schedule. "
        "Officials from both delegations said the talks would continue through the week, "
        "and a joint statement is expected on Friday after the final session ends.")


def _page(title: str, body: str = BODY, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{link}</head>"
            f"<body><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>")


def _ref(url: str, title: str = "", summary: str = "") -> ArticleRef:
    return ArticleRef(feed_id="f1", feed_url="http://127.0.0.1/feed", link=url, guid=url, title=title, summary=summary)


@pytest.fixture(scope="module")
def engine(settings, search_url):
    s = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-sec"})
    eng = SearchEngine.from_settings(s)
    eng.ensure_setup()
    yield eng
    eng.delete_all()
    eng.close()


# --- 1. cross-site canonical ------------------------------------------------------------------------

def test_registrable_domain_comes_from_the_public_suffix_list():
    from pipeline.extract import registrable_domain, same_site

    assert registrable_domain("news.example.co.uk") == "example.co.uk"
    assert registrable_domain("WWW.Example.COM.") == "example.com"
    assert registrable_domain("alice.github.io") == "alice.github.io"  # private-section suffix
    assert same_site("https://m.example.co.uk/a", "https://www.example.co.uk/b")
    assert not same_site("https://alice.github.io/a", "https://bob.github.io/a")
    assert not same_site("https://example.co.uk/a", "https://other.co.uk/a")


@pytest.mark.integration
def test_cross_site_canonical_neither_overwrites_nor_spoofs(local_server, settings, engine):
    # B's real article, then a page on another host (localhost vs 127.0.0.1: two registrable
    # domains) that declares B's URL as its canonical, and one that claims a third domain.
    b_url = local_server.url("/b/story")
    local_server.add("/b/story", _page("B reports the harvest", canonical=b_url), content_type="text/html")
    a_url = local_server.url("/a/copy").replace("127.0.0.1", "localhost")
    local_server.add("/a/copy", _page("A fake headline", body=BODY.replace("Negotiators", "Impostors"),
                                      canonical=b_url), content_type="text/html")
    c_url = local_server.url("/c/spoof").replace("127.0.0.1", "localhost")
    local_server.add("/c/spoof", _page("Bank announces", canonical="https://bank.example/news/1"),
                     content_type="text/html")
    same_url = local_server.url("/b/print?page=1")
    local_server.add("/b/print", _page("B reports the harvest", canonical=b_url), content_type="text/html")

    with GuardedClient(settings) as client:
        b = fetch_article(_ref(b_url), client, settings)
        a = fetch_article(_ref(a_url), client, settings)
        c = fetch_article(_ref(c_url), client, settings)
        same = fetch_article(_ref(same_url), client, settings)
    assert a.id != b.id and a.canonical_url.startswith("http://localhost:") and a.declared_canonical_url == b_url
    assert a.source_domain == "localhost" and c.source_domain == "localhost"
    assert c.declared_canonical_url == "https://bank.example/news/1"
    assert same.id == b.id and same.declared_canonical_url is None  # same-site canonicals still decide the id

    docs = [base_document(x, None) for x in (b, a, c)]
    index_batch(engine, docs, refresh=True)
    stored_b = engine.get(engine.alias("articles"), b.id)
    assert stored_b["title"] == "B reports the harvest" and "Impostors" not in stored_b["body"]
    stored_a = engine.get(engine.alias("articles"), a.id)
    assert stored_a["declared_canonical_url"] == b_url
    spoofed = run_search(engine, None, SearchFilters(domains=["bank.example"]))
    assert spoofed["hits"]["hits"] == []


# --- 3. one long title ------------------------------------------------------------------------------

@pytest.mark.integration
def test_a_one_megabyte_feed_title_is_capped_counted_and_search_keeps_working(local_server, settings, engine):
    from pipeline.sanitize import FIELD_LIMITS

    long_title = "Quarry " + "x" * 1_048_576
    feed = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>http://127.0.0.1/</link>"
            f"<item><title>{long_title}</title><link>{local_server.url('/status/404')}</link>"
            f"<description>Quarry workers walked out over pay on Monday morning.</description></item>"
            f"</channel></rss>").encode()
    ref = parse_feed(feed, feed_url=local_server.url("/feed"), feed_id="f1").entries[0]
    with GuardedClient(settings) as client:
        art = fetch_article(ref, client, settings)  # the page fails: the entry's title and summary stand in
    assert art.extraction == "summary"
    assert len(art.title) <= FIELD_LIMITS["title"] and art.truncated == {"title": len(long_title)}
    doc = base_document(art, None)
    assert doc["truncated_fields"] == ["title"]
    index_batch(engine, [doc], refresh=True)
    resp = run_search(engine, "quarry")
    assert [h["_id"] for h in resp["hits"]["hits"]] == [art.id]
    assert "highlight_skipped" not in resp and resp["hits"]["hits"][0]["highlight"]


@pytest.mark.integration
def test_search_survives_a_document_indexed_before_the_caps(engine):
    # A document written before the caps existed (or by another writer): 1.1 M characters of title.
    old = {"id": "old-long-title", "url": "https://old.example/1", "canonical_url": "https://old.example/1",
           "title": "Lighthouse " + "y" * 1_100_000, "body": "The lighthouse keeper retired.", "language": "en",
           "fetched_at": "2026-11-01T00:00:00+00:00", "source": {"domain": "old.example"}}
    index_batch(engine, [old], refresh=True)
    try:
        resp = run_search(engine, "lighthouse")
        assert [h["_id"] for h in resp["hits"]["hits"]] == ["old-long-title"]
        assert resp["highlight_skipped"] == "field_over_highlight_limit"
    finally:
        engine.delete(engine.alias("articles"), "old-long-title", refresh=True)


# --- 4. control characters ---------------------------------------------------------------------------

def _no_controls(text: str) -> bool:
    return not any(ch in text for ch in ("\x1b", "\x00", "\x07", "\u202e", "\u202c", "\x9b"))


def test_control_and_bidi_characters_are_stripped_from_feed_fields():
    feed = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed\x1b[31m red</title>"
            f"<link>http://127.0.0.1/</link><item><title>{ESC_TITLE.replace(chr(0), '&#0;')}</title>"
            f"<link>http://127.0.0.1/x</link><description>sum\u202emary</description></item></channel></rss>")
    parsed = parse_feed(feed.encode("utf-8"), feed_url="http://127.0.0.1/feed", feed_id="f1")
    ref = parsed.entries[0]
    assert _no_controls(ref.title) and _no_controls(ref.summary) and _no_controls(parsed.title)
    assert ref.title == "Border talks resume gnp.exe31m today" or ref.title.startswith("Border talks resume")


@pytest.mark.integration
def test_control_characters_from_a_page_never_reach_the_index(local_server, settings):
    local_server.add("/esc", _page(ESC_TITLE.replace("\x00", "")), content_type="text/html")
    with GuardedClient(settings) as client:
        art = fetch_article(_ref(local_server.url("/esc")), client, settings)
    assert _no_controls(art.title) and "talks" in art.title


@pytest.fixture()
def cli(monkeypatch, settings, search_url):
    """Invoke the CLI with a per-test index prefix; returns (exit code, stdout, stderr, seconds)."""
    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    prefix = f"{settings.index_prefix}-seccli"
    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", prefix)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str):
        started = time.monotonic()
        res = runner.invoke(app, list(args))
        return res.exit_code, res.stdout, res.stderr, time.monotonic() - started

    invoke.prefix = prefix  # type: ignore[attr-defined]
    yield invoke
    get_settings.cache_clear()
    eng = SearchEngine.from_settings(settings.model_copy(update={"index_prefix": prefix}))
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_table_output_escapes_control_characters_already_stored(cli, settings):
    # A document written raw (bypassing ingestion), as an older version or another writer would.
    eng = SearchEngine.from_settings(settings.model_copy(update={"index_prefix": cli.prefix}))
    eng.ensure_setup()
    index_batch(eng, [{"id": "esc1", "url": "https://e.example/1", "canonical_url": "https://e.example/1",
                       "title": ESC_TITLE, "body": "border talks body", "language": "en",
                       "fetched_at": "2026-11-01T00:00:00+00:00", "source": {"domain": "e\x1b[8m.example"}}], refresh=True)
    eng.close()
    code, out, err, _ = cli("search", "talks")
    assert code == 0, err
    assert _no_controls(out) and "\\x1b" in out and "\\u202e" in out
    code, out, err, _ = cli("search", "talks", "--format", "json")
    assert code == 0 and _no_controls(out) and json.loads(out)["hits"][0]["id"] == "esc1"


def test_mail_subject_has_no_control_characters_or_injected_headers():
    from pipeline.notify import email_message, parse_channel

    channel = parse_channel({"type": "email", "to": ["desk@example.org"]})
    msg = email_message({"search_id": "s", "article_id": "a", "search_name": "Desk\r\nBcc: spy@evil.example"},
                        {"title": ESC_TITLE + "\r\nBcc: spy@evil.example", "url": "https://e.example/1"},
                        channel, "ww@example.org")
    raw = msg.as_bytes().decode("utf-8", "replace")
    headers = raw.split("\n\n", 1)[0]
    assert _no_controls(headers) and "\nBcc:" not in headers and msg["Bcc"] is None
    assert "talks" in str(msg["Subject"])


# --- 5. saved searches that hang the engine or flood the CLI ---------------------------------------

DEEP = "(" * 2200 + "border" + ")" * 2200


@pytest.mark.integration
def test_deep_and_huge_queries_are_refused_before_the_engine(cli, tmp_path):
    code, out, err, secs = cli("searches", "add", "deep", "--query", DEEP)
    assert code != 0 and f"limit is {QUERY_MAX_DEPTH}" in err and len(err) < 3000
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text(json.dumps({"searches": [{"name": "deep", "query": DEEP}]}))
    code, out, err, _ = cli("searches", "load", str(yaml_file))
    assert code != 0 and "nests parentheses 2200 deep" in err
    huge = "border " * 150_000
    code, out, err, secs = cli("search", huge)
    assert code != 0 and "characters long" in err and len(err) < 3000 and secs < 10
    code, out, err, _ = cli("search", DEEP)
    assert code != 0 and "nests parentheses" in err


@pytest.mark.integration
def test_engine_errors_are_cut_to_a_sane_length(engine):
    from pipeline.engine import ERROR_MESSAGE_MAX

    bad = {"query_string": {"query": "title:(" + "a " * 200_000}}  # refused by the engine, echoed back
    with pytest.raises(InvalidQueryError) as info:
        engine.count(engine.alias("articles"), bad)
    assert len(str(info.value)) < ERROR_MESSAGE_MAX + 100


def test_every_search_has_a_timeout_against_an_engine_that_never_answers(settings):
    # A loopback listener that accepts and never answers, standing in for a hung search thread.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        port = listener.getsockname()[1]
        s = settings.model_copy(update={"search_url": f"http://127.0.0.1:{port}", "search_query_timeout_s": 1.0})
        eng = SearchEngine.from_settings(s)
        for call in (lambda: eng.search("x", {"query": {"match_all": {}}}),
                     lambda: eng.percolate([{"title": "t"}], index="x"),
                     lambda: eng.percolate([{"title": str(i)} for i in range(60)], index="x")):
            started = time.monotonic()
            with pytest.raises(EngineError) as info:
                call()
            assert info.value.transient and time.monotonic() - started < 5
        eng.close()
    finally:
        stop.set()
        t.join()
        listener.close()
        for c in held:
            c.close()


# --- 2. notification targets -------------------------------------------------------------------------

@pytest.mark.integration
def test_internal_notification_targets_are_refused_at_add(settings, engine):
    from pipeline.errors import ConfigError
    from pipeline.searches import SavedSearch, SavedSearchStore

    strict = settings.model_copy(update={"notify_allow_hosts": []})
    store = SavedSearchStore(engine, strict)
    port = settings.search_url.rsplit(":", 1)[-1]
    attacks = [
        {"type": "webhook", "url": f"http://127.0.0.1:{port}/{engine.alias('articles')}/_close"},
        {"type": "webhook", "url": f"http://localhost:{port}/_close"},
        {"type": "webhook", "url": f"http://[::ffff:127.0.0.1]:{port}/"},
        {"type": "webhook", "url": "http://2130706433/"},  # 127.0.0.1 as one decimal number
        {"type": "slack", "url": "http://169.254.169.254/latest/meta-data/"},
        {"type": "slack", "url": "http://metadata.google.internal/computeMetadata/v1/"},
        {"type": "email", "to": ["desk@example.org"], "host": "10.0.0.5"},
        {"type": "webhook", "url": "http://[fd00:ec2::254]/"},
    ]
    for channel in attacks:
        with pytest.raises(ConfigError) as info:
            store.add(SavedSearch(name="hook", query="border", notify=[channel]))
        assert info.value.reason == "blocked_target", channel
        assert "notify_allow_hosts" in str(info.value)
    assert store.get("hook") is None
    # the explicit allowlist lets an operator's internal receiver through
    allowed = SavedSearchStore(engine, settings.model_copy(update={"notify_allow_hosts": ["127.0.0.1"]}))
    stored = allowed.add(SavedSearch(name="hook", query="border", notify=[attacks[0]]))
    assert stored.notify[0]["url"] == attacks[0]["url"]
    allowed.delete("hook")


@pytest.mark.integration
def test_a_webhook_to_the_engines_close_endpoint_is_refused_at_send_time(settings, engine, local_server):
    from pipeline.notify import notify

    # Stored while allowed (or re-pointed by DNS later): the send-time check on the address refuses it.
    strict = settings.model_copy(update={"notify_allow_hosts": [], "notify_max_attempts": 1})
    port = settings.search_url.rsplit(":", 1)[-1]
    close_url = f"http://127.0.0.1:{port}/{engine.alias('articles')}/_close"
    event = {"search_id": "hook", "article_id": "a1"}
    results = notify(event, {"title": "t", "url": "https://e.example/1"},
                     [{"type": "webhook", "url": close_url}, {"type": "slack", "url": local_server.url("/hook")},
                      {"type": "email", "to": ["desk@example.org"], "host": "127.0.0.1", "port": int(port)}],
                     strict, deadletters=None, sleep=lambda s: None)
    assert [r.reason for r in results] == ["blocked", "blocked", "blocked"]
    assert local_server.requests == []
    engine.count(engine.alias("articles"))  # still open: a closed index raises index_closed_exception
