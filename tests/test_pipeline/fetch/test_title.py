"""Issue 14, item 5: the site's name is never the article's title; a colon inside a headline
is part of it. Pages are invented (tests/fixtures/pages/site_name_*.html)."""
from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import local_server  # noqa: F401  (pytest fixture)

from pipeline.fetch.extract import _parse_html, choose_title, extract_article, site_names, strip_site_name

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"
URL = "https://news.example.test/2026/12/story"


@pytest.mark.parametrize("page, title", [
    ("site_name_logo_h1.html", "Harbour dredging resumes: ships wait a week longer"),
    ("site_name_no_og.html", "Vote on the ring road: council split down the middle"),
    ("site_name_og_title.html", "Flood defences: the new wall holds its first test"),
])
def test_headline_not_site_name(page, title):
    ex = extract_article((PAGES / page).read_text("utf-8"), URL)
    assert ex.title == title


def test_strip_site_name_before_or_after_keeps_inner_colons():
    names = {"eastportgazette"}
    assert strip_site_name("Dredging resumes: a week more - The Eastport Gazette", names) == "Dredging resumes: a week more"
    assert strip_site_name("EASTPORT GAZETTE | Dredging resumes: a week more", names) == "Dredging resumes: a week more"
    assert strip_site_name("Eastport Gazette: Dredging resumes", names) == "Dredging resumes"
    assert strip_site_name("Dredging resumes: Eastport Gazette reports", names) == "Dredging resumes: Eastport Gazette reports"
    assert strip_site_name("The Eastport Gazette", names) == ""
    assert strip_site_name("Harbour news: dredging resumes", set()) == "Harbour news: dredging resumes"


def test_site_names_from_title_part_matching_the_host():
    html = ("<html><head><title>Tide tables: what changes in spring | Portwatch</title></head><body>"
            "<p>text</p></body></html>")
    tree = _parse_html(html)
    names = site_names(tree, "https://www.portwatch.example/tides")
    assert "portwatch" in names
    assert choose_title(tree, "https://www.portwatch.example/tides", None, names) == "Tide tables: what changes in spring"


def test_only_site_names_give_no_title_and_the_feed_title_stands_in(local_server, settings):
    from pipeline.fetch.article import fetch_article
    from pipeline.fetch.http import GuardedClient
    from pipeline.models import ArticleRef

    body = ("<html><head><title>The Eastport Gazette</title><meta property='og:site_name' content='The Eastport Gazette'>"
            "</head><body><header><h1><a href='/'>The Eastport Gazette</a></h1></header><main><p>"
            + "Dredgers returned to the outer harbour on Monday after a three-week pause. " * 4 + "</p></main></body></html>")
    local_server.add("/story", body)
    tree = _parse_html(body)
    url = local_server.url("/story")
    assert choose_title(tree, url, "The Eastport Gazette", site_names(tree, url)) == ""
    ref = ArticleRef(feed_id="f", feed_url=local_server.url("/feed.xml"), link=url, guid=url,
                     title="Dredging resumes in the outer harbour")
    client = GuardedClient(settings)
    try:
        art = fetch_article(ref, client, settings)
    finally:
        client.close()
    assert art.extraction == "page" and art.title == "Dredging resumes in the outer harbour"
