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
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from httpserver import LocalServer, Reply, local_server  # noqa: F401  (pytest fixture)

from pipeline.index.engine import SearchEngine
from pipeline.document import article_document
from pipeline.errors import EngineError, InvalidQueryError
from pipeline.feeds.parse import parse_feed
from pipeline.fetch.article import fetch_article
from pipeline.fetch.http import GuardedClient
from pipeline.index.bulk import index_batch
from pipeline.models import ArticleRef
from pipeline.alerts.searches import QUERY_MAX_DEPTH, SearchFilters, run_search

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
    from pipeline.fetch.extract import registrable_domain, same_site

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

    docs = [article_document(x) for x in (b, a, c)]
    index_batch(engine, docs, refresh=True)
    stored_b = engine.get(engine.alias("articles"), b.id)
    assert stored_b["title"] == "B reports the harvest" and "Impostors" not in stored_b["body"]
    stored_a = engine.get(engine.alias("articles"), a.id)
    assert stored_a["declared_canonical_url"] == b_url
    spoofed = run_search(engine, None, SearchFilters(domains=["bank.example"]))
    assert spoofed["hits"]["hits"] == []


@pytest.mark.integration
def test_a_feed_cannot_speak_for_another_site_when_the_linked_page_fails(local_server, settings, engine):
    from pipeline.models import article_id_for

    # B's article was indexed; B has since removed the page (404). A feed on another registrable
    # domain (localhost) lists B's URL with its own title and summary.
    b_url = local_server.url("/b/removed")
    b_doc = {"id": article_id_for(b_url), "url": b_url, "canonical_url": b_url, "title": "B's own report",
             "body": "The original text.", "language": "en", "fetched_at": "2026-11-01T00:00:00+00:00",
             "source": {"domain": "127.0.0.1"}}
    index_batch(engine, [b_doc], refresh=True)
    feed_url = local_server.url("/feed.xml").replace("127.0.0.1", "localhost")
    hostile = ArticleRef(feed_id="fa", feed_url=feed_url, link=b_url, guid="tag:a,1", title="B admits fraud",
                         summary="B admitted fraud today, according to this feed.")
    with GuardedClient(settings) as client:
        art = fetch_article(hostile, client, settings)
    assert art.extraction == "summary" and art.id != b_doc["id"]
    assert art.source_domain == "localhost" and art.declared_canonical_url == b_url and art.url == b_url
    index_batch(engine, [article_document(art)], refresh=True)
    assert engine.get(engine.alias("articles"), b_doc["id"])["title"] == "B's own report"
    # a same-site feed keeps the link as the canonical URL (the usual fallback)
    own = ArticleRef(feed_id="fb", feed_url=local_server.url("/feed.xml"), link=b_url, guid=b_url,
                     title="B's own report", summary="The original text, from B's own feed.")
    with GuardedClient(settings) as client:
        assert fetch_article(own, client, settings).id == b_doc["id"]


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
    doc = article_document(art)
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
    from pipeline.alerts.notify import email_message, parse_channel

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
    from pipeline.index.engine import ERROR_MESSAGE_MAX

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
    from pipeline.alerts.searches import SavedSearch, SavedSearchStore

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
    from pipeline.alerts.notify import notify

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


# --- 6. secrets ----------------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def bare_cli(monkeypatch):
    """Invoke the CLI with the environment given; returns (exit code, stdout + stderr)."""
    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    def invoke(env: dict[str, str], *args: str):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        res = CliRunner().invoke(app, list(args))
        get_settings.cache_clear()
        return res.exit_code, res.stdout + res.stderr

    yield invoke
    get_settings.cache_clear()


