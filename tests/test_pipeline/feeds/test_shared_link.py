"""Issue 14, item 1: feed items that share one link (an advisories listing, a live page).

Each item keeps its own identity (guid, or link + title + date without one), becomes its own
article of its own title and text, survives the dedupe stage (canonical URL + content hash)
and is indexed as its own document; entries left out are counted by reason. Fixtures are
invented (tests/fixtures/feeds); the integration tests use the local HTTP server, the real
Redis and the real search engine.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from httpserver import local_server  # noqa: F401  (pytest fixture)

from pipeline.dedupe.deduper import Deduper
from pipeline.document import article_document
from pipeline.feeds.parse import parse_feed
from pipeline.feeds.registry import FeedRegistry
from pipeline.fetch.article import entry_article, fetch_article
from pipeline.fetch.http import GuardedClient
from pipeline.models import ArticleRef
from pipeline.feeds.poll import poll_feed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
BASE = "https://harbourlight.example.test"


def advisories(base: str = BASE) -> bytes:
    return (FIXTURES / "advisories_shared_link.xml").read_text("utf-8").replace("{base}", base).encode("utf-8")


def test_items_sharing_a_link_keep_their_guids_and_are_flagged():
    parsed = parse_feed(advisories(), feed_url=f"{BASE}/advisories.xml", feed_id="f1")
    assert [e.guid for e in parsed.entries] == ["hlsa-2026-014", "hlsa-2026-013", "hlsa-2026-012",
                                               "hlsa-2026-011", "release-tidewatch-4-2-3"]
    assert [e.shared_link for e in parsed.entries] == [True, True, True, True, False]
    assert parsed.dropped == {}


def test_items_without_guid_sharing_a_link_get_link_title_date_identity():
    content = (FIXTURES / "live_page_no_guid.xml").read_bytes()
    parsed = parse_feed(content, feed_url="https://gazette.example.test/live.xml", feed_id="f2")
    titles = [e.title for e in parsed.entries]
    assert titles == ["Ferry services suspended as gale reaches the strait", "Power cut in the harbour district",
                      "Council approves the new quay"]
    storm = parsed.entries[:2]
    assert all(e.shared_link for e in storm)
    assert len({e.guid for e in storm}) == 2
    assert all(e.guid.startswith("https://gazette.example.test/live/storm#") for e in storm)
    # two versions of one story (same link, same title) are one article, not a shared page
    quay = parsed.entries[2]
    assert not quay.shared_link and quay.guid == "https://gazette.example.test/news/quay"
    # the word-for-word repeat and the older version are left out, counted with their reason
    assert parsed.dropped == {"duplicate_entry": 2}
    # identities are stable: the same document parsed again gives the same guids
    again = parse_feed(content, feed_url="https://gazette.example.test/live.xml", feed_id="f2")
    assert [e.guid for e in again.entries] == [e.guid for e in parsed.entries]


def test_entry_article_is_the_items_own_title_and_text():
    ref = parse_feed(advisories(), feed_url=f"{BASE}/advisories.xml", feed_id="f1").entries[1]
    art = entry_article(ref)
    assert art.title == "HLSA-2026-013: session tokens kept after logout in Quaymaster"
    assert art.body.startswith("Quaymaster 7 does not revoke")
    assert art.extraction == "entry" and art.item_guid == "hlsa-2026-013"
    assert art.canonical_url == f"{BASE}/advisories/"
    assert art.published_at == "2026-12-02T15:30:00+00:00"


def test_entry_article_without_title_or_text_is_an_error_with_a_reason():
    from pipeline.errors import ExtractionError

    ref = ArticleRef(feed_id="f", feed_url=f"{BASE}/a.xml", link=f"{BASE}/advisories/", guid="x", shared_link=True)
    with pytest.raises(ExtractionError) as err:
        entry_article(ref)
    assert err.value.reason == "no_item_text"


@pytest.mark.integration
def test_poll_fetch_dedupe_index_keep_every_item(local_server, settings, redis_client, search_url):
    from pipeline.index.engine import SearchEngine
    from pipeline.index.bulk import index_batch

    local_server.add("/advisories.xml", advisories(local_server.url("").rstrip("/")), content_type="application/rss+xml; charset=utf-8")
    local_server.add("/advisories/", (FIXTURES / "advisories_page.html").read_bytes())
    local_server.add("/releases/tidewatch-4-2-3", "<html><head><title>Tidewatch 4.2.3 released</title></head><body>"
                     "<article><h1>Tidewatch 4.2.3 released</h1><p>" + "This maintenance release fixes the log parser. " * 6
                     + "</p></article></body></html>")
    tag = uuid.uuid4().hex[:6]
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:shared:{tag}",
                                    "index_prefix": f"{settings.index_prefix}-shared{tag}"})
    registry = FeedRegistry(redis_client, s)
    feed = registry.add(local_server.url("/advisories.xml"))
    handed: list[ArticleRef] = []
    client = GuardedClient(s)
    try:
        result = poll_feed(registry, feed.id, client, s, on_new=handed.extend)
        assert result.status == "ok" and len(handed) == 5
        articles = [fetch_article(ref, client, s) for ref in handed]
    finally:
        client.close()
    # the listing page is not fetched for the items that share it; the release page is
    assert local_server.hits("/advisories/") == 0 and local_server.hits("/releases/tidewatch-4-2-3") == 1
    assert [a.extraction for a in articles] == ["entry"] * 4 + ["page"]
    assert len({a.id for a in articles}) == 5
    assert [a.title for a in articles[:4]] == [r.title for r in handed[:4]]

    deduper = Deduper(redis_client, s)
    decisions = [deduper.check_and_record(a) for a in articles]
    assert [d.duplicate_of for d in decisions] == [None] * 5
    assert [d.cluster_id for d in decisions] == [a.id for a in articles]
    # a retried task still finds its own decision, not another item's
    again = deduper.check_and_record(articles[2])
    assert again.kind == "exact_url" and again.cluster_id == articles[2].id

    # a new advisory on the same page: the next poll offers it alone (identities are stable)
    newer = advisories(local_server.url("").rstrip("/")).replace(b"<item>", (
        b"<item><title>HLSA-2026-015: weak default password in Beaconboard</title>"
        b"<link>" + local_server.url("/advisories/").encode() + b"</link><guid isPermaLink='false'>hlsa-2026-015</guid>"
        b"<description>Beaconboard 2.2 ships with a guessable administrator password.</description></item><item>"), 1)
    local_server.add("/advisories.xml", newer, content_type="application/rss+xml; charset=utf-8")
    client = GuardedClient(s)
    try:
        second = poll_feed(registry, feed.id, client, s, now=result.next_due + 1)
    finally:
        client.close()
    assert second.status == "ok" and [r.guid for r in second.new] == ["hlsa-2026-015"]
    assert second.new[0].shared_link

    engine = SearchEngine.from_settings(s)
    try:
        engine.ensure_setup()
        docs = [article_document(a, dedupe=d.to_dict()) for a, d in zip(articles, decisions)]
        out = index_batch(engine, docs, refresh=True)
        assert sorted(out.indexed) == sorted(a.id for a in articles)
        assert engine.count(engine.alias("articles")) == 5
        stored = engine.get(engine.alias("articles"), articles[1].id)
        assert stored["title"] == handed[1].title and stored["item_guid"] == handed[1].guid
    finally:
        engine.delete_all()
        engine.close()


def test_live_updates_with_one_title_are_told_apart_by_guid_or_text():
    content = (FIXTURES / "live_updates_same_title.xml").read_bytes()
    parsed = parse_feed(content, feed_url="https://courier.example.test/live.xml", feed_id="f3")
    assert [e.summary[:20] for e in parsed.entries] == ["Turnout in the east ", "The first ballot box",
                                                        "Polls have closed ac", "A recount was called",
                                                        "The recount will sta"]
    assert all(e.shared_link for e in parsed.entries)
    assert [e.guid for e in parsed.entries[:3]] == ["live-3", "live-2", "live-1"]
    recount = parsed.entries[3:]
    assert len({e.guid for e in recount}) == 2 and parsed.dropped == {}
    articles = [entry_article(e) for e in parsed.entries]
    assert len({a.id for a in articles}) == 5


def test_an_entry_article_is_cleaned_and_capped_like_a_fetched_one():
    # the entry's title is the article's title, so the fetch stage's caps and control-character
    # stripping must apply to it too (the feed parser leaves the capping to the fetch stage)
    ref = ArticleRef(feed_id="f", feed_url=f"{BASE}/a.xml", link=f"{BASE}/advisories/", guid="long",
                     title="Advisory " + "x" * 5000 + "\u202e", summary="Patch now.", shared_link=True)
    art = fetch_article(ref, client=None)
    assert art.extraction == "entry"
    assert len(art.title) <= 1000 and "\u202e" not in art.title
    assert art.truncated.get("title") == len(ref.title)
