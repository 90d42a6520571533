"""Issue 14, item 4: one invalid byte in a feed that says it is UTF-8.

tests/fixtures/feeds/utf8_one_bad_byte.xml (invented) is UTF-8 with French and Japanese
titles and a single 0xFF byte; it must decode as UTF-8 with only that byte replaced and a
warning, whether the server declares the charset or sends no Content-Type at all. A feed that
is windows-1252 under a UTF-8 label (cp1252_declared_utf8.xml) keeps feedparser's fallback.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from httpserver import local_server  # noqa: F401  (pytest fixture)

from pipeline.feeds.parse import parse_feed, repair_utf8

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
BAD = (FIXTURES / "utf8_one_bad_byte.xml").read_bytes()
TITLES = ["Grève des dockers à Saint-Nazaire : le trafic reprend", "Café, crème brûlée et façades rénovées",
          "港の新しい桟橋が完成"]


@pytest.mark.parametrize("headers", [{"content-type": "application/rss+xml; charset=utf-8"},
                                     {"content-type": "text/xml; charset=UTF-8"}, {}])
def test_one_bad_byte_is_replaced_and_the_rest_decodes_as_utf8(headers):
    parsed = parse_feed(BAD, feed_url="https://courrier.example.test/f.xml", feed_id="e", headers=headers)
    assert [e.title for e in parsed.entries] == TITLES
    assert parsed.title == "Le Courrier du Quai — édition du soir"
    assert parsed.entries[1].summary == "Le quartier du port change de visage: \ufffd voici l’été."
    assert parsed.entries[0].summary == "Les négociations ont abouti jeudi soir ; les grues redémarrent vendredi."
    assert parsed.encoding_warning and "1 invalid byte sequence" in parsed.encoding_warning
    assert [e.warnings for e in parsed.entries] == [[], ["encoding_replaced"], []]


def test_repair_reports_position_and_leaves_valid_or_foreign_text_alone():
    fixed, repair = repair_utf8(BAD, "application/rss+xml; charset=utf-8")
    assert repair is not None and repair.bad_sequences == 1 and BAD[repair.first_offset] == 0xFF
    assert fixed == BAD.replace(b"\xff", "\ufffd".encode("utf-8"))
    good = BAD.replace(b"\xff", b"")
    assert repair_utf8(good, None) == (good, None)
    # declared as something else: not ours to repair
    assert repair_utf8(BAD, "application/xml; charset=iso-8859-1") == (BAD, None)
    assert repair_utf8(BAD.replace(b'encoding="UTF-8"', b'encoding="windows-1252"'), None)[1] is None
    # mostly invalid: a mislabelled windows-1252 feed, left to feedparser
    mislabelled = (FIXTURES / "cp1252_declared_utf8.xml").read_bytes()
    assert repair_utf8(mislabelled, "application/rss+xml; charset=utf-8")[1] is None


@pytest.mark.parametrize("headers", [{"content-type": "application/rss+xml; charset=UTF-8"}, {}])
def test_mislabelled_windows_1252_still_reads_as_windows_1252(headers):
    parsed = parse_feed((FIXTURES / "cp1252_declared_utf8.xml").read_bytes(),
                        feed_url="https://courrier.example.test/f.xml", feed_id="e", headers=headers)
    assert [e.title for e in parsed.entries] == ["Grève des dockers à Saint-Nazaire"]
    assert parsed.encoding_warning is None


@pytest.mark.integration
@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=utf-8", None])
def test_polled_over_http_with_and_without_content_type(local_server, settings, redis_client, content_type):
    from pipeline.feeds.registry import FeedRegistry
    from pipeline.fetch.http import GuardedClient
    from pipeline.feeds.poll import poll_feed

    local_server.add("/courrier.xml", BAD, content_type=content_type)
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:enc:{uuid.uuid4().hex[:6]}"})
    registry = FeedRegistry(redis_client, s)
    feed = registry.add(local_server.url("/courrier.xml"))
    client = GuardedClient(s)
    try:
        result = poll_feed(registry, feed.id, client, s)
    finally:
        client.close()
    sent = local_server.last("/courrier.xml")
    assert sent is not None
    assert result.status == "ok", result
    assert [r.title for r in result.new] == TITLES
    assert result.encoding_warning and result.reason is None


@pytest.mark.parametrize("content_type, meta", [("text/html; charset=utf-8", ""), ("text/html", '<meta charset="utf-8">')])
def test_page_declared_utf8_with_one_bad_byte(local_server, settings, content_type, meta):
    """The same kind on pages: declared UTF-8 (header or meta), one invalid byte."""
    from pipeline.fetch.http import GuardedClient, decode_html

    html = (f"<html><head>{meta}<title>Grève au port</title></head><body><article><p>"
            + "Les dockers de Saint-Nazaire ont voté la reprise jeudi soir ; les grues redémarrent. " * 3
            + "BADBYTE</p></article></body></html>").encode("utf-8").replace(b"BADBYTE", b"\xff")
    local_server.add("/greve", html, content_type=content_type)
    client = GuardedClient(settings)
    try:
        text = decode_html(client.get(local_server.url("/greve"), kind="article"))
    finally:
        client.close()
    assert "Grève au port" in text and "redémarrent" in text
    assert text.count("\ufffd") == 1
