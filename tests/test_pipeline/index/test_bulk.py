"""Index stage: derived fields (pure) and idempotent bulk indexing on the real node."""
from __future__ import annotations

import copy

import pytest

from pipeline.index.engine import SearchEngine
from pipeline.document import to_index_doc
from pipeline.index.bulk import index_batch

DOC = {
    "id": "doc-1", "url": "https://a.example/1", "canonical_url": "https://a.example/1", "title": "Floods in Del Rio",
    "body": "Flash flooding closed roads.", "language": "en", "published_at": None, "fetched_at": "2026-11-28T10:00:00+00:00",
    "source": {"domain": "a.example", "feed_url": "https://a.example/feed"},
    "persons": [], "organizations": [{"name": "National Weather Service", "mentions": 1}],
    "locations": [
        {"name": "Del Rio", "geonames_id": 5520552, "country_code": "US", "admin1": "Texas", "feature": "city",
         "lat": 29.36273, "lon": -100.89676, "mentions": 2},
        {"name": "Nowhere", "geonames_id": None, "country_code": None, "admin1": None, "feature": None,
         "lat": None, "lon": None, "mentions": 1},
        {"name": "Broken", "lat": 123.0, "lon": 10.0, "mentions": 1},
    ],
    "countries": ["US"],
    "quotes": [{"text": "Stay off the roads", "speaker": "Ana Ruiz", "speaker_text": "she", "verb": "said", "start": 0, "end": 1},
               {"text": "Unattributed", "speaker": None, "speaker_text": None, "verb": None, "start": 2, "end": 3},
               {"text": "Again", "speaker": "Ana Ruiz", "speaker_text": "Ruiz", "verb": "added", "start": 4, "end": 5}],
    "topics": ["disaster"], "dedupe": {"content_hash": "h", "cluster_id": "doc-1", "duplicate_of": None},
}


def test_to_index_doc_adds_geo_and_flattened_fields_without_changing_input():
    before = copy.deepcopy(DOC)
    out = to_index_doc(DOC, indexed_at="2026-11-28T10:00:01+00:00")
    assert DOC == before
    assert out["geo_points"] == [{"lat": 29.36273, "lon": -100.89676}]
    assert out["locations"][0]["location"] == {"lat": 29.36273, "lon": -100.89676}
    assert "location" not in out["locations"][1] and "location" not in out["locations"][2]
    assert out["speakers"] == ["Ana Ruiz"] and out["quote_count"] == 3
    assert out["place_names"] == ["Del Rio", "Nowhere", "Broken"]
    assert out["indexed_at"] == "2026-11-28T10:00:01+00:00"


def test_to_index_doc_with_no_lists():
    out = to_index_doc({"id": "x", "title": "t"})
    assert out["geo_points"] == [] and out["speakers"] == [] and out["quote_count"] == 0 and "indexed_at" not in out


@pytest.fixture(scope="module")
def engine(engine_settings):
    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-idx"})
    eng = SearchEngine.from_settings(s)
    eng.ensure_setup()
    yield eng
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_reindexing_the_same_ids_does_not_duplicate(engine):
    docs = [{**copy.deepcopy(DOC), "id": f"doc-{i}"} for i in range(5)]
    first = index_batch(engine, docs, refresh=True)
    assert sorted(first.indexed) == sorted(d["id"] for d in docs) and first.ok
    assert engine.count(engine.alias("articles")) == 5
    docs[0]["title"] = "Floods in Del Rio, updated"
    second = index_batch(engine, docs + [docs[1]], refresh=True)
    assert second.ok and len(second.indexed) == 5
    assert engine.count(engine.alias("articles")) == 5
    assert engine.get(engine.alias("articles"), "doc-0")["title"] == "Floods in Del Rio, updated"
    assert engine.count(engine.alias("articles"), {"term": {"speakers": "Ana Ruiz"}}) == 5


@pytest.mark.integration
def test_documents_without_id_fail_and_others_are_written(engine):
    res = index_batch(engine, [{"title": "no id", "canonical_url": "https://a.example/x"}, {**DOC, "id": "ok-1"}])
    assert res.indexed == ["ok-1"]
    assert res.failed == [("https://a.example/x", "missing_id")]


def test_bulk_chunks_respect_count_and_bytes(monkeypatch):
    from pipeline.index import bulk as index_mod

    monkeypatch.setattr(index_mod, "CHUNK_DOCS", 3)
    monkeypatch.setattr(index_mod, "CHUNK_BYTES", 200)
    docs = [{"id": str(i), "body": "x" * (150 if i == 4 else 10)} for i in range(8)]
    chunks = index_mod._chunks(docs)
    assert [[d["id"] for d in c] for c in chunks] == [["0", "1", "2"], ["3"], ["4"], ["5", "6", "7"]]
    assert sum(len(c) for c in chunks) == len(docs)


@pytest.mark.integration
def test_transient_item_failures_are_retried_with_backoff(engine):
    """A read-only-allow-delete block (what the engines set at the disk flood stage) makes bulk
    items fail with 429; the stage backs off and retries, and succeeds once the block is lifted."""
    concrete = f"{engine.prefix}-articles-v1"
    engine.request("PUT", f"/{concrete}/_settings", {"index.blocks.read_only_allow_delete": True})
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 2:  # lift the block before the third attempt
            engine.request("PUT", f"/{concrete}/_settings", {"index.blocks.read_only_allow_delete": None})

    try:
        res = index_batch(engine, [{**DOC, "id": "blocked-1"}, {**DOC, "id": "blocked-2"}], sleep=sleep)
    finally:
        engine.request("PUT", f"/{concrete}/_settings", {"index.blocks.read_only_allow_delete": None})
    assert sorted(res.indexed) == ["blocked-1", "blocked-2"] and res.ok
    assert delays == [0.5, 1.0] and res.retries == 4


@pytest.mark.integration
def test_items_still_failing_after_the_last_attempt_are_reported(engine):
    concrete = f"{engine.prefix}-articles-v1"
    engine.request("PUT", f"/{concrete}/_settings", {"index.blocks.read_only_allow_delete": True})
    try:
        res = index_batch(engine, [{**DOC, "id": "blocked-3"}], sleep=lambda s: None)
    finally:
        engine.request("PUT", f"/{concrete}/_settings", {"index.blocks.read_only_allow_delete": None})
    assert res.indexed == [] and [f[0] for f in res.failed] == ["blocked-3"]
    assert "read-only" in res.failed[0][1] or "blocked" in res.failed[0][1]
