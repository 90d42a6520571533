"""End to end: the demo flow on the real Redis and OpenSearch with real worker processes.

Runs :func:`wirewatch.demo.run_demo` (the code behind ``wirewatch demo``) with a per-session
key and index prefix, then checks what landed in the index and which saved searches alerted.
"""
from __future__ import annotations

import pytest

from pipeline.index.engine import SearchEngine

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BORDER_PAGE = "dozens-cross-rio-grande-ciudad-juarez"
NEAR_DUP_PAGES = ("mexico-rejects-safe-third-country", "mexico-rejects-us-push-safe-third-country")


@pytest.fixture(scope="module")
def demo_report(engine_settings, redis_client, tmp_path_factory):
    from wirewatch.demo import run_demo
    from wirewatch.devtools.seed_server import SeedServer

    s = engine_settings.model_copy(update={"demo_port": 0, "state_dir": tmp_path_factory.mktemp("demo-state"), "beat_interval_s": 2.0})
    report = run_demo(s, timeout_s=600)
    engine = SearchEngine.from_settings(s)
    yield report, engine, None
    engine.close()


def _by_page(articles, page):
    found = [a for a in articles if page in (a.get("canonical_url") or a.get("url") or "")]
    assert found, f"no indexed article for {page}"
    return found[0]


def test_every_sample_article_indexed_once(demo_report):
    report, engine, _ = demo_report
    from wirewatch.devtools.seed_server import SeedServer

    with SeedServer() as server:
        expected = server.expected_articles
    assert report.failed == 0
    assert len(report.articles) == expected >= 12
    ids = [a["id"] for a in report.articles]
    assert len(set(ids)) == len(ids)
    # the index holds exactly these documents: nothing doubled by retries
    count = engine.request("GET", f"/{engine.alias('articles')}/_count")["count"]
    assert count == expected


def test_documents_follow_the_contract(demo_report):
    report, _, _ = demo_report
    for a in report.articles:
        for key in ("id", "url", "canonical_url", "title", "language", "published_at", "fetched_at", "source",
                    "persons", "organizations", "locations", "countries", "quotes", "topics", "dedupe"):
            assert key in a, f"{key} missing from {a.get('url')}"
        assert "utm_" not in a["canonical_url"]
    enriched = [a for a in report.articles if not a["dedupe"].get("duplicate_of")]
    assert all(a["persons"] for a in enriched), "every original sample article names people"
    assert sum(len(a["quotes"]) for a in enriched) >= 30


def test_border_story_enriched_and_alerted(demo_report):
    report, _, _ = demo_report
    border = _by_page(report.articles, BORDER_PAGE)
    places = {loc["name"] for loc in border["locations"]}
    assert any("Ju" in p and "rez" in p for p in places), places
    juarez = next(loc for loc in border["locations"] if "rez" in loc["name"] and "Ju" in loc["name"])
    assert juarez["country_code"] == "MX" and abs(juarez["lat"] - 31.7) < 0.5 and abs(juarez["lon"] + 106.4) < 0.5
    assert "border-crossing" in border["topics"]
    fired = {(a["search_id"], a["article_id"]) for a in report.alerts}
    assert ("border-crossings-ciudad-juarez", border["id"]) in fired


def test_near_duplicate_pair_clustered_and_not_alerted_twice(demo_report):
    report, _, _ = demo_report
    first, second = (_by_page(report.articles, p) for p in NEAR_DUP_PAGES)
    assert first["dedupe"]["cluster_id"] == second["dedupe"]["cluster_id"]
    assert {first["dedupe"]["duplicate_of"], second["dedupe"]["duplicate_of"]} & {first["id"], second["id"]}
    cluster = first["dedupe"]["cluster_id"]
    per_search = {}
    for a in report.alerts:
        if a.get("cluster_id") == cluster:
            per_search[a["search_id"]] = per_search.get(a["search_id"], 0) + 1
    assert all(n == 1 for n in per_search.values()), per_search
    assert report.to_json()["duplicates"] >= 1


def test_json_report_shape(demo_report):
    report, _, _ = demo_report
    out = report.to_json()
    assert set(out) >= {"articles_indexed", "duplicates", "alerts", "elapsed_s"}
    assert out["articles_indexed"] == len(report.articles)
    assert all(set(a) == {"search", "article_id"} for a in out["alerts"])
    assert out["alerts"], "the sample feeds must fire at least one alert"


def test_every_article_has_a_story_and_wire_copies_share_their_originals(demo_report):
    report, _, _ = demo_report
    assert all((a.get("story") or {}).get("id") for a in report.articles), [a["url"] for a in report.articles if not a.get("story")]
    first, second = (_by_page(report.articles, p) for p in NEAR_DUP_PAGES)
    assert first["story"]["id"] == second["story"]["id"]
