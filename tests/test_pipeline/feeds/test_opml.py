"""Unit tests of pipeline.feeds.opml: nested outlines, categories, round trip, hostile files."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import FeedError
from pipeline.feeds.opml import OpmlFeed, parse_opml, read_opml, write_opml

REPO = Path(__file__).resolve().parents[3]

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>mine</title></head>
  <body>
    <outline text="News">
      <outline text="Americas">
        <outline type="rss" text="Courier" xmlUrl="http://a.example.test/rss" htmlUrl="http://a.example.test/"/>
      </outline>
      <outline type="rss" title="Wire" text="ignored" xmlUrl="http://b.example.test/atom" category="/Wires,Agencies/Latin"/>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="http://c.example.test/feed"/>
    <outline text="Empty folder"/>
    <outline text="Again">
      <outline type="rss" text="Courier twice" xmlUrl="http://a.example.test/rss"/>
    </outline>
  </body>
</opml>
"""


def test_nested_outlines_and_categories():
    feeds = parse_opml(NESTED)
    assert [f.url for f in feeds] == ["http://a.example.test/rss", "http://b.example.test/atom", "http://c.example.test/feed"]
    a, b, c = feeds
    assert a.title == "Courier" and a.html_url == "http://a.example.test/"
    assert a.categories == ["News/Americas", "Again"]  # listed twice: categories merged, first title kept
    assert b.title == "Wire"  # title wins over text
    assert b.categories == ["News", "Wires", "Agencies/Latin"]
    assert c.categories == []


def test_round_trip_keeps_urls_titles_categories():
    feeds = [OpmlFeed("http://a.example.test/rss", "Courier & Co", categories=["News/Americas", "Wires"]),
             OpmlFeed("http://c.example.test/feed", "Top", categories=[])]
    again = parse_opml(write_opml(feeds))
    assert [(f.url, f.title, f.categories) for f in again] == [(f.url, f.title, f.categories) for f in feeds]


def test_opml_1_without_body_title_attributes():
    doc = b'<opml version="1.0"><body><outline text="X" xmlUrl="http://x.example.test/r"/></body></opml>'
    (f,) = parse_opml(doc)
    assert f.title == "X"


@pytest.mark.parametrize("doc,reason", [
    (b"<opml><body><outline", "xml_error"),
    (b"<rss version='2.0'/>", "not_opml"),
    (b'<!DOCTYPE opml [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;">]><opml><body/></opml>', "entity_bomb"),
])
def test_bad_opml(doc, reason):
    with pytest.raises(FeedError) as info:
        parse_opml(doc)
    assert info.value.reason == reason


def test_seed_opml_has_real_feeds_in_every_region():
    feeds = read_opml(REPO / "seeds" / "feeds.opml")
    assert len(feeds) >= 40
    assert all(f.url.startswith("https://") and f.title for f in feeds)
    assert len({f.url for f in feeds}) == len(feeds)
    tops = {f.categories[0] for f in feeds}
    for needed in ("Migration and borders", "World", "Regional/Latin America", "Regional/Europe",
                   "Regional/Africa", "Regional/Asia"):
        assert needed in tops