def test_credentials_in_service_urls_are_never_printed(bare_cli):
    env = {"WIREWATCH_REDIS_URL": f"redis://:hunter2redis@127.0.0.1:{_closed_port()}/0",
           "WIREWATCH_SEARCH_URL": f"http://elastic:hunter2search@127.0.0.1:{_closed_port()}",
           "WIREWATCH_SEARCH_TIMEOUT_S": "2"}
    for args in (("config",), ("config", "--format", "json"), ("status",), ("status", "--format", "json"),
                 ("feeds", "list"), ("dlq", "list"), ("search", "border")):
        code, out = bare_cli(env, *args)
        assert "hunter2" not in out, (args, out[-500:])
        assert "***@127.0.0.1" in out or args[0] in ("search",), (args, out[-500:])
    code, out = bare_cli(env, "search", "border")
    assert code != 0 and "cannot reach the search engine at http://***@127.0.0.1" in out


@pytest.mark.integration
def test_channel_secrets_are_stored_as_references_and_shown_masked(settings, engine, monkeypatch, local_server):
    from pipeline.errors import ConfigError
    from pipeline.alerts.notify import notify, sign
    from pipeline.alerts.searches import SavedSearch, SavedSearchStore

    store = SavedSearchStore(engine, settings)
    plain = [{"type": "webhook", "url": local_server.url("/hook"), "secret": "plain-hmac-key"},
             {"type": "email", "to": ["desk@example.org"], "username": "u", "password": "plain-smtp-pw"},
             {"type": "webhook", "url": local_server.url("/hook"), "headers": {"Authorization": "Bearer plain-token-123"}},
             {"type": "slack", "url": local_server.url("/services/T0/B0/plainslackpath")}]
    for channel in plain:
        with pytest.raises(ConfigError) as info:
            store.add(SavedSearch(name="sec", query="border", notify=[channel]))
        assert info.value.reason == "plain_secret" and "env:NAME" in str(info.value)
    monkeypatch.setenv("WW_TEST_HOOK_KEY", "real-hmac-key")
    monkeypatch.setenv("WW_TEST_TOKEN", "Bearer real-token-456")
    with _post_receiver() as (url, received):
        refs = [{"type": "webhook", "url": url, "secret": "env:WW_TEST_HOOK_KEY",
                 "headers": {"Authorization": "env:WW_TEST_TOKEN"}},
                {"type": "email", "to": ["desk@example.org"], "username": "u", "password": "env:WW_TEST_SMTP_PW"}]
        store.add(SavedSearch(name="sec", query="border", notify=refs))
        try:
            raw = json.dumps(engine.request("GET", f"/{engine.alias('searches')}/_doc/sec"))
            assert "env:WW_TEST_HOOK_KEY" in raw and "real-hmac-key" not in raw and "real-token" not in raw
            # the worker resolves the references at send time
            (result,) = notify({"search_id": "sec", "article_id": "a1"}, {"title": "t"}, refs[:1], settings,
                               deadletters=None, sleep=lambda s: None)
            headers, body = received[0]
            assert result.ok and headers["authorization"] == "Bearer real-token-456"
            assert headers["x-wirewatch-signature"] == sign(body, "real-hmac-key")
        finally:
            store.delete("sec")


class _post_receiver:
    """A loopback HTTP server that answers every POST with 204 and records (headers, body)."""

    def __enter__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self.srv.server_address[1]}/hook", received

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()


def test_saved_search_output_masks_plain_secrets_stored_earlier():
    from pipeline.alerts.notify import mask_config

    shown = json.dumps([mask_config(c) for c in (
        {"type": "webhook", "url": "https://hooks.example/x", "secret": "s3cr3t", "headers": {"Authorization": "Bearer abc"}},
        {"type": "email", "to": ["a@example.org"], "password": "pw-1234"},
        {"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/SLACKSECRET"},
        {"type": "webhook", "url": "https://hooks.example/x", "secret": "env:HOOK_KEY"})])
    assert not any(s in shown for s in ("s3cr3t", "Bearer abc", "pw-1234", "SLACKSECRET"))
    assert "env:HOOK_KEY" in shown and "********" in shown


