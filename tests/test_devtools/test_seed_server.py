"""Tests for wirewatch.devtools.seed_server: the sample site and the extra-articles feed, over real HTTP."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import httpx
import pytest

from wirewatch.devtools.seed_server import DEFAULT_ROOT, PLACEHOLDER, SeedServer, split_title, text_to_html


@pytest.fixture(scope="module")
def site():
    with SeedServer() as srv:
        yield srv


def test_split_title_uses_short_first_line():
    title, paras = split_title("Floods hit Del Rio\n\nFirst para\nwraps here.\n\nSecond.", "x.txt")
    assert title == "Floods hit Del Rio"
    assert paras == ["First para wraps here.", "Second."]


def test_split_title_falls_back_to_file_name():
    long_first = "The United States and Mexico are about to reach a crisis point, an official said on Friday."
    title, paras = split_title(long_first + "\n\nMore text.", "000_my-story.txt")
    assert title == "000 my story"
    assert paras[0] == long_first and len(paras) == 2
    # a single block is body, never a title
    assert split_title("Only one line", "one.txt") == ("one", ["Only one line"])


def test_text_to_html_escapes():
    page = text_to_html("A <b> & C\n\n<script>alert(1)</script>", "f.txt", canonical_url="http://h/a?x=1&y=2")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<title>A &lt;b&gt; &amp; C</title>" in page
    assert 'href="http://h/a?x=1&amp;y=2"' in page


def test_requires_start():
    srv = SeedServer()
    with pytest.raises(RuntimeError):
        srv.feed_urls  # noqa: B018


def test_missing_root():
    with pytest.raises(FileNotFoundError):
        SeedServer(root=Path("/nonexistent/seed/site"))


def test_three_feeds_of_three_formats(site):
    assert len(site.feed_urls) == 3
    versions = set()
    for url in site.feed_urls:
        r = httpx.get(url)
        assert r.status_code == 200
        assert PLACEHOLDER.encode() not in r.content
        ET.fromstring(r.content)  # well-formed
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        assert parsed.entries
        versions.add(parsed.version)
    assert versions == {"rss20", "atom10"}
    courier = feedparser.parse(httpx.get(site.base_url + "/feeds/valley-courier.xml").content)
    assert all(e.get("content") for e in courier.entries)  # content:encoded dialect


def test_articles_reachable_and_realistic(site):
    urls = site.article_urls
    assert site.expected_articles == len(urls) >= 14
    for url in urls:
        r = httpx.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith("text/html")
        page = r.text
        assert PLACEHOLDER not in page
        assert f'<link rel="canonical" href="{site.base_url}/' in page
        assert 'property="og:title"' in page
        assert "©" in page and "2026" in page
        body_words = sum(len(p.split()) for p in page.split("<p")[1:])
        assert body_words >= 250, url


def test_conditional_get_and_404(site):
    url = site.feed_urls[0]
    first = httpx.get(url)
    assert first.headers["etag"] and first.headers["last-modified"]
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    since = httpx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert httpx.get(site.base_url + "/nope.html").status_code == 404
    assert httpx.get(site.base_url + "/../../etc/passwd").status_code == 404
    assert httpx.get(site.base_url + "/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_sample_site_contents_named_in_about():
    about = (DEFAULT_ROOT / "ABOUT.md").read_text()
    assert "invented" in about
    juarez = (DEFAULT_ROOT / "frontera/2026/11/dozens-cross-rio-grande-ciudad-juarez.html").read_text()
    assert "Ciudad Juárez" in juarez and " said" in juarez and "according to" in juarez


def test_extra_articles_dir(tmp_path):
    (tmp_path / "my story ñandú.txt").write_text("Quake shakes Oaxaca\n\nFirst <para>.\n\nSecond & last.", "utf-8")
    (tmp_path / "plain-text.txt").write_bytes("caf\xe9 au lait, no title here.\n".encode("cp1252"))
    (tmp_path / "page #1?.html").write_text("<html><head><title>Own page</title></head><body><p>Hi</p></body></html>")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF-1.4")
    with SeedServer(extra_articles_dir=tmp_path) as srv:
        assert srv.feed_urls[-1] == srv.base_url + "/extra/feed.xml"
        assert srv.expected_articles == 15 + 3
        feed = feedparser.parse(httpx.get(srv.feed_urls[-1]).content)
        assert not feed.bozo
        titles = {e.title for e in feed.entries}
        assert titles == {"Quake shakes Oaxaca", "plain text", "Own page"}
        extra_urls = [u for u in srv.article_urls if "/extra/a/" in u]
        assert sorted(e.link for e in feed.entries) == sorted(extra_urls)
        pages = {}
        for u in extra_urls:
            r = httpx.get(u)
            assert r.status_code == 200, u
            pages[u] = r.text
        story = next(p for u, p in pages.items() if "%C3%B1and%C3%BA" in u)
        assert "<p>First &lt;para&gt;.</p>" in story and "<p>Second &amp; last.</p>" in story
        assert "<title>Quake shakes Oaxaca</title>" in story
        assert any("café au lait" in p for p in pages.values())
        assert any(p.startswith("<html><head><title>Own page") for p in pages.values())
        assert httpx.get(srv.base_url + "/extra/a/ignored.pdf").status_code == 404
        assert httpx.get(srv.base_url + "/extra/a/..%2F..%2Fetc%2Fpasswd").status_code == 404
