"""Story clustering (pipeline/dedupe/stories.py): pure functions on invented text, decisions and
records against the real Redis, relabelling against the real search engine, and the quality of
the whole method on the invented set of tests/fixtures/stories."""
from __future__ import annotations

import math
import uuid

import pytest

from pipeline.dedupe.stories import (
    StoryIndex,
    cosine,
    entity_features,
    key_terms,
    place_in_story,
    s_stem,
    story_score,
    weigh,
)


def test_s_stemmer_removes_plural_endings_only():
    assert s_stem("rescuers") == "rescuer"
    assert s_stem("cities") == "city"
    assert s_stem("crosses") == "crosse"  # -es -> -e (Harman's rule), same for "crosse" itself
    assert s_stem("status") == "status" and s_stem("glass") == "glass"
    assert s_stem("bus") == "bus"  # three letters: untouched


def test_key_terms_keep_numbers_and_drop_stop_and_reporting_words():
    terms = key_terms("Magnitude 6.3 quake", "The quake killed 14 people, officials said on Monday.")
    assert terms["t:6.3"] == 2 and terms["t:14"] == 1  # title counts twice
    assert terms["t:quake"] == 3 and terms["t:official"] == 1
    assert "t:the" not in terms and "t:said" not in terms and "t:on" not in terms


def test_entity_features_add_surnames_and_weigh_countries_down():
    doc = {"persons": [{"name": "Ana María Pérez", "mentions": 2}, {"name": "Pérez", "mentions": 1}],
           "organizations": [{"name": "Red Cross", "mentions": 1}],
           "locations": [{"name": "Chile", "geonames_id": 3895114, "feature": "country", "mentions": 1},
                         {"name": "Valparaíso", "geonames_id": 3868626, "feature": "city", "mentions": 2}]}
    f = entity_features(doc)
    assert f["n:ana maria perez"] == 2 and f["s:perez"] == 3  # the full name and the surname alone meet
    assert f["n:red cross"] == 1  # persons and organizations share one key space (NER mixes them up)
    assert f["l:3868626"] == 2 and math.isclose(f["l:3895114"], 0.3)


def test_weigh_is_unit_length_and_rarer_features_weigh_more():
    raw = {"t:flood": 1.0, "t:river": 1.0, "n:jane roe": 1.0}
    vec = weigh(raw, {"t:flood": 1, "t:river": 50, "n:jane roe": 1}, 100)
    assert math.isclose(math.sqrt(sum(w * w for w in vec.values())), 1.0)
    assert vec["t:flood"] > vec["t:river"] and vec["n:jane roe"] > vec["t:flood"]  # entities boosted
    assert math.isclose(cosine(vec, vec), 1.0) and cosine(vec, {"t:other": 1.0}) == 0.0


def test_story_score_needs_more_similarity_as_the_time_gap_grows():
    v = {"a": 1.0}
    near = story_score(v, [(0.5, 0.0, "m1", {"a": 1.0})], 48 * 3600)
    far = story_score(v, [(0.5, 48 * 3600.0, "m1", {"a": 1.0})], 48 * 3600)
    assert near[0] == 0.5 and math.isclose(far[0], 0.25) and far[1] == 0.5


# --- invented documents (already "enriched": no spaCy needed) ----------------------------------

def _doc(aid, title, body, *, domain, at, persons=(), orgs=(), places=(), quotes=(), dedupe=None):
    return {"id": aid, "title": title, "body": body, "published_at": at, "source": {"domain": domain},
            "persons": [{"name": p, "mentions": 1} for p in persons],
            "organizations": [{"name": o, "mentions": 1} for o in orgs],
            "locations": [{"name": n, "geonames_id": g, "feature": "city", "mentions": 1} for n, g in places],
            "countries": ["NO"], "quotes": [{"speaker": s, "text": "..."} for s in quotes],
            "dedupe": dedupe or {"cluster_id": aid, "duplicate_of": None}}


