"""The search-engine adapter against the real OpenSearch node (and its pure helpers)."""
from __future__ import annotations

import pytest

from pipeline.index.engine import SearchEngine, engine_error_message
from pipeline.logs import redact_url
from pipeline.errors import EngineError, InvalidQueryError


def test_engine_error_message_takes_root_cause_and_deepest_reason():
    body = {"error": {
        "root_cause": [{"type": "query_shard_exception", "reason": "Failed to parse query [a:(]"}],
        "type": "search_phase_execution_exception", "reason": "all shards failed",
        "failed_shards": [{"reason": {"type": "query_shard_exception", "reason": "Failed to parse query [a:(]",
                                      "caused_by": {"type": "parse_exception", "reason": "Cannot parse 'a:(': EOF"}}}]}}
    assert engine_error_message(body) == "Failed to parse query [a:(] :: Cannot parse 'a:(': EOF"
    assert engine_error_message({"error": "alias [x] missing"}) == "alias [x] missing"
    assert engine_error_message(None) == "unknown error"


def test_redact_url_hides_credentials():
    assert redact_url("https://elastic:s3cret@es.example:9200") == "https://***@es.example:9200"
    assert redact_url("http://127.0.0.1:9251") == "http://127.0.0.1:9251"


def test_from_settings_builds_the_client_named_by_the_settings(settings):
    from elasticsearch import Elasticsearch
    from opensearchpy import OpenSearch

    eng = SearchEngine.from_settings(settings)
    assert isinstance(eng._transport.client, OpenSearch) and eng.engine == "opensearch"
    es_settings = settings.model_copy(update={"search_engine": "elasticsearch", "search_username": "elastic"})
    es = SearchEngine.from_settings(es_settings)
    assert isinstance(es._transport.client, Elasticsearch) and es.engine == "elasticsearch"


@pytest.mark.parametrize("client", ["opensearch", "elasticsearch"])
def test_unreachable_engine_is_a_transient_engine_error(settings, client):
    eng = SearchEngine.from_settings(settings.model_copy(update={"search_engine": client, "search_url": "http://127.0.0.1:9", "search_timeout_s": 2}))
    assert eng.ping() is False
    with pytest.raises(EngineError) as info:
        eng.ensure_setup()
    assert info.value.transient is True and info.value.reason == "engine_unreachable"


@pytest.fixture(scope="module")
def engine(engine_settings):
    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-eng"})
    eng = SearchEngine.from_settings(s)
    yield eng
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_info_and_health(engine, engine_settings):
    from wirewatch.devtools.services import node_identity

    assert engine.ping() is True
    info = engine.info()
    product, version = node_identity(engine_settings.search_url)
    assert product == engine.engine and version == info["version"]["number"]
    assert version.split(".")[0] in (("2", "3") if engine.engine == "opensearch" else ("7", "8", "9"))
    assert engine.health()["status"] in ("green", "yellow")


@pytest.mark.integration
def test_ensure_setup_is_idempotent(engine):
    first = {(s.what, s.kind): s.status for s in engine.ensure_setup()}
    assert first[("index", "articles")] == "created" and first[("template", "searches")] == "created"
    second = engine.ensure_setup()
    assert {s.status for s in second} == {"existed"}
    aliases = engine.request("GET", f"/_alias/{engine.alias('articles')}")
    assert list(aliases) == [f"{engine.prefix}-articles-v1"]
    settings = engine.request("GET", f"/{engine.prefix}-alerts-v1/_settings")
    assert settings[f"{engine.prefix}-alerts-v1"]["settings"]["index"]["number_of_replicas"] == "0"


@pytest.mark.integration
def test_ensure_setup_restores_a_missing_alias(engine):
    engine.ensure_setup()
    engine.request("POST", "/_aliases", {"actions": [{"remove": {"index": f"{engine.prefix}-alerts-v1", "alias": engine.alias("alerts")}}]})
    steps = {(s.what, s.kind): s.status for s in engine.ensure_setup()}
    assert steps[("index", "alerts")] == "existed" and steps[("alias", "alerts")] == "created"
    assert engine.request("GET", f"/_alias/{engine.alias('alerts')}")


@pytest.mark.integration
def test_get_delete_and_bulk_create_conflicts(engine):
    engine.ensure_setup()
    idx = engine.alias("alerts")
    assert engine.get(idx, "nope") is None
    assert engine.delete(idx, "nope") is False
    items = engine.bulk_index(idx, [{"alert_id": "a"}, {"alert_id": "a"}], "alert_id", op_type="create")
    assert [i.ok for i in items] == [True, False] and items[1].conflict
    assert engine.get(idx, "a") == {"alert_id": "a"}
    assert engine.delete(idx, "a", refresh=True) is True


