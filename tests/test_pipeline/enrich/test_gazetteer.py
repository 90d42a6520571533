"""Tests of the offline GeoNames gazetteer (pipeline.enrich.gazetteer)."""
from __future__ import annotations

import pytest

from pipeline.enrich.gazetteer import get_gazetteer, normalize, qualified_short_form
from pipeline.geo import haversine_km


@pytest.fixture(scope="module")
def gaz():
    return get_gazetteer()


def test_normalize_folds_accents_case_and_punctuation():
    assert normalize("Tecún Umán") == "tecun uman"
    assert normalize("U.S.") == "us"
    assert normalize("Guinea-Bissau") == "guinea bissau"
    assert normalize("  St. John’s ") == "st johns"


def test_haversine_known_distance():
    # Tijuana to San Diego is about 25 km.
    assert 20 < haversine_km(32.5027, -117.0037, 32.7157, -117.1611) < 30
    assert haversine_km(10, 10, 10, 10) == 0


def test_country_aliases_resolve_to_one_entry(gaz):
    ids = set()
    for form in ("US", "U.S.", "United States", "USA", "United States of America"):
        countries = [p for p, _ in gaz.lookup(form) if p.feature == "country"]
        assert countries, form
        ids.add(countries[0].geonames_id)
    assert ids == {6252001}


def test_country_points_close_to_geonames(gaz):
    # GeoNames' country coordinates (Mexico 23 N 102 W; Guatemala 15.5 N 90.25 W).
    mx = gaz.country("MX")
    assert haversine_km(mx.lat, mx.lon, 23.0, -102.0) < 50
    gt = gaz.country("GT")
    assert haversine_km(gt.lat, gt.lon, 15.5, -90.25) < 50
    us = gaz.country("US")
    assert haversine_km(us.lat, us.lon, 39.8, -98.6) < 161


def test_admin1_names_and_entries(gaz):
    hidalgos = [p for p, _ in gaz.lookup("Ciudad Hidalgo") if p.feature == "city"]
    assert {p.admin1 for p in hidalgos} >= {"Chiapas", "Michoacan"}
    chiapas = [p for p, _ in gaz.lookup("Chiapas") if p.feature == "admin1"]
    assert chiapas and chiapas[0].country_code == "MX"
    assert haversine_km(chiapas[0].lat, chiapas[0].lon, 16.5, -92.5) < 161
    texas = [p for p, _ in gaz.lookup("Texas") if p.feature == "admin1"][0]
    assert texas.geonames_id == 4736286  # US states carry their GeoNames id
    assert gaz.admin1("US", "TX").name == "Texas"


def test_derived_alias_without_ciudad(gaz):
    hits = gaz.lookup("Tecun Uman")
    assert hits and hits[0][0].country_code == "GT" and hits[0][1] == 2
    assert hits[0][0].admin1 == "San Marcos"


def test_demonyms_are_recognised(gaz):
    for word in ("Honduran", "Mexicans", "Guatemalan", "Central Americans"):
        assert gaz.is_demonym(word), word
    assert not gaz.is_demonym("Honduras")
    assert not gaz.lookup("Honduran")


def test_unknown_and_lowercase_codes(gaz):
    assert gaz.lookup("Xqzzyville") == []
    # Two-letter country codes other than the common "US"/"UK" are not names of countries.
    assert not [p for p, _ in gaz.lookup("IN") if p.feature == "country"]
    assert [p for p, _ in gaz.lookup("UK") if p.feature == "country"][0].country_code == "GB"
    assert "MX" in gaz.neighbours("GT")


def test_ap_state_abbreviations(gaz):
    for abbr, name in (("Fla.", "Florida"), ("La.", "Louisiana"), ("Ga.", "Georgia"), ("Calif.", "California"),
                       ("Ariz.", "Arizona"), ("N.M.", "New Mexico")):
        st = gaz.state_abbreviation(abbr)
        assert st is not None and st.name == name and st.country_code == "US" and st.feature == "admin1", abbr
    assert gaz.state_abbreviation("Fla") is None  # the period is part of the form
    assert gaz.state_abbreviation("Sen.") is None
    # the abbreviations never enter the name index: "la" stays Los Angeles' alias, not Louisiana
    assert not [p for p, _ in gaz.lookup("La.") if p.feature == "admin1" and p.name == "Louisiana"]