FERRY_A = _doc("a1", "Ferry runs aground off Bodø, 212 passengers evacuated",
               "The ferry Nordlys ran aground near Bodø on Friday night and all 212 passengers were evacuated "
               "by lifeboats, the coastal administration said. Captain Eirik Sand said fog hid the reef.",
               domain="one.example", at="2026-03-06T22:00:00+00:00", persons=["Eirik Sand"],
               orgs=["Norwegian Coastal Administration"], places=[("Bodø", 3160881)], quotes=["Eirik Sand"])
FERRY_B = _doc("b1", "212 evacuated after Nordlys ferry hits reef near Bodø",
               "Lifeboats carried 212 passengers ashore after the Nordlys struck a reef outside Bodø in thick fog. "
               "Sand, the captain, told rescuers the radar had failed before the ferry ran aground.",
               domain="two.example", at="2026-03-07T01:30:00+00:00", persons=["Sand"],
               orgs=["Norwegian Coastal Administration"], places=[("Bodø", 3160881)], quotes=["Sand"])
FERRY_DECOY = _doc("c1", "Cargo ship loses containers in storm off Tromsø",
                   "A cargo ship lost 40 containers in a storm off Tromsø on Sunday, the coastal administration "
                   "said. No one was hurt; the containers drifted toward the fjord.",
                   domain="three.example", at="2026-03-08T12:00:00+00:00",
                   orgs=["Norwegian Coastal Administration"], places=[("Tromsø", 3133880)])


@pytest.fixture()
def stories(settings, redis_client):
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:st{uuid.uuid4().hex[:6]}"})
    yield StoryIndex(redis_client, s)
    for key in redis_client.scan_iter(f"{s.redis_key_prefix}:*", count=1000):
        redis_client.delete(key)


@pytest.mark.integration
def test_same_event_from_two_outlets_is_one_story_and_a_decoy_is_not(stories):
    a = stories.assign(dict(FERRY_A))
    b = stories.assign(dict(FERRY_B))
    c = stories.assign(dict(FERRY_DECOY))
    assert a.new and a.story_id == "a1"
    assert not b.new and b.story_id == "a1" and b.matched == "a1" and b.similarity >= stories.threshold
    assert c.new and c.story_id == "c1"
    # idempotent per article: a retried task gets the same story and counts nothing twice
    assert stories.assign(dict(FERRY_B)).story_id == "a1"
    rec = stories.get("a1")
    assert rec["article_count"] == 2
    assert {o["name"] for o in rec["outlets"]} == {"one.example", "two.example"}
    assert rec["first_seen"].startswith("2026-03-06T22:00") and rec["last_seen"].startswith("2026-03-07T01:30")
    assert rec["title"] in (FERRY_A["title"], FERRY_B["title"])
    assert rec["speakers"][0]["count"] == 1 and {s["name"] for s in rec["speakers"]} == {"Eirik Sand", "Sand"}
    listed = stories.list(None)
    assert [r["id"] for r in listed] == ["c1", "a1"]  # most recently active first


@pytest.mark.integration
def test_articles_outside_the_time_window_start_a_new_story(stories):
    stories.assign(dict(FERRY_A))
    late = dict(FERRY_B, id="b2", published_at="2026-03-12T01:30:00+00:00")  # 4 days later, window 24 h
    assert stories.assign(late).new


@pytest.mark.integration
def test_wire_copy_joins_its_originals_story_even_when_decided_first(stories):
    stories.assign(dict(FERRY_A))
    # a copy of FERRY_B arrives (dedupe decided) before FERRY_B itself is enriched
    copy = _doc("b1-copy", FERRY_B["title"], FERRY_B["body"], domain="wire.example", at="2026-03-07T01:35:00+00:00",
                dedupe={"cluster_id": "b1", "duplicate_of": "b1"})
    first = stories.assign_duplicate(copy)
    assert first.provisional and first.story_id == "b1"
    b = stories.assign(dict(FERRY_B))
    assert b.story_id == "a1" and b.moved == ["b1-copy"]
    assert stories.story_of("b1-copy") == "a1"
    # a later copy of the same original goes straight to the story
    later = dict(copy, id="b1-copy2")
    assert stories.assign_duplicate(later).story_id == "a1"
    assert stories.get("a1")["article_count"] == 4 and stories.get("a1")["copies"] == 2


