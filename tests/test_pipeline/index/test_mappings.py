"""Mappings: every contract field is mapped with the intended type; the articles index accepts
a full contract document and keeps unknown fields in _source without indexing them."""
from __future__ import annotations

import copy

import pytest

from pipeline.index import mappings
from pipeline.index.engine import SearchEngine
from pipeline.index.bulk import index_batch

CONTRACT_DOC = {
    "id": "m1", "url": "https://example.com/a?utm_source=x", "canonical_url": "https://example.com/a",
    "title": "Dozens cross the Rio Grande near Ciudad Juárez", "body": "More than 60 migrants waded across the river.",
    "language": "en", "published_at": "2026-11-28T07:45:00-06:00", "fetched_at": "2026-11-28T14:00:00+00:00",
    "source": {"domain": "frontera.example", "feed_url": "https://frontera.example/feed.xml"},
    "persons": [{"name": "Marisol Pineda", "mentions": 3}],
    "organizations": [{"name": "U.S. Customs and Border Protection", "mentions": 2}],
    "locations": [{"name": "Ciudad Juárez", "geonames_id": 4013708, "country_code": "MX", "admin1": "Chihuahua",
                   "feature": "city", "lat": 31.72024, "lon": -106.46084, "mentions": 4}],
    "countries": ["MX", "US"],
    "quotes": [{"text": "We tried the appointment app every morning", "speaker": "Marisol Pineda",
                "speaker_text": "Pineda", "verb": "told", "start": 10, "end": 52}],
    "topics": ["border-crossing", "migration"],
    "dedupe": {"content_hash": "abc", "cluster_id": "m1", "duplicate_of": None},
}

# Contract fields (docs/contract.md) -> expected mapping type at that path.
EXPECTED = {
    "id": "keyword", "url": "keyword", "canonical_url": "keyword", "title": "text", "body": "text",
    "language": "keyword", "published_at": "date", "fetched_at": "date",
    "source.domain": "keyword", "source.feed_url": "keyword",
    "persons.name": "keyword", "persons.mentions": "integer",
    "organizations.name": "keyword", "organizations.mentions": "integer",
    "locations": "nested", "locations.name": "keyword", "locations.geonames_id": "long",
    "locations.country_code": "keyword", "locations.admin1": "keyword", "locations.feature": "keyword",
    "locations.lat": "float", "locations.lon": "float", "locations.location": "geo_point", "locations.mentions": "integer",
    "countries": "keyword", "quotes": "nested", "quotes.text": "text", "quotes.speaker": "keyword",
    "quotes.speaker_text": "keyword", "quotes.verb": "keyword", "quotes.start": "integer", "quotes.end": "integer",
    "topics": "keyword", "dedupe.content_hash": "keyword", "dedupe.cluster_id": "keyword", "dedupe.duplicate_of": "keyword",
    "geo_points": "geo_point",
}


def _field(props: dict, path: str) -> dict:
    node = {"properties": props}
    for part in path.split("."):
        node = node["properties"][part]
    return node


@pytest.mark.parametrize("path,kind", sorted(EXPECTED.items()))
def test_article_mapping_types(path, kind):
    props = mappings.articles_mapping()["properties"]
    assert _field(props, path).get("type", "object") == kind


def test_searches_mapping_has_percolator_beside_article_fields():
    m = mappings.searches_mapping()
    assert m["properties"]["query"] == {"type": "percolator"}
    for name, spec in mappings.article_properties().items():
        assert m["properties"][name] == spec
    assert m["properties"]["search"]["properties"]["enabled"]["type"] == "boolean"


def test_dynamic_false_everywhere():
    for kind in mappings.KINDS:
        assert mappings.mapping_for(kind)["dynamic"] is False


def test_template_and_create_body_names():
    t = mappings.index_template("pfx", "articles", shards=2, replicas=1)
    assert t["index_patterns"] == ["pfx-articles-v*"]
    assert t["template"]["settings"]["number_of_shards"] == 2
    assert t["template"]["settings"]["number_of_replicas"] == 1
    body = mappings.create_index_body("pfx", "alerts", 1, 0)
    assert body["aliases"] == {"pfx-alerts": {"is_write_index": True}}
    assert mappings.concrete_index_name("pfx", "alerts") == "pfx-alerts-v1"


@pytest.fixture(scope="module")
def engine(engine_settings):
    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-map"})
    eng = SearchEngine.from_settings(s)
    eng.ensure_setup()
    yield eng
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_full_contract_document_is_accepted_and_searchable(engine):
    res = index_batch(engine, [CONTRACT_DOC], refresh=True)
    assert res.indexed == ["m1"] and not res.failed
    arts = engine.alias("articles")
    assert engine.count(arts, {"term": {"countries": "MX"}}) == 1
    assert engine.count(arts, {"nested": {"path": "quotes", "query": {"term": {"quotes.speaker": "Marisol Pineda"}}}}) == 1
    assert engine.count(arts, {"geo_distance": {"distance": "20km", "geo_points": {"lat": 31.75, "lon": -106.48}}}) == 1
    assert engine.count(arts, {"nested": {"path": "locations", "query": {"geo_distance": {
        "distance": "20km", "locations.location": {"lat": 31.75, "lon": -106.48}}}}}) == 1
    if engine.text_analysis() == "english":
        assert engine.count(arts, {"match": {"title": "juarez crossings"}}) == 1  # folding + stemming
    else:  # the standard analysis (no analysis-common module) lowercases only
        assert engine.count(arts, {"match": {"title": "JUÁREZ"}}) == 1
        assert engine.count(arts, {"match": {"title": "juarez"}}) == 0
    assert engine.count(arts, {"range": {"published_at": {"gte": "2026-11-28T13:00:00Z"}}}) == 1


@pytest.mark.integration
def test_unknown_fields_are_kept_but_not_indexed(engine):
    doc = copy.deepcopy(CONTRACT_DOC)
    doc.update({"id": "m2", "sentiment": {"score": 0.7, "label": "negative"}, "brand_new": "zebra"})
    doc["persons"][0]["wikidata"] = "Q123"
    res = index_batch(engine, [doc], refresh=True)
    assert res.indexed == ["m2"]
    stored = engine.get(engine.alias("articles"), "m2")
    assert stored["brand_new"] == "zebra" and stored["sentiment"]["label"] == "negative"
    assert engine.count(engine.alias("articles"), {"term": {"brand_new": "zebra"}}) == 0
    props = engine.request("GET", f"/{engine.alias('articles')}/_mapping")
    (index_mapping,) = props.values()
    assert "brand_new" not in index_mapping["mappings"]["properties"]
    assert "wikidata" not in index_mapping["mappings"]["properties"]["persons"]["properties"]


@pytest.mark.integration
def test_wrong_type_in_a_mapped_field_is_refused_per_item(engine):
    doc = copy.deepcopy(CONTRACT_DOC)
    doc.update({"id": "m3", "published_at": "not a date"})
    res = index_batch(engine, [doc, {**CONTRACT_DOC, "id": "m4"}])
    assert res.indexed == ["m4"]
    assert [f[0] for f in res.failed] == ["m3"] and "published_at" in res.failed[0][1]