def test_counties_are_second_level_entries(gaz):
    maricopa = [p for p, _ in gaz.lookup("Maricopa County") if p.feature == "admin2"]
    assert maricopa and maricopa[0].admin1 == "Arizona" and maricopa[0].kind == "admin2"
    assert haversine_km(maricopa[0].lat, maricopa[0].lon, 33.35, -112.49) < 161
    kent = [p for p, _ in gaz.lookup("Kent") if p.feature == "admin2" and p.country_code == "GB"]
    assert kent and haversine_km(kent[0].lat, kent[0].lon, 51.2, 0.7) < 80
    # a county named like its main town is left to the town ("Doncaster")
    assert not [p for p, _ in gaz.lookup("Doncaster") if p.feature == "admin2"]


def test_state_suffix_and_qualified_short_forms(gaz):
    kano = gaz.lookup("Kano State")
    assert kano and kano[0][0].feature == "admin1" and kano[0][0].country_code == "NG"
    oder = [p for p, _ in gaz.lookup("Frankfurt an der Oder")]
    assert oder and oder[0].name == "Frankfurt (Oder)"
    assert qualified_short_form("Boulogne-sur-Mer") == "Boulogne"
    assert qualified_short_form("Frankfurt (Oder)") == "Frankfurt"
    assert qualified_short_form("New York City") is None


def test_physical_features(gaz):
    for name, lat, lon in (("Lake Malawi", -12.0, 34.5), ("Pyrenees", 42.67, 1.0), ("Alps", 46.42, 10.0),
                           ("Jasper National Park", 52.8, -117.9)):
        hits = [p for p, _ in gaz.lookup(name) if p.feature == "physical"]
        assert hits and hits[0].geonames_id is None and hits[0].kind == "other", name
        assert haversine_km(hits[0].lat, hits[0].lon, lat, lon) < 50, name


def test_demonym_countries(gaz):
    assert gaz.demonym_country("German") == "DE"
    assert gaz.demonym_country("Mexicans") == "MX"
    assert gaz.demonym_country("Central American") is None


def test_division_point_follows_its_extent_not_its_cluster_of_towns():
    from pipeline.enrich.gazetteer import _hull_point

    # a square division 0-10 degrees on a side, with 50 towns crowded in its south-west corner
    towns = [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)] + [(0.5 + i * 0.01, 0.5 + i * 0.01) for i in range(50)]
    lat, lon = _hull_point(towns)
    assert abs(lat - 5.0) < 0.01 and abs(lon - 5.0) < 0.01
    # two points: the box midpoint
    assert _hull_point([(1.0, 2.0), (3.0, 4.0)]) == (2.0, 3.0)
    # towns on both sides of the antimeridian: no hull through the whole globe
    lat, lon = _hull_point([(60.0, 179.0), (61.0, -179.0), (62.0, 178.0), (60.5, -178.0)])
    assert 59 < lat < 63


def test_sparsely_settled_province_point_lies_inside_its_extent(gaz):
    # Manitoba spans 49-60 N; most of its towns lie below 51 N, where the percentile box of its towns put
    # its point (52.0 N); the hull point lies nearer the middle of the province
    p = next(p for p, _ in gaz.lookup("Manitoba") if p.feature == "admin1")
    assert 53.0 <= p.lat <= 56.0 and -100.0 <= p.lon <= -95.0


def test_usps_and_canadian_press_abbreviations(gaz):
    assert gaz.state_abbreviation("NY").name == "New York"
    assert gaz.state_abbreviation("Man.").name == "Manitoba"
    assert gaz.state_abbreviation("B.C.").name == "British Columbia"
    assert gaz.state_abbreviation("Man") is None and gaz.state_abbreviation("XX") is None
