"""Tests of named features and venues (pipeline.enrich.features, through places.geoparse) on
invented sentences."""
from __future__ import annotations

import pytest

from pipeline.enrich.features import find_features
from pipeline.enrich.gazetteer import haversine_km
from pipeline.enrich.places import geoparse


@pytest.fixture(scope="module")
def nlp():
    from pipeline.enrich.nlp import get_nlp
    from pipeline.settings import Settings

    return get_nlp(Settings().spacy_model)


def by_name(locs):
    return {loc["name"]: loc for loc in locs}


def near(loc, lat, lon, km=161):
    return loc["lat"] is not None and haversine_km(loc["lat"], loc["lon"], lat, lon) <= km


def test_capitalised_head_noun_makes_a_venue_at_the_place_the_text_gives(nlp):
    locs = by_name(geoparse(nlp("Crowds filled Kellan Stadium in Auckland on Saturday for the final.")))
    venue = locs["Kellan Stadium"]
    assert venue["kind"] == "other" and venue["geonames_id"] is None
    assert near(venue, -36.85, 174.76, km=20)


def test_generic_first_word_makes_a_feature(nlp):
    locs = by_name(geoparse(nlp("Residents watched as the River Tarrow burst its banks near Carlisle, England.")))
    assert locs["River Tarrow"]["kind"] == "other"
    assert near(locs["River Tarrow"], 54.89, -2.93, km=30)


def test_classifier_noun_names_the_feature_without_it(nlp):
    text = "Lava from the Tarvo volcano reached the sea on Thursday, officials in Santa Cruz de Tenerife said."
    locs = by_name(geoparse(nlp(text)))
    assert "Tarvo" in locs and locs["Tarvo"]["kind"] == "other"
    assert near(locs["Tarvo"], 28.47, -16.25)  # no place after it: the article's anchor


def test_classifier_noun_turns_a_town_reading_into_the_feature(nlp):
    locs = by_name(geoparse(nlp("Flooding closed roads along the Severn river near Worcester, England.")))
    assert locs["Severn"]["kind"] == "other"
    assert not any(loc["kind"] == "city" and "Severn" in loc["surface_forms"] for loc in locs.values())


def test_island_of_name_is_an_island(nlp):
    text = "Families fled their homes on the island of Kerrinmore after the eruption, police in Bergen said."
    locs = by_name(geoparse(nlp(text)))
    assert locs["Kerrinmore"]["kind"] == "other"
    assert near(locs["Kerrinmore"], 60.39, 5.32, km=20)  # the article's only town


def test_island_of_a_town_keeps_the_town_reading(nlp):
    # an island's main town usually bears its name: the town's point is on the island
    text = "Coast guards brought 300 people ashore on the island of Lampedusa, officials in Rome said."
    locs = by_name(geoparse(nlp(text)))
    assert near(locs["Lampedusa"], 35.5, 12.6, km=30)


def test_features_are_not_read_from_people_titles_or_organizations(nlp):
    for text in ("Mr Park said the council in Leeds would meet on Monday.",
                 "The Wall Street Journal reported the deal on Monday.",
                 "Fans gathered at the Champions League stadium in Madrid.",
                 "Mayor Anna Holm of Eagle Pass said the bridge would reopen."):
        names = {n for loc in geoparse(nlp(text)) for n in [loc["name"]] + loc["surface_forms"]}
        assert not any(w in n for n in names for w in ("Park", "Journal", "League", "Holm")), (text, names)


def test_head_noun_followed_by_of_takes_the_whole_name(nlp):
    locs = by_name(geoparse(nlp("The Metropolitan Museum of Art in New York said the painting was stolen.")))
    assert "Metropolitan Museum of Art" in locs


def test_a_feature_whose_whole_name_is_a_town_stays_the_town(nlp):
    locs = by_name(geoparse(nlp("Fishermen in Cape Town said the catch was poor.")))
    assert locs["Cape Town"]["kind"] == "city"


