"""Tests of topic classification (pipeline.enrich.topics)."""
from __future__ import annotations

import json

import pytest

from pipeline.enrich.topics import DEFAULT_TOPICS_FILE, classify_topics, compile_cue, load_taxonomy
from pipeline.errors import ConfigError
from pipeline.settings import Settings

REQUIRED = {"migration", "border-crossing", "border-security", "asylum", "disaster", "conflict",
            "politics", "election", "business", "labour", "sport", "health", "crime"}


def test_shipped_taxonomy_is_complete():
    tax = load_taxonomy(DEFAULT_TOPICS_FILE)
    assert REQUIRED <= set(tax.names)
    for t in tax.topics:
        assert t.description and t.cues and t.threshold > 0


def test_cue_syntax():
    assert compile_cue("migrant*").search("Migrants arrived")
    assert not compile_cue("migrant*").search("immigrants arrived")
    assert compile_cue("broke through ... border").search("they broke through the Guatemalan border")
    assert not compile_cue("broke through ... border").search("broke through a fence and walked for many miles to the border")
    assert compile_cue("=CBP").search("CBP agents") and not compile_cue("=CBP").search("cbp")
    assert compile_cue("cross* the border").search("crossing the border")


def test_seed_article_topics(shared_dir):
    gold = json.loads((shared_dir / "seeds" / "000_10464508f682655b.gold.json").read_text())
    assert set(classify_topics(gold["title"], gold["text"], Settings())) == set(gold["topics"])


def test_passing_mention_is_not_a_topic():
    body = ("The home side won 3-1 in the league match on Saturday, with the striker scoring twice "
            "before the break. The coach praised his players and the fans who filled the stadium. "
            "Among the crowd were a group of migrants from a local shelter, invited by the club. "
            "The team now leads the league by four points with five matches left in the season.")
    topics = classify_topics("Home side extends league lead", body)
    assert "sport" in topics
    assert "migration" not in topics


def test_disaster_and_business():
    quake = ("A magnitude 7.1 earthquake struck southern Mexico on Tuesday, collapsing buildings and "
             "killing at least 40 people. Rescue workers dug through rubble overnight as aftershocks "
             "shook the region, and officials declared a state of emergency.")
    assert classify_topics("Powerful earthquake kills 40 in Mexico", quake) == ["disaster"]
    biz = ("Shares of the carmaker fell 8 percent after it reported quarterly profit below analysts' "
           "forecasts. Revenue rose to 4 billion dollars, but the company warned that tariffs on "
           "imports of steel would squeeze margins, and investors sold the stock.")
    assert "business" in classify_topics("Carmaker profit misses forecasts", biz)


def test_border_security_vs_crossing():
    body = ("The government will send 2,000 more troops to the border and extend the border wall by "
            "80 km, the interior minister said. Border patrol agents will get new drones for "
            "surveillance, and the border fence near the river will be raised.")
    topics = classify_topics("Troops and new wall for the border", body)
    assert "border-security" in topics
    assert "border-crossing" not in topics


def test_settings_override_and_malformed_file(tmp_path):
    good = tmp_path / "t.yaml"
    good.write_text("topics:\n  cats:\n    description: Cats.\n    threshold: 1\n    min_distinct: 1\n"
                    "    terms:\n      cat*: 2\n")
    assert classify_topics("", "The cat sat on the cats' mat.", Settings(topics_file=good)) == ["cats"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics:\n  cats:\n    terms: [cat]\n")
    with pytest.raises(ConfigError) as exc:
        load_taxonomy(bad)
    assert exc.value.reason == "topics_file" and "cats" in str(exc.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("topics: {cats: [\n")
    with pytest.raises(ConfigError, match="YAML"):
        load_taxonomy(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_taxonomy(tmp_path / "missing.yaml")
    weights = tmp_path / "w.yaml"
    weights.write_text("topics:\n  cats:\n    description: Cats.\n    terms:\n      cat: lots\n")
    with pytest.raises(ConfigError, match="weight"):
        load_taxonomy(weights)
