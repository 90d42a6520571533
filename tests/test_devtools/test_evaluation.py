"""Unit tests of the gold-set scorer (wirewatch.devtools.evaluation): pure functions, no model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import GoldFormatError
from pipeline.geo import haversine_km
from wirewatch.devtools.evaluation import (
    WITHIN_KM,
    gold_from_dict,
    load_gold,
    load_gold_dir,
    normalize_name,
    normalize_quote,
    score_document,
    score_set,
)

GOLD_DIR = Path(__file__).resolve().parents[1] / "gold"


def _gold(**over):
    data = {
        "title": "t",
        "text": "Body text.",
        "gold": {
            "persons": ["Mike Pompeo", "Luis Videgaray"],
            "organizations": ["European Union", "Radio Formula"],
            "organization_aliases": {"European Union": ["EU"]},
            "locations": [
                {"name": "United States", "aliases": ["US"], "country_code": "US", "kind": "country", "lat": 39.8, "lon": -98.6},
                {"name": "Ciudad Hidalgo", "aliases": [], "country_code": "MX", "kind": "city", "lat": 14.68, "lon": -92.15},
                {"name": "Texas", "aliases": [], "country_code": "US", "kind": "state", "lat": 31.25, "lon": -99.25},
            ],
            "quotes": [
                {"text": "We are quickly reaching a point which appears to be a moment of crisis", "speaker": "Mike Pompeo", "speaker_type": "person"},
                {"text": "Mexico defines Mexico's migration policy", "speaker": "Luis Videgaray", "speaker_type": "person"},
                {"text": "All crew are accounted for.", "speaker": "European Union", "speaker_type": "organization"},
                {"text": "nobody knows", "speaker": None, "speaker_type": None},
            ],
            "excluded_quoted_spans": ["Fortress Europe"],
        },
        "topics": ["migration", "politics"],
    }
    data["gold"].update(over.pop("gold", {}))
    data.update(over)
    return gold_from_dict(data, name="unit.gold.json")


def _perfect():
    return {
        "persons": [{"name": "Mike Pompeo", "mentions": 3}, {"name": "Luis Videgaray", "mentions": 2}],
        "organizations": [{"name": "European Union"}, {"name": "Radio Formula"}],
        "locations": [
            {"name": "United States", "country_code": "US", "lat": 39.76, "lon": -98.5},
            {"name": "Ciudad Hidalgo", "country_code": "MX", "lat": 14.68, "lon": -92.15},
            {"name": "Texas", "country_code": "US", "lat": 31.25, "lon": -99.25},
        ],
        "quotes": [
            {"text": "We are quickly reaching a point which appears to be a moment of crisis", "speaker": "Mike Pompeo"},
            {"text": "Mexico defines Mexico’s migration policy", "speaker": "Luis Videgaray"},
            {"text": "All crew are accounted for", "speaker": "EU"},
            {"text": "nobody knows", "speaker": None},
        ],
        "topics": ["politics", "migration"],
    }


def test_perfect_prediction_scores_one():
    rep = score_set([(_gold(), _perfect())])
    figs = rep.figures
    for key in ("persons_f1", "organizations_f1", "locations_f1", "quotes_f1", "speaker_accuracy",
                "within_161km", "within_161km_all", "topics_f1", "topic_migration_f1"):
        assert figs[key] == 1.0, key
    assert rep.misses == []
    assert rep.fields["quotes"].tp == 4


def test_known_misses_are_counted():
    pred = _perfect()
    pred["persons"] = [{"name": "Pompeo"}, {"name": "Luis Videgaray"}, {"name": "Honduran"}]
    pred["topics"] = ["politics", "border-crossing"]
    ds = score_document(_gold(), pred)
    p = ds.fields["persons"]
    assert (p.tp, p.fp, p.fn) == (1, 2, 1)
    assert p.precision == pytest.approx(1 / 3)
    assert p.recall == pytest.approx(1 / 2)
    kinds = {(m["field"], m["kind"], m["gold"] or m["predicted"]) for m in ds.misses}
    assert ("persons", "false_negative", "Mike Pompeo") in kinds
    assert ("persons", "false_positive", "Honduran") in kinds
    assert ("topics", "false_positive", "border-crossing") in kinds
    assert ("topics", "false_negative", "migration") in kinds
    assert ds.topic_labels["migration"].fn == 1
    assert ds.topic_labels["politics"].tp == 1


def test_titles_possessives_and_accents_normalise():
    assert normalize_name("Gov. Greg Abbott's") == "greg abbott"
    assert normalize_name("Dr Ana Núñez") == "ana nunez"
    assert normalize_name("the Royal Navy") == "royal navy"
    assert normalize_name("President") == "president"
    ds = score_document(_gold(), {**_perfect(), "persons": [{"name": "Sec. of State Mike Pompeo"}, {"name": "Mr. Luis Videgaray"}]})
    # "Sec. of State ..." is not a title form we strip ("sec" is not in TITLES): a miss
    assert ds.fields["persons"].tp == 1


def test_organization_alias_matches_and_unmerged_alias_is_false_positive():
    pred = _perfect()
    pred["organizations"] = [{"name": "EU"}, {"name": "Radio Formula"}]
    assert score_document(_gold(), pred).fields["organizations"].f1 == 1.0
    pred["organizations"] = [{"name": "European Union"}, {"name": "EU"}, {"name": "Radio Formula"}]
    ds = score_document(_gold(), pred)
    assert (ds.fields["organizations"].tp, ds.fields["organizations"].fp) == (2, 1)
    assert any(m["kind"] == "unmerged_alias" and m["predicted"] == "EU" for m in ds.misses)


def test_alias_map_in_reverse_direction_is_accepted():
    g = _gold(gold={"organization_aliases": {"EU": "European Union"}})
    assert g.organization_aliases == {"European Union": ["EU"]}


def test_location_matches_by_alias_and_surface_form():
    pred = _perfect()
    pred["locations"] = [
        {"name": "US", "country_code": "US", "lat": 39.76, "lon": -98.5},
        {"name": "Cd. Hidalgo (Chiapas)", "surface_forms": ["Ciudad Hidalgo"], "country_code": "MX", "lat": 14.68, "lon": -92.15},
        {"name": "Texas", "country_code": "US", "lat": 31.0, "lon": -100.0},
    ]
    ds = score_document(_gold(), pred)
    assert ds.fields["locations"].f1 == 1.0
    assert ds.within.value == 1.0


def test_distance_rule_161_km():
    # one degree of latitude is about 111.2 km
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.05)
    assert haversine_km(14.68, -92.15, 19.69, -100.55) > 1000
    pred = _perfect()
    pred["locations"][1] = {"name": "Ciudad Hidalgo", "country_code": "MX", "admin1": "Michoacan", "lat": 19.69, "lon": -100.55}
    ds = score_document(_gold(), pred)
    assert ds.fields["locations"].f1 == 1.0  # the name is right ...
    assert (ds.within.hits, ds.within.total) == (2, 3)  # ... the place is not
    assert any(m["kind"] == "far_place" and m["gold"].startswith("Ciudad Hidalgo") for m in ds.misses)
    # just inside and just outside the threshold (1.44 and 1.46 degrees of latitude)
    near = dict(pred["locations"][1], lat=14.68 + 1.44, lon=-92.15)
    far = dict(pred["locations"][1], lat=14.68 + 1.46, lon=-92.15)
    assert haversine_km(14.68, -92.15, near["lat"], near["lon"]) < WITHIN_KM < haversine_km(14.68, -92.15, far["lat"], far["lon"])
    pred["locations"][1] = near
    assert score_document(_gold(), pred).within.hits == 3
    pred["locations"][1] = far
    assert score_document(_gold(), pred).within.hits == 2


def test_country_counts_by_code_and_missing_coordinates_is_a_miss():
    pred = _perfect()
    pred["locations"][0] = {"name": "United States", "country_code": "US", "lat": 45.0, "lon": -120.0}
    pred["locations"][1] = {"name": "Ciudad Hidalgo", "country_code": "MX"}
    ds = score_document(_gold(), pred)
    assert (ds.within.hits, ds.within.total) == (2, 3)
    assert any(m["kind"] == "no_coordinates" for m in ds.misses)


def test_unmatched_gold_place_counts_in_within_all_only():
    pred = _perfect()
    pred["locations"] = pred["locations"][:2]
    ds = score_document(_gold(), pred)
    assert (ds.within.hits, ds.within.total) == (2, 2)
    assert (ds.within_all.hits, ds.within_all.total) == (2, 3)


def test_quote_matching_tolerates_marks_and_punctuation_not_halves():
    assert normalize_quote("‘Mexico’s policy,’") == normalize_quote("'Mexico's policy'") == ["mexicos", "policy"]
    pred = _perfect()
    pred["quotes"][0] = {"text": "We are quickly reaching a point which appears to be a moment of crisis.’", "speaker": "Mike Pompeo"}
    assert score_document(_gold(), pred).fields["quotes"].tp == 4
    pred["quotes"][0] = {"text": "We are quickly reaching a point", "speaker": "Mike Pompeo"}
    ds = score_document(_gold(), pred)
    assert (ds.fields["quotes"].tp, ds.fields["quotes"].fp, ds.fields["quotes"].fn) == (3, 1, 1)


def test_excluded_span_and_speakers():
    pred = _perfect()
    pred["quotes"].append({"text": "Fortress Europe", "speaker": None})
    pred["quotes"][1]["speaker"] = "Videgaray"  # surname only: wrong canonical name
    pred["quotes"][3]["speaker"] = "Mike Pompeo"  # gold says nobody is named
    ds = score_document(_gold(), pred)
    assert ds.fields["quotes"].fp == 1
    assert any(m["kind"] == "excluded_span" for m in ds.misses)
    assert (ds.speaker.hits, ds.speaker.total) == (2, 4)
    assert sum(m["kind"] == "wrong_speaker" for m in ds.misses) == 2


def test_micro_average_sums_counts_over_documents():
    g = _gold()
    empty = {"persons": [], "organizations": [], "locations": [], "quotes": [], "topics": []}
    rep = score_set([(g, _perfect()), (g, empty)])
    assert rep.documents == 2
    assert rep.fields["persons"].recall == pytest.approx(0.5)
    assert rep.fields["persons"].precision == 1.0
    assert rep.to_dict()["fields"]["persons"]["fn"] == 2


def test_malformed_gold_raises(tmp_path):
    with pytest.raises(GoldFormatError):
        load_gold_dir(tmp_path)
    bad = tmp_path / "x.gold.json"
    bad.write_text("{not json")
    with pytest.raises(GoldFormatError):
        load_gold(bad)
    bad.write_text(json.dumps({"text": "x", "gold": {"quotes": [{"speaker": "A"}]}}))
    with pytest.raises(GoldFormatError, match="quote 0"):
        load_gold(bad)


def test_own_gold_files_are_valid_and_quotes_occur_in_text():
    records = load_gold_dir(GOLD_DIR)
    assert len(records) >= 24
    for rec in records:
        body = normalize_quote(rec.text)
        joined = " " + " ".join(body) + " "
        for q in rec.quotes:
            assert " " + " ".join(normalize_quote(q["text"])) + " " in joined, (rec.name, q["text"])
        for span in rec.excluded_quoted_spans:
            assert " " + " ".join(normalize_quote(span)) + " " in joined, (rec.name, span)
        for loc in rec.locations:
            assert loc.get("lat") is not None and loc.get("lon") is not None, (rec.name, loc["name"])
        words = len(rec.text.split())
        assert 150 <= words <= 650, (rec.name, words)


def test_admin1_counts_by_country_code_and_post_nominals_drop():
    assert normalize_name("Simon Achebe KC") == "simon achebe"
    pred = _perfect()
    # a state centroid from another source, 500 km off but in the right country: correct
    pred["locations"][2] = {"name": "Texas", "country_code": "US", "lat": 35.0, "lon": -101.5}
    assert score_document(_gold(), pred).within.hits == 3
    # Georgia-style confusion: same name, other country, far away: wrong
    pred["locations"][2] = {"name": "Texas", "country_code": "MX", "lat": 25.0, "lon": -80.0}
    ds = score_document(_gold(), pred)
    assert (ds.within.hits, ds.within.total) == (2, 3)


def test_cli_clear_error_on_empty_dir_and_malformed_file(tmp_path):
    from typer.testing import CliRunner

    from wirewatch.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["eval", str(tmp_path)])
    assert res.exit_code == 2
    assert "no *.gold.json files" in " ".join(res.output.split())
    (tmp_path / "bad.gold.json").write_text(json.dumps({"text": "x", "gold": {"persons": "Mike Pompeo"}}))
    res = runner.invoke(app, ["eval", str(tmp_path), "--format", "json"])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "bad.gold.json" in out and "gold.persons" in out