@pytest.mark.integration
def test_invalid_query_raises_with_engine_message(engine):
    engine.ensure_setup()
    bad = {"query_string": {"query": "title:(", "fields": ["title"]}}
    with pytest.raises(InvalidQueryError) as info:
        engine.count(engine.alias("articles"), bad)
    assert "Cannot parse 'title:('" in str(info.value)
    assert "Cannot parse" in engine.validate_query(engine.alias("articles"), bad)
    assert engine.validate_query(engine.alias("articles"), {"match": {"title": "ok"}}) is None


@pytest.mark.integration
def test_percolate_many_documents_in_one_request(engine):
    engine.ensure_setup()
    idx = engine.alias("searches")
    engine.bulk([
        {"index": {"_index": idx, "_id": "q-mx"}}, {"query": {"term": {"countries": "MX"}}, "search": {"id": "q-mx", "enabled": True}},
        {"index": {"_index": idx, "_id": "q-quake"}}, {"query": {"match": {"body": "earthquake"}}, "search": {"id": "q-quake", "enabled": True}},
        {"index": {"_index": idx, "_id": "q-off"}}, {"query": {"match_all": {}}, "search": {"id": "q-off", "enabled": False}},
    ], refresh=True)
    docs = [{"countries": ["MX"], "body": "an earthquake"}, {"countries": ["US"], "body": "nothing"}, {"countries": ["MX"]}]
    out = engine.percolate(docs, filters=[{"term": {"search.enabled": True}}], source=["search.id"])
    assert [sorted(h["_id"] for h in hits) for hits in out] == [["q-mx", "q-quake"], [], ["q-mx"]]
    assert engine.percolate([docs[1]], filters=[{"term": {"search.enabled": True}}]) == [[]]
    assert engine.percolate([]) == []


@pytest.mark.integration
def test_percolate_in_chunks_keeps_document_order(engine):
    engine.ensure_setup()
    idx = engine.alias("searches")
    engine.bulk([{"index": {"_index": idx, "_id": "q-even"}}, {"query": {"term": {"topics": "even"}}, "search": {"id": "q-even", "enabled": True}},
                 {"index": {"_index": idx, "_id": "q-all"}}, {"query": {"exists": {"field": "topics"}}, "search": {"id": "q-all", "enabled": True}}],
                refresh=True)
    docs = [{"topics": ["even" if i % 2 == 0 else "odd"]} for i in range(7)]
    flt = [{"terms": {"search.id": ["q-even", "q-all"]}}]
    chunked = engine.percolate(docs, filters=flt, chunk_docs=2)
    whole = engine.percolate(docs, filters=flt, chunk_docs=100)
    expected = [["q-all", "q-even"] if i % 2 == 0 else ["q-all"] for i in range(7)]
    assert [sorted(h["_id"] for h in hits) for hits in chunked] == expected
    assert [sorted(h["_id"] for h in hits) for hits in whole] == expected


@pytest.mark.integration
def test_ensure_setup_upgrades_an_index_made_before_the_exact_sub_fields(engine_settings):
    """An index created by an older Wirewatch (no ``ww_exact`` analyzer, no ``.exact`` fields)
    gets both from ``ensure_setup``, keeps its documents, and then answers prefix queries."""
    import copy

    from pipeline.index import mappings
    from pipeline.alerts.searches import build_query

    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-upg"})
    with SearchEngine.from_settings(s) as eng:
        analysis = eng.text_analysis()
        old = mappings.create_index_body(eng.prefix, "articles", 1, 0, analysis)
        del old["settings"]["analysis"]["analyzer"]["ww_exact"]

        def strip(props):
            for spec in props.values():
                spec.get("fields", {}).pop("exact", None)
                strip(spec.get("properties", {}))
        old = copy.deepcopy(old)
        strip(old["mappings"]["properties"])
        try:
            eng.request("PUT", f"/{mappings.concrete_index_name(eng.prefix, 'articles')}", old)
            eng.bulk_index(eng.alias("articles"), [{"id": "u1", "body": "Migrants crossing"}], refresh=True)
            steps = eng.ensure_setup(["articles"])
            assert ("analysis", "updated") in {(st.what, st.status) for st in steps}
            assert eng.count(eng.alias("articles"), build_query("body:crossing*")) == 0  # indexed before
            eng.bulk_index(eng.alias("articles"), [{"id": "u1", "body": "Migrants crossing"}], refresh=True)
            assert eng.count(eng.alias("articles"), build_query("body:crossing*")) == 1
            assert [(st.what, st.status) for st in eng.ensure_setup(["articles"]) if st.what == "analysis"] == []
        finally:
            eng.delete_all()
