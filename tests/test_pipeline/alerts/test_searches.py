"""Saved searches: model validation, query building (pure), and percolation of every filter
type on the real node."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pipeline.index.engine import SearchEngine
from pipeline.errors import ConfigError, InvalidQueryError
from pipeline.document import to_index_doc
from pipeline.index.bulk import index_batch
from pipeline.alerts.searches import (SavedSearch, SavedSearchStore, SearchFilters, build_query, read_searches_yaml,
                               resolve_near, slugify, to_percolator_query)

REPO = Path(__file__).resolve().parents[3]

JUAREZ = {"lat": 31.72024, "lon": -106.46084}
BASE = {
    "id": "b1", "url": "https://frontera.example/b1", "canonical_url": "https://frontera.example/b1",
    "title": "Dozens cross the Rio Grande near Ciudad Juárez", "body": "Migrants waded across the river at dawn.",
    "language": "en", "published_at": "2026-11-28T13:45:00+00:00", "fetched_at": "2026-11-28T14:00:00+00:00",
    "source": {"domain": "frontera.example", "feed_url": "https://frontera.example/feed"},
    "persons": [{"name": "Marisol Pineda", "mentions": 2}], "organizations": [{"name": "CBP", "mentions": 1}],
    "locations": [{"name": "Ciudad Juárez", "geonames_id": 4013708, "country_code": "MX", "admin1": "Chihuahua",
                   "feature": "city", "mentions": 3, **JUAREZ}],
    "countries": ["MX", "US"],
    "quotes": [{"text": "There was no more room", "speaker": "Marisol Pineda", "speaker_text": "Pineda",
                "verb": "told", "start": 0, "end": 10}],
    "topics": ["border-crossing"], "dedupe": {"content_hash": "h1", "cluster_id": "b1", "duplicate_of": None},
}
OTHER = {
    "id": "o1", "url": "https://meridian.example/o1", "canonical_url": "https://meridian.example/o1",
    "title": "Magnitude 6.2 earthquake shakes Oaxaca coast", "body": "Dos muertos. Two dead.", "language": "es",
    "published_at": "2026-11-25T17:02:00+00:00", "fetched_at": "2026-11-25T17:30:00+00:00",
    "source": {"domain": "meridian.example", "feed_url": "https://meridian.example/atom"},
    "persons": [{"name": "Emiliano Santibáñez", "mentions": 2}], "organizations": [{"name": "SSN", "mentions": 1}],
    "locations": [{"name": "Oaxaca", "lat": 17.06542, "lon": -96.72365, "country_code": "MX", "mentions": 2}],
    "countries": ["MX"], "quotes": [{"text": "We have teams", "speaker": "Emiliano Santibáñez", "speaker_text": "Santibáñez",
                                     "verb": "told", "start": 0, "end": 5}],
    "topics": ["disaster"], "dedupe": {"content_hash": "h2", "cluster_id": "o1", "duplicate_of": None},
}


# --- pure ------------------------------------------------------------------------------------

def test_slug_and_flat_filters():
    s = SavedSearch.model_validate({"name": "Border crossings near Ciudad Juárez", "countries": ["mx"],
                                    "near": {"place": "Ciudad Juárez", "distance_km": 150}})
    assert s.id == "border-crossings-near-ciudad-juarez"
    assert s.filters.countries == ["MX"] and s.filters.near.place == "Ciudad Juárez"
    assert slugify("  ¡Hola, Señor!  ") == "hola-senor"


@pytest.mark.parametrize("data,message", [
    ({"name": "empty"}, "needs a query or at least one filter"),
    ({"name": "x", "query": "   "}, "needs a query or at least one filter"),
    ({"name": "x", "countries": ["Mexico"]}, "alpha-2"),
    ({"name": "x", "near": {"lat": 10}}, "both lat and lon"),
    ({"name": "x", "near": {"distance_km": 5}}, "place or lat/lon"),
    ({"name": "x", "query": "a", "colour": "red"}, "colour"),
])
def test_invalid_saved_searches_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        SavedSearch.model_validate(data)


def test_domains_are_normalized():
    f = SearchFilters(domains=["https://www.Frontera.example/news", "meridian.example"])
    assert f.domains == ["frontera.example", "meridian.example"]


def test_build_query_shapes():
    assert build_query(None, None) == {"match_all": {}}
    q = build_query("border AND cross", SearchFilters(speakers=["A B"], near={"lat": 1, "lon": 2, "distance_km": 50}))
    assert q["bool"]["must"][0]["query_string"]["default_operator"] == "AND"
    assert {"nested": {"path": "quotes", "query": {"terms": {"quotes.speaker.folded": ["A B"]}}}} in q["bool"]["filter"]
    assert {"geo_distance": {"distance": "50km", "geo_points": {"lat": 1.0, "lon": 2.0}}} in q["bool"]["filter"]
    with pytest.raises(ValueError, match="not resolved"):
        build_query(None, SearchFilters(near={"place": "Tijuana"}))


def test_resolve_near_uses_the_resolver_and_refuses_unknown_places():
    places = {"Tijuana": {"lat": 32.5027, "lon": -117.00371}}
    f = resolve_near(SearchFilters(near={"place": "Tijuana", "distance_km": 150}), places.get)
    assert (f.near.lat, f.near.lon, f.near.place) == (32.5027, -117.00371, "Tijuana")
    with pytest.raises(ConfigError, match="unknown place"):
        resolve_near(SearchFilters(near={"place": "Atlantis"}), places.get)


def test_shipped_searches_yaml_parses():
    found = read_searches_yaml(REPO / "config" / "searches.yaml")
    assert len(found) == 3
    assert any(s.filters.near is not None for s in found)
    assert any(s.filters.speakers for s in found)


# --- on the node -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(engine_settings):
    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-srch"})
    eng = SearchEngine.from_settings(s)
    eng.ensure_setup()
    index_batch(eng, [BASE, OTHER], refresh=True)
    yield eng
    eng.delete_all()
    eng.close()


@pytest.fixture()
def store(engine):
    st = SavedSearchStore(engine, resolver={"Ciudad Juárez": JUAREZ, "El Paso": {"lat": 31.75872, "lon": -106.48693},
                                            "Tijuana": {"lat": 32.5027, "lon": -117.00371}}.get)
    yield st
    for s in st.list():
        st.delete(s.id)


def _matches(engine, store, search: dict, doc: dict) -> bool:
    s = store.add(SavedSearch.model_validate({"name": "t", **search}), replace=True)
    hits = engine.percolate([to_index_doc(doc)], source=["search.id"])[0]
    store.delete(s.id)
    return any(h["_id"] == s.id for h in hits)


CASES = [
    # (search, matches BASE, matches OTHER)
    ({"query": "crossing AND border"}, False, False),  # "border" is absent from BASE's title and body
    ({"query": "cross AND (river OR border)"}, True, False),
    ({"query": "juarez"}, True, False),  # accent folding
    ({"query": "title:earthquake"}, False, True),
    ({"persons": ["marisol pineda"]}, True, False),  # case-insensitive
    ({"persons": ["Emiliano Santibanez"]}, False, True),  # accent-insensitive
    ({"organizations": ["CBP", "Nobody"]}, True, False),
    ({"speakers": ["Marisol Pineda"]}, True, False),
    ({"speakers": ["Someone Else"]}, False, False),
    ({"countries": ["US"]}, True, False),
    ({"countries": ["MX"]}, True, True),
    ({"topics": ["disaster"]}, False, True),
    ({"language": "es"}, False, True),
    ({"domains": ["www.frontera.example"]}, True, False),
    ({"near": {"place": "El Paso", "distance_km": 20}}, True, False),
    ({"near": {"place": "Tijuana", "distance_km": 150}}, False, False),
    ({"near": {"lat": 17.0, "lon": -96.7, "distance_km": 50}}, False, True),
    ({"query": "migrants", "countries": ["MX"], "near": {"place": "Ciudad Juárez", "distance_km": 100}}, True, False),
    ({"query": "migrants", "topics": ["disaster"]}, False, False),  # filters are ANDed
    ({"query": "juárez"}, True, False),
    ({"persons": ["emiliano santibáñez"]}, False, True),  # case-insensitive, accents as written
    # Prefix, wildcard, fuzzy and regexp terms match the words as written although title and
    # body are stemmed ("migrants" is indexed as "migrant", "waded" as "wade", "dozens" as "dozen").
    ({"query": "migrants*"}, True, False),
    ({"query": "body:waded*"}, True, False),
    ({"query": "title:doze?s"}, True, False),
    ({"query": "migrnats~1"}, True, False),  # one transposition from "migrants", two edits from "migrant"
    ({"query": "body:/wad.d/"}, True, False),
    ({"query": "body:(crossed* OR waded*) AND river"}, True, False),
    ({"query": "earthquakes*"}, False, False),  # a prefix longer than the word finds nothing
    ({"query": "NOT migra*", "countries": ["MX"]}, False, True),
    ({"query": '"waded across the river"'}, True, False),  # phrases stay on the stemmed fields
    ({"query": '"wades across the rivers"'}, True, False),  # ... and are stemmed (english analysis)
]
#: Cases that need ASCII folding or stemming (``text_analysis = english``); on an engine without
#: them (Elasticsearch's integ-test node: ``standard`` analysis) they must NOT match.
NEEDS_ENGLISH = ({"query": "juarez"}, {"persons": ["Emiliano Santibanez"]}, {"query": '"wades across the rivers"'})


def _expected(engine, search, base, other) -> tuple[bool, bool]:
    if search in NEEDS_ENGLISH and engine.text_analysis() != "english":
        return False, False
    return base, other


@pytest.mark.integration
@pytest.mark.parametrize("search,base,other", CASES)
def test_percolation_of_each_filter_type(engine, store, search, base, other):
    base, other = _expected(engine, search, base, other)
    assert _matches(engine, store, search, BASE) is base
    assert _matches(engine, store, search, OTHER) is other


@pytest.mark.integration
@pytest.mark.parametrize("search,base,other", CASES)
def test_search_and_percolator_agree(engine, store, search, base, other):
    """The same query body run as a search over the indexed documents finds the same ones."""
    base, other = _expected(engine, search, base, other)
    s = store.prepare(SavedSearch.model_validate({"name": "t", **search}))
    ids = {h["_id"] for h in engine.search(engine.alias("articles"), {"query": to_percolator_query(s)})["hits"]["hits"]}
    assert ids == {i for i, hit in (("b1", base), ("o1", other)) if hit}


@pytest.mark.integration
def test_invalid_query_is_refused_with_the_engine_message(engine, store):
    with pytest.raises(InvalidQueryError) as info:
        store.add(SavedSearch(name="broken", query='title:(border AND "rio'))
    assert "Cannot parse" in str(info.value) or "Failed to parse" in str(info.value)
    assert store.get("broken") is None


@pytest.mark.integration
def test_crud_enable_disable(engine, store):
    store.add(SavedSearch(name="Quakes", query="earthquake", notify=[{"type": "log"}]))
    with pytest.raises(ConfigError, match="exists"):
        store.add(SavedSearch(name="Quakes", query="earthquake"))
    got = store.get("quakes")
    assert got.query == "earthquake" and got.enabled and got.notify == [{"type": "log"}] and got.created_at
    enabled_filter = [{"term": {"search.enabled": True}}]
    assert [h["_id"] for h in engine.percolate([to_index_doc(OTHER)], filters=enabled_filter)[0]] == ["quakes"]
    assert store.disable("quakes").enabled is False
    assert engine.percolate([to_index_doc(OTHER)], filters=enabled_filter) == [[]]
    assert store.list(enabled=False)[0].id == "quakes" and store.list(enabled=True) == []
    assert store.enable("quakes").enabled is True
    assert store.delete("quakes") is True and store.delete("quakes") is False
    with pytest.raises(ConfigError):
        store.disable("quakes")


@pytest.mark.integration
def test_load_yaml_creates_then_leaves_unchanged_then_updates(engine, store, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("searches:\n  - name: Quakes\n    query: earthquake\n  - name: Border\n    near: {place: El Paso, distance_km: 30}\n")
    assert store.load_yaml(path) == [{"id": "quakes", "status": "created"}, {"id": "border", "status": "created"}]
    assert store.load_yaml(path) == [{"id": "quakes", "status": "unchanged"}, {"id": "border", "status": "unchanged"}]
    path.write_text("searches:\n  - name: Quakes\n    query: earthquake OR flood\n")
    assert store.load_yaml(path) == [{"id": "quakes", "status": "updated"}]
    assert store.get("quakes").query == "earthquake OR flood"
    bad = tmp_path / "bad.yaml"
    bad.write_text("searches:\n  - query: no name\n")
    with pytest.raises(ConfigError, match="searches\\[0\\]"):
        store.load_yaml(bad)


@pytest.mark.integration
def test_shipped_searches_load_and_match_the_demo_border_story(engine, store):
    results = store.load_yaml(REPO / "config" / "searches.yaml")
    assert {r["status"] for r in results} == {"created"}
    hits = engine.percolate([to_index_doc(BASE)], filters=[{"term": {"search.enabled": True}}])[0]
    assert "border-crossings-ciudad-juarez" in {h["_id"] for h in hits}
    hits = engine.percolate([to_index_doc(OTHER)], filters=[{"term": {"search.enabled": True}}])[0]
    assert {h["_id"] for h in hits} == {"natural-disasters"}


@pytest.mark.integration
def test_matching_articles_leaves_duplicates_out(engine, store):
    dup = copy.deepcopy(BASE)
    dup.update({"id": "b1-copy", "dedupe": {"content_hash": "h1", "cluster_id": "b1", "duplicate_of": "b1"}})
    index_batch(engine, [dup], refresh=True)
    s = SavedSearch(name="Pineda", persons=["Marisol Pineda"])
    ids = [h["_id"] for h in store.matching_articles(s)["hits"]["hits"]]
    assert ids == ["b1"]
    ids = sorted(h["_id"] for h in store.matching_articles(s, include_duplicates=True)["hits"]["hits"])
    assert ids == ["b1", "b1-copy"]
    engine.delete(engine.alias("articles"), "b1-copy", refresh=True)


# --- CLI ------------------------------------------------------------------------------------------

@pytest.fixture()
def cli(monkeypatch, engine_environ):
    """Invoke the ``wirewatch`` CLI with a per-test index prefix; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    settings = engine_environ
    prefix = f"{settings.index_prefix}-cli"
    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", prefix)
    monkeypatch.setenv("WIREWATCH_INDEX_REPLICAS", "0")
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str):
        res = runner.invoke(app, list(args))
        return res.exit_code, res.stdout, res.stderr

    yield invoke
    get_settings.cache_clear()
    eng = SearchEngine.from_settings(settings.model_copy(update={"index_prefix": prefix}))
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_cli_init_is_idempotent_and_loads_the_searches_file(cli):
    import json

    yaml_path = str(REPO / "config" / "searches.yaml")
    code, out, _ = cli("init", "--searches-file", yaml_path, "--format", "json")
    assert code == 0, out
    first = json.loads(out)
    assert {s["status"] for s in first["steps"]} == {"created"}
    assert {s["status"] for s in first["searches"]} == {"created"}
    code, out, _ = cli("init", "--searches-file", yaml_path, "--format", "json")
    second = json.loads(out)
    assert {s["status"] for s in second["steps"]} == {"existed"}
    assert {s["status"] for s in second["searches"]} == {"unchanged"}
    code, out, _ = cli("init", "--no-searches")
    assert code == 0 and "existed" in out