@pytest.mark.integration
def test_slack_paths_and_authorization_headers_stay_out_of_dead_letters_logs_and_dlq_show(
        settings, redis_client, local_server, bare_cli, caplog):
    import logging

    from pipeline.deadletter import DeadLetters
    from pipeline.alerts.notify import notify

    dl_settings = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:sec",
                                              "notify_max_attempts": 1})
    dlq = DeadLetters(redis_client, dl_settings)
    local_server.route("/services", lambda req: Reply(status=404, body=b"no"), prefix=True)
    slack_url = local_server.url("/services/T0AAAA/B0BBBB/slackSECRETpath")
    channels = [{"type": "slack", "url": slack_url},
                {"type": "webhook", "url": local_server.url("/services/hook"), "headers": {"Authorization": "Bearer hdrSECRET99"}}]
    logging.getLogger("httpx").setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        results = notify({"search_id": "s", "article_id": "a"}, {"title": "t"}, channels, dl_settings,
                         deadletters=dlq, sleep=lambda s: None)
    assert [r.ok for r in results] == [False, False]
    logged = caplog.text
    assert "HTTP Request: POST" in logged  # httpx did log the requests ...
    assert "SECRET" not in logged  # ... without the secret path or header
    entries = [dlq.get(r.deadletter_id) for r in results]
    stored = json.dumps(entries)
    assert "SECRET" not in stored and sorted(entries[0]["payload"]["redacted"]) == ["url"]
    assert entries[1]["payload"]["redacted"] == ["headers"]
    # an entry written raw (an older version, a task payload) is redacted when shown
    raw_id = dlq.add("task:wirewatch.notify", {"url": slack_url, "headers": {"Authorization": "Bearer hdrSECRET99"}},
                     reason="r", error=f"POST {slack_url} failed")
    env = {"WIREWATCH_REDIS_KEY_PREFIX": dl_settings.redis_key_prefix}
    for args in (("dlq", "show", raw_id), ("dlq", "show", raw_id, "--format", "json"), ("dlq", "list")):
        code, out = bare_cli(env, *args)
        assert code == 0 and "SECRET" not in out, out[-800:]
    logging.getLogger("httpx").setLevel(logging.NOTSET)


# --- 6/7. local services: owner-only state, processes identified by their state folder ------------------

def _redis_settings(state: Path, port: int):
    from pipeline.settings import Settings

    return Settings(state_dir=state, redis_port=port)


@pytest.fixture()
def own_redis(tmp_path):
    """A real redis-server started by LocalRedis in a temporary state folder on a free port."""
    from wirewatch.devtools.services.redis_server import LocalRedis, redis_binary

    if not redis_binary():
        pytest.skip("redis-server is not installed")
    svc = LocalRedis(_redis_settings(tmp_path / "state-a", _closed_port()))
    assert svc.up() == "started"
    yield svc
    svc.down()


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.integration
def test_state_folder_and_files_are_owner_only(own_redis):
    import redis as redis_lib

    r = redis_lib.Redis(host="127.0.0.1", port=own_redis.settings.redis_port)
    r.set("secret-key", "secret-value")
    r.execute_command("BGREWRITEAOF")
    time.sleep(0.5)
    # The service's own folder and all in it (the state folder itself stays reachable: an
    # Elasticsearch node runs as an unprivileged user beside it).
    state = own_redis.dir
    files = [p for p in state.rglob("*")]
    assert files and own_redis.pidfile in files and own_redis.logfile in files
    assert any("appendonly" in p.name for p in files)
    assert _mode(state) == 0o700
    for p in files:
        assert _mode(p) & 0o077 == 0, f"{p} is {oct(_mode(p))}"


def _decoy(marker: str, cwd: Path | None = None) -> "subprocess.Popen":
    import subprocess
    import sys

    # A process with a command line like ours (the marker in its argv), standing in for a PID reused by another program.
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", marker], cwd=cwd)


