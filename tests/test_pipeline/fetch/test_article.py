"""fetch_article and `wirewatch fetch` against the real local HTTP server."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from httpserver import local_server  # noqa: F401  (pytest fixture)
from pipeline.dedupe.text import content_hash
from pipeline.errors import ExtractionError, FetchError
from pipeline.fetch.article import fetch_article, summary_text
from pipeline.models import source_domain
from pipeline.fetch.http import GuardedClient
from pipeline.models import ArticleRef, article_id_for

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"


@pytest.fixture
def fast(settings):
    return settings.model_copy(update={
        "fetch_allow_hosts": ["127.0.0.1"], "fetch_read_timeout_s": 0.3, "fetch_total_timeout_s": 1.0,
        "fetch_max_bytes": 200_000,
    })


@pytest.fixture
def client(fast):
    with GuardedClient(fast) as c:
        yield c


def ref(url: str, summary: str = "", title: str = "Entry title") -> ArticleRef:
    return ArticleRef(feed_id="f1", feed_url="http://127.0.0.1/feed.xml", link=url, guid=url, title=title,
                      published="2024-03-01T08:00:00+00:00", summary=summary)


def test_fetch_page(client, fast, local_server):
    local_server.add("/news/ferry", (PAGES / "news_full.html").read_text())
    art = fetch_article(ref(local_server.url("/news/ferry?utm_source=rss")), client, fast)
    assert art.extraction == "page" and art.extraction_error is None
    # the page declares a canonical on another site (harbourpost.example): kept, not trusted (issue 16)
    assert art.declared_canonical_url == "https://www.harbourpost.example/news/2024/ferry-isla-verde?page=2"
    assert art.canonical_url == local_server.url("/news/ferry")
    assert art.id == article_id_for(art.canonical_url)
    assert art.url == local_server.url("/news/ferry?utm_source=rss")
    assert art.title == "Ferry service to Isla Verde resumes after storm"
    assert art.published_at == "2024-03-05T14:30:00+00:00"  # the page's date beats the feed's
    assert art.language == "en" and art.authors == ["Marta Quiroga", "Daniel Whitlow"]
    assert art.source_domain == "127.0.0.1"
    assert art.feed_id == "f1" and art.content_hash == content_hash(art.body)
    assert json.loads(json.dumps(art.to_dict()))["id"] == art.id


def test_fetch_after_redirect_uses_final_url(client, fast, local_server):
    art = fetch_article(ref(local_server.url("/redirect/chain?n=1")), client, fast)
    assert art.url == local_server.url("/article")
    assert art.canonical_url == local_server.url("/article")  # the page's canonical, tracking stripped


@pytest.mark.parametrize("path, reason", [
    ("/status/404", "http_error"),
    ("/pdf", "not_html"),
    ("/status/410", "gone"),
    ("/redirect/loop", "redirect_loop"),
    ("/gzip-bomb?mb=20", "decompression_bomb"),
    ("/huge?bytes=1000000", "too_large"),
    ("/slow?delay=2", "timeout"),
    ("/empty-shell", "no_main_text"),
])
def test_failures_fall_back_to_the_summary(client, fast, local_server, path, reason):
    local_server.add("/empty-shell", (PAGES / "empty_shell.html").read_text())
    summary = "<p>The ferry to <b>Isla Verde</b> resumed on Monday &amp; ran full.</p>"
    art = fetch_article(ref(local_server.url(path), summary=summary), client, fast)
    assert art.extraction == "summary" and art.extraction_error == reason
    assert art.body == "The ferry to Isla Verde resumed on Monday & ran full."
    assert art.title == "Entry title" and art.published_at == "2024-03-01T08:00:00+00:00"
    assert art.id == article_id_for(art.canonical_url) and art.content_hash == content_hash(art.body)


@pytest.mark.parametrize("path, exc, reason", [
    ("/status/404", FetchError, "http_error"),
    ("/pdf", FetchError, "not_html"),
    ("/empty-shell", ExtractionError, "no_main_text"),
])
def test_failures_without_summary_raise(client, fast, local_server, path, exc, reason):
    local_server.add("/empty-shell", (PAGES / "empty_shell.html").read_text())
    with pytest.raises(exc) as e:
        fetch_article(ref(local_server.url(path)), client, fast)
    assert e.value.reason == reason


def test_transient_failure_can_be_raised_for_a_retry(client, fast, local_server):
    with pytest.raises(FetchError) as e:
        fetch_article(ref(local_server.url("/slow?delay=2"), summary="a summary"), client, fast,
                      fallback_on_transient=False)
    assert e.value.reason == "timeout"
    art = fetch_article(ref(local_server.url("/status/404"), summary="a summary"), client, fast,
                        fallback_on_transient=False)  # permanent: falls back
    assert art.extraction == "summary"


def test_blocked_link_falls_back_to_summary(client, fast):
    art = fetch_article(ref("http://10.0.0.1/story", summary="Summary text of the story."), client, fast)
    assert art.extraction == "summary" and art.extraction_error == "blocked"


def test_helpers():
    assert source_domain("https://WWW.Example.org/x") == "example.org"
    assert summary_text("<p>a&nbsp;<i>b</i></p>\n c") == "a b c"


# -- CLI ---------------------------------------------------------------------------------------------

def _cli():
    from wirewatch.cli import app

    return app


def test_cli_fetch_json(local_server):
    result = CliRunner().invoke(_cli(), ["fetch", local_server.url("/article"), "--format", "json",
                                         "--allow-host", "127.0.0.1"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["canonical_url"] == local_server.url("/article")
    assert record["extraction"] == "page" and "river crossing" in record["body"]


@pytest.mark.parametrize("path, allow, reason", [
    ("/pdf", ["--allow-host", "127.0.0.1"], "not_html"),
    ("/redirect/loop", ["--allow-host", "127.0.0.1"], "redirect_loop"),
    ("/article", [], "blocked"),
])
def test_cli_fetch_classified_error(local_server, path, allow, reason):
    result = CliRunner().invoke(_cli(), ["fetch", local_server.url(path), "--format", "json", *allow])
    assert result.exit_code == 1
    err = json.loads(result.stdout)
    assert err["ok"] is False and err["reason"] == reason and err["message"]


def test_cli_fetch_table_error_goes_to_stderr(local_server):
    result = CliRunner().invoke(_cli(), ["fetch", local_server.url("/status/410"), "--allow-host", "127.0.0.1"])
    assert result.exit_code == 1
    assert "gone" in result.stderr