@pytest.mark.integration
def test_cli_saved_search_lifecycle_and_search(cli):
    import json

    assert cli("init", "--no-searches")[0] == 0
    code, _, err = cli("searches", "add", "Broken", "--query", "body:(unclosed")
    assert code == 1 and "refused the query" in err and "Cannot parse" in err
    code, out, err = cli("searches", "add", "Juarez crossings", "--query", "cross", "--near", "31.72,-106.46",
                         "--within-km", "80", "--country", "mx", "--format", "json")
    assert code == 0, err
    added = json.loads(out)
    assert added["id"] == "juarez-crossings" and added["filters"]["countries"] == ["MX"]
    assert added["filters"]["near"]["distance_km"] == 80
    code, out, _ = cli("searches", "list", "--format", "json")
    assert [s["id"] for s in json.loads(out)] == ["juarez-crossings"]
    assert cli("searches", "disable", "juarez-crossings")[0] == 0
    code, out, _ = cli("searches", "show", "juarez-crossings", "--format", "json")
    shown = json.loads(out)
    assert shown["enabled"] is False and "geo_distance" in json.dumps(shown["engine_query"])
    code, _, err = cli("searches", "show", "nope")
    assert code == 1 and "no saved search" in err
    # index two articles, then search and test the saved search
    from pipeline.settings import get_settings

    eng = SearchEngine.from_settings(get_settings())
    index_batch(eng, [BASE, OTHER], refresh=True)
    code, out, _ = cli("search", "river", "--format", "json")
    hits = json.loads(out)["hits"]
    assert [h["id"] for h in hits] == ["b1"] and "«river»" in hits[0]["highlight"]
    code, out, _ = cli("search", "body:migrants* OR earthquake*", "--format", "json")
    hits = {h["id"]: h for h in json.loads(out)["hits"]}
    assert sorted(hits) == ["b1", "o1"]
    assert "«Migrants»" in hits["b1"]["highlight"] and "«earthquake»" in hits["o1"]["highlight"]
    code, out, _ = cli("search", "--country", "MX", "--sort", "date", "--format", "json")
    assert [h["id"] for h in json.loads(out)["hits"]] == ["b1", "o1"]
    code, out, _ = cli("search", "--speaker", "emiliano santibáñez", "--format", "json")
    assert [h["id"] for h in json.loads(out)["hits"]] == ["o1"]
    code, out, _ = cli("searches", "test", "juarez-crossings", "--format", "json")
    assert [(h["id"], h["alerted"]) for h in json.loads(out)["hits"]] == [("b1", "no")]
    from pipeline.alerts.percolate import match_alerts

    cli("searches", "enable", "juarez-crossings")
    assert [e.search_id for e in match_alerts(eng, [BASE], refresh=True)] == ["juarez-crossings"]
    code, out, _ = cli("searches", "test", "juarez-crossings", "--format", "json")
    assert json.loads(out)["hits"][0]["alerted"] != "no"
    code, out, _ = cli("searches", "history", "juarez-crossings", "--format", "json")
    assert code == 0 and [e["article_id"] for e in json.loads(out)] == ["b1"]
    assert cli("searches", "delete", "juarez-crossings")[0] == 0
    assert cli("searches", "delete", "juarez-crossings")[0] == 1


def test_cli_reports_an_unreachable_engine(monkeypatch):
    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    monkeypatch.setenv("WIREWATCH_SEARCH_URL", "http://user:pw@127.0.0.1:9")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["init"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 1
    assert "cannot reach the search engine" in res.stderr and "wirewatch services up" in res.stderr
    assert "pw@" not in res.stderr