@pytest.mark.integration
def test_place_in_story_relabels_copies_already_indexed(stories, settings, search_url, redis_client):
    from pipeline.index.engine import SearchEngine
    from pipeline.index.bulk import index_batch
    from pipeline.store import PayloadStore

    s = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-stories"})
    with SearchEngine.from_settings(s) as engine:
        engine.ensure_setup(["articles"])
        store = PayloadStore(redis_client, stories.settings)
        place_in_story(stories, doc_a := dict(FERRY_A), store=store, engine=engine)
        copy = _doc("b1-copy", FERRY_B["title"], FERRY_B["body"], domain="wire.example", at="2026-03-07T01:35:00+00:00",
                    dedupe={"cluster_id": "b1", "duplicate_of": "b1"})
        place_in_story(stories, copy, store=store, engine=engine)
        assert copy["story"]["id"] == "b1"
        index_batch(engine, [doc_a, copy], refresh=True)
        doc_b = dict(FERRY_B)
        decision = place_in_story(stories, doc_b, store=store, engine=engine)
        assert decision.moved == ["b1-copy"] and doc_b["story"]["id"] == "a1"
        engine.refresh(engine.alias("articles"))
        assert engine.get(engine.alias("articles"), "b1-copy")["story"]["id"] == "a1"


@pytest.mark.integration
def test_invented_set_meets_the_precision_and_recall_targets(settings, redis_client):
    """The whole method (real enrichment, real Redis) on tests/fixtures/stories at the default
    settings; `wirewatch bench stories` reports the same figures and the threshold sweep."""
    from wirewatch.devtools.bench.stories import cluster, enrich_fixture, load_articles, pairwise

    docs = enrich_fixture(load_articles(), settings)
    truth, pred = cluster(docs, redis_client, settings, settings.story_threshold)
    q = pairwise(truth, pred)
    assert q["precision"] >= 0.95 and q["recall"] >= 0.85, q


def test_pairwise_scores_count_pairs():
    from wirewatch.devtools.bench.stories import pairwise

    q = pairwise(["x", "x", "y", "y"], ["1", "1", "1", "2"])
    assert (q["tp"], q["fp"], q["fn"]) == (1, 2, 1)
    assert q["precision"] == round(1 / 3, 4) and q["recall"] == 0.5


@pytest.mark.integration
def test_cli_stories_list_and_show(stories, settings, search_url, redis_client, monkeypatch):
    import json

    from typer.testing import CliRunner

    from pipeline.index.engine import SearchEngine
    from pipeline.index.bulk import index_batch
    from pipeline.logs import configure_logging
    from pipeline.settings import get_settings
    from wirewatch.cli import app

    s = stories.settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-stcli"})
    docs = [dict(FERRY_A), dict(FERRY_B), dict(FERRY_DECOY)]
    with SearchEngine.from_settings(s) as engine:
        engine.ensure_setup(["articles"])
        for d in docs:
            place_in_story(stories, d)
        index_batch(engine, docs, refresh=True)
        monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", s.index_prefix)
        monkeypatch.setenv("WIREWATCH_REDIS_KEY_PREFIX", s.redis_key_prefix)
        get_settings.cache_clear()
        try:
            runner = CliRunner()
            res = runner.invoke(app, ["stories", "list", "--min-articles", "2", "--format", "json"])
            assert res.exit_code == 0, res.output
            assert [r["id"] for r in json.loads(res.stdout)] == ["a1"]
            res = runner.invoke(app, ["stories", "show", "a1", "--format", "json"])
            assert res.exit_code == 0, res.output
            shown = json.loads(res.stdout)
            assert [a["id"] for a in shown["articles"]] == ["a1", "b1"]  # oldest first
            assert shown["article_count"] == 2 and shown["places"][0]["name"] == "Bodø"
            missing = runner.invoke(app, ["stories", "show", "nope"])
            assert missing.exit_code == 1 and "no story" in missing.output
        finally:
            get_settings.cache_clear()
            configure_logging("INFO", "json")
            engine.delete_all()