@pytest.mark.integration
def test_services_down_and_status_never_take_a_process_that_is_not_ours(own_redis, tmp_path, settings):
    import redis as redis_lib

    from wirewatch.devtools import services
    from wirewatch.devtools.services.process import create_time
    from wirewatch.devtools.services.redis_server import LocalRedis

    port = own_redis.settings.redis_port
    marker = f"127.0.0.1:{port}"
    ours = own_redis.pid()
    assert ours is not None

    # 1. another checkout's state folder holds a copy of our PID file: not its process
    other = LocalRedis(_redis_settings(tmp_path / "state-b", port))
    other.dir.mkdir(parents=True)
    other.pidfile.write_text(own_redis.pidfile.read_text())
    assert other.pid() is None
    assert [s.state for s in services.status(other.settings) if s.name == "redis"] == ["external"]
    assert other.down() is False and own_redis.answers() and own_redis.pid() == ours

    # 2. stale PID files naming a process with a similar command line
    decoys = []
    try:
        for content in (lambda pid: f"{pid}\n{marker}\n",                       # old format, other folder
                        lambda pid: f"{pid}\n\n",                                 # no marker
                        lambda pid: f"{pid}\n{marker}\n{create_time(pid) + 1}\n"):  # PID reused (start time differs)
            d = _decoy(marker, cwd=other.dir)
            decoys.append(d)
            time.sleep(0.1)
            other.pidfile.write_text(content(d.pid))
            hour_ago = time.time() - 3600  # the PID file is stale: written before the process started
            os.utime(other.pidfile, (hour_ago, hour_ago))
            assert other.pid() is None and other.down() is False
            assert d.poll() is None, "a process that is not ours was signalled"
    finally:
        for d in decoys:
            d.kill()
            d.wait()

    # 3. the shared Redis of the development machine, claimed by a PID file in our folder
    shared = redis_lib.Redis.from_url(settings.redis_url)
    shared_pid = int(shared.info("server")["process_id"])
    other.pidfile.write_text(f"{shared_pid}\n127.0.0.1:{settings.redis_port}\n")
    claimant = LocalRedis(_redis_settings(tmp_path / "state-b", settings.redis_port))
    assert claimant.pid() is None
    assert [s.state for s in services.status(claimant.settings) if s.name == "redis"] == ["external"]
    assert claimant.down() is False and shared.ping()

    # 4. our own process is still found and stopped
    assert own_redis.down() is True and not own_redis.answers()


# --- helpers on invented text ---------------------------------------------------------------------------

def test_strip_and_escape_controls_on_invented_text():
    from pipeline.sanitize import cap, escape_controls, strip_controls

    text = "Mayor\x1b[1;31m wins\x1b]2;title\x1b\\ vote\x07\x00 in \u202eriver\u2066town\u2069\r\nnext\x9b2J line\x85"
    assert strip_controls(text) == "Mayor wins vote in rivertown\nnext line"
    assert strip_controls(text, single_line=True) == "Mayor wins vote in rivertown next line"
    assert strip_controls("tab\tand\nnewline kept") == "tab\tand\nnewline kept"
    shown = escape_controls("a\x1b[2Jb\u202ec")
    assert shown == "a\\x1b[2Jb\\u202ec"
    assert cap("one two three four", 12) == ("one two thre", True)  # no space in the last 10%: a hard cut
    assert cap("x" * 95 + " tail end", 100) == ("x" * 95, True) and cap("short", 12) == ("short", False)


def test_redaction_helper_on_invented_text():
    from pipeline.logs import redact_url

    assert redact_url("redis://:pw1@10.0.0.1:6379/0 and https://u:pw2@es.example:9200") == \
        "redis://***@10.0.0.1:6379/0 and https://***@es.example:9200"
    assert redact_url("POST https://hooks.slack.com/services/T1/B2/c3d4 200") == "POST https://hooks.slack.com/services/*** 200"
    assert redact_url("https://chat.example/hooks/abc123xyz") == "https://chat.example/hooks/***"
    assert redact_url("{'Authorization': 'Bearer tok-123456789'}") == "{'Authorization': '***'}"
    assert redact_url("https://news.example/services/page.html") == "https://news.example/services/***"
    assert redact_url("http://127.0.0.1:9251/wirewatch-articles/_search") == "http://127.0.0.1:9251/wirewatch-articles/_search"