def test_feature_without_any_local_place_has_no_point(nlp):
    locs = by_name(geoparse(nlp("Lake Orrin rose a metre overnight, the water board said.")))
    assert locs["Lake Orrin"]["kind"] == "other" and locs["Lake Orrin"]["lat"] is None


def test_find_features_forms(nlp):
    doc = nlp("Boats left the Gulf of Tarsa for Mount Corran, then sailed past the islands of Brill and Kerrin.")
    got = [(f.text, f.head, f.outside) for f in find_features(doc)]
    assert ("Gulf of Tarsa", "gulf", False) in got
    assert ("Mount Corran", "mount", False) in got
    assert ("Brill", "island", True) in got and ("Kerrin", "island", True) in got


def test_facility_or_location_label_after_a_preposition_of_place(nlp):
    locs = by_name(geoparse(nlp("A fire broke out at Heathrow on Monday, police in London said.")))
    assert locs["Heathrow"]["kind"] == "other" and near(locs["Heathrow"], 51.51, -0.13, km=30)


def test_gpe_after_on_is_an_island_when_the_gazetteer_lacks_it(nlp):
    text = "Two boats carrying 90 migrants landed on Lesvina overnight, the coastguard in Athens said."
    locs = by_name(geoparse(nlp(text)))
    assert locs["Lesvina"]["kind"] == "other"


def test_compass_word_region_is_not_a_feature(nlp):
    text = "Brantley said the law would be the strictest in the South, officials in Atlanta said."
    assert [loc["name"] for loc in geoparse(nlp(text))] == ["Atlanta"]


def test_island_read_from_a_far_namesake_town_takes_the_story_point(nlp):
    # "Tarsos" is an alternate name of Tarsus (Turkey): an island in a Manila story is not its island
    text = "Rescuers reached survivors on Tarsos Island, officials in Manila said."
    island = by_name(geoparse(nlp(text)))["Tarsos Island"]
    assert near(island, 14.6, 120.98, km=30)


def test_generic_first_word_before_a_person_is_not_a_feature(nlp):
    names = {loc["name"] for loc in geoparse(nlp("Col Timothy Wardell said the regiment would leave Basra in May."))}
    assert not any("Wardell" in n for n in names)


def test_possessive_of_a_place_is_not_part_of_the_feature_name(nlp):
    locs = by_name(geoparse(nlp("Hundreds of people in Spain\u2019s Brill Islands feared for their homes on Monday.")))
    assert "Brill Islands" in locs and "Spain" in locs


def test_possessive_of_a_town_before_a_venue_is_whose_it_is(nlp):
    locs = by_name(geoparse(nlp("Ash forced Catania's Kerrin Airport to close on Tuesday, officials said.")))
    assert "Kerrin Airport" in locs and "Catania" in locs
    assert near(locs["Kerrin Airport"], 37.5, 15.09, km=20)


def test_feature_in_a_named_country_takes_a_place_of_that_country(nlp):
    text = ("Officials in Ankara said 300 migrants had crossed. Boats reached Kerrin Island, Greece, where "
            "police from Mytilene met them.")
    island = by_name(geoparse(nlp(text)))["Kerrin Island"]
    assert island["country_code"] == "GR"
    assert near(island, 39.1, 26.55, km=30)  # Mytilene, the article's town in Greece


def test_village_of_an_unlisted_name_is_a_town_at_the_story_point(nlp):
    text = "A border guard was stabbed through the fence near the village of Kerrinmore, police in Bialystok said."
    locs = by_name(geoparse(nlp(text)))
    assert locs["Kerrinmore"]["kind"] == "city" and locs["Kerrinmore"]["geonames_id"] is None
    assert near(locs["Kerrinmore"], 53.13, 23.16, km=20)


def test_village_of_a_known_town_keeps_the_gazetteer_reading(nlp):
    locs = by_name(geoparse(nlp("Floods hit the town of Lampedusa, officials in Palermo said.")))
    assert locs["Lampedusa"]["geonames_id"] is not None
