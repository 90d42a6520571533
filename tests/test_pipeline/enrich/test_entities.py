"""Persons and organizations: canonical names, merging, filtering. Texts are invented."""
from __future__ import annotations

import pytest

from pipeline.enrich.entities import extract_entities, fold, is_acronym_of, is_demonym, person_like_locations
from pipeline.enrich.nlp import common_word_checker, get_nlp
from pipeline.settings import Settings


# ----------------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(
    "short, full",
    [
        ("EU", "European Union"),
        ("FEMA", "Federal Emergency Management Agency"),
        ("UNHCR", "United Nations High Commissioner for Refugees"),
        ("USGS", "US Geological Survey"),
        ("CBP", "U.S. Customs and Border Protection"),
        ("VW", "Volkswagen"),
        ("U.N.", "United Nations"),
    ],
)
def test_acronyms(short, full):
    assert is_acronym_of(short, full)


@pytest.mark.parametrize("short, full", [("EU", "Federal Reserve"), ("NATO", "Volkswagen"), ("ab", "Alpha Beta"), ("BBC", "BHP")])
def test_not_acronyms(short, full):
    assert not is_acronym_of(short, full)


def test_fold_and_demonyms():
    assert fold("Peña’s") == "pena's"
    assert is_demonym("Honduran") and is_demonym("Central Americans")
    assert not is_demonym("Pompeo")


# ----------------------------------------------------------------------------- with the model
@pytest.fixture(scope="module")
def nlp():
    return get_nlp(Settings().spacy_model)


def analyse(nlp, text, location_spans=()):
    return extract_entities(nlp(text), location_spans, is_common_word=common_word_checker(nlp))


def persons(analysis) -> dict[str, int]:
    return {p["name"]: p["mentions"] for p in analysis.persons}


def orgs(analysis) -> list[str]:
    return [o["name"] for o in analysis.organizations]


def test_canonical_name_is_the_fullest_form_and_mentions_are_counted(nlp):
    text = (
        "Gov. Greg Abbott declared a state of emergency on Monday. "
        "Abbott said troops would arrive within hours. Abbott's office gave no figures."
    )
    assert persons(analyse(nlp, text)) == {"Greg Abbott": 3}


def test_title_and_role_words_are_not_part_of_the_name(nlp):
    text = "Home Secretary Harriet Coles visited Dover. County Clerk Monica Reyes counted the ballots."
    names = set(persons(analyse(nlp, text)))
    assert {"Harriet Coles", "Monica Reyes"} <= names
    assert not any("Secretary" in n or "Clerk" in n for n in names)


def test_demonyms_are_not_persons_or_organizations(nlp):
    text = "Honduran migrants crossed the river while Guatemalan police watched, officials said."
    a = analyse(nlp, text)
    names = set(persons(a)) | set(orgs(a))
    assert not names & {"Honduran", "Guatemalan"}


def test_places_from_the_geoparser_are_not_persons(nlp):
    text = "Migrants crossed from Tecun Uman to Ciudad Hidalgo on Friday, Mike Pompeo said."
    spans = [(text.index("Tecun Uman"), text.index("Tecun Uman") + 10),
             (text.index("Ciudad Hidalgo"), text.index("Ciudad Hidalgo") + 14)]
    assert set(persons(analyse(nlp, text, spans))) == {"Mike Pompeo"}


def test_surname_tagged_as_organization_still_counts_for_the_person(nlp):
    text = (
        "Mexican Foreign Minister Luis Videgaray met reporters on Friday. "
        "But Videgaray told Radio Formula that migrants who entered illegally would be deported."
    )
    a = analyse(nlp, text)
    assert persons(a).get("Luis Videgaray") == 2
    assert "Radio Formula" in orgs(a)
    assert "Videgaray" not in orgs(a)


def test_acronym_and_full_name_merge(nlp):
    text = (
        "The Federal Emergency Management Agency (FEMA) sent a team to the town. "
        "FEMA said more help would follow. The European Union pledged money and the EU's envoy visited."
    )
    a = analyse(nlp, text)
    names = orgs(a)
    assert "Federal Emergency Management Agency" in names and "FEMA" not in names
    assert "European Union" in names and "EU" not in names
    fema = next(o for o in a.organizations if o["name"] == "Federal Emergency Management Agency")
    assert fema["mentions"] >= 2 and "FEMA" in fema["surface_forms"]


def test_short_form_merges_into_full_name(nlp):
    text = "Volkswagen shares fell on Monday after the carmaker cut its forecast. VW will also delay two models."
    names = orgs(analyse(nlp, text))
    assert "Volkswagen" in names and "VW" not in names


def test_person_is_not_listed_as_organization(nlp):
    text = (
        "Western Australia's premier, Michael Castellano, said the budget was tight. "
        "A Red Cross worker at the dock, Aminata Diallo, said many survivors were teenagers."
    )
    a = analyse(nlp, text)
    assert {"Michael Castellano", "Aminata Diallo"} <= set(persons(a))
    assert "Aminata Diallo" not in orgs(a)


def test_organization_named_like_a_person_is_an_organization(nlp):
    text = "Manchester United manager Erik ten Hag insisted his side were improving."
    a = analyse(nlp, text)
    assert "Manchester United" in orgs(a)
    assert "Manchester United" not in persons(a)
    assert "Erik ten Hag" in persons(a)


def test_role_description_is_tied_to_the_name(nlp):
    text = "Mexico's ambassador to Guatemala, Luis Manuel Lopez, said women would cross first."
    a = analyse(nlp, text)
    assert a.role_person("ambassador", len(text)) == "Luis Manuel Lopez"


def test_boilerplate_line_is_not_a_person(nlp):
    text = "The minister spoke to reporters in the capital on Monday.\n\nRelated Story"
    assert persons(analyse(nlp, text)) == {}


def test_person_like_locations_drops_a_place_that_is_a_surname(nlp):
    text = "Marcus Rashford scored late. Rashford, who has scored twice, said he was frustrated."
    doc = nlp(text)
    locations = [
        {"name": "Marcus", "kind": "city", "spans": [[0, 6]]},
        {"name": "Rashford", "kind": "city", "spans": [[7, 15]]},
        {"name": "Mexico", "kind": "country", "spans": []},
    ]
    # spaCy tags the second "Rashford" as PERSON outside any place span
    if not any(e.label_ == "PERSON" and e.start_char == text.index("Rashford,") for e in doc.ents):
        pytest.skip("the model does not tag the second Rashford as PERSON")
    assert person_like_locations(doc, locations) == {0, 1}


def test_names_split_by_ner_are_rejoined(nlp):
    text = (
        "Unofficial tallies put the incumbent, Gov. Musa Sani Yakasai, narrowly behind. "
        "Yakasai said he would go to court. Alpidio Armas-Quintero, the council president, said the island was exhausted."
    )
    names = set(persons(analyse(nlp, text)))
    assert "Musa Sani Yakasai" in names and "Yakasai" not in names
    assert "Alpidio Armas-Quintero" in names


def test_hyphenated_particle_surname_counts(nlp):
    text = "President Bashar al-Assad met envoys on Sunday. Assad's office said the talks went well. Aides to al-Assad agreed."
    assert persons(analyse(nlp, text)).get("Bashar al-Assad") == 3


def test_lone_generic_word_folds_into_the_full_name(nlp):
    text = "The Bank of England held rates on Thursday. 'It's a cautious Bank,' said Sarah Hewin, an economist."
    names = orgs(analyse(nlp, text))
    assert "Bank of England" in names and "Bank" not in names


def test_event_and_dateline_credit_are_not_organizations(nlp):
    text = "PAU, France (Reuters) - Antoine Moreau won the 12th stage of the Tour de France on Thursday."
    names = orgs(analyse(nlp, text))
    assert "Tour de France" not in names and "Reuters" not in names


def test_spanish_institution_name_is_not_cut_after_its_first_word(nlp):
    # spaCy tags only "Casa" of "Casa del ..." here; the name runs over "del" to the next capitals.
    text = ("At the Casa del Peregrino shelter, run by nuns near the cathedral, the Rev. Mateo Ibarra said "
            "he had no beds left.")
    names = orgs(analyse(nlp, text))
    assert "Casa del Peregrino" in names and "Casa" not in names


def test_facility_named_as_an_institution_is_an_organization(nlp):
    text = "Volunteers at the Centro de Derechos Humanos Fray Matías in Tapachula said they had seen more families."
    assert "Centro de Derechos Humanos Fray Matías" in orgs(analyse(nlp, text))


def test_treaty_and_its_acronym_are_not_organizations(nlp):
    text = ("Exporters must meet the rules of the Comprehensive Pacific Trade Agreement (CPTA), which "
            "Canada and Japan will review next year, said the Asia Pacific Foundation.")
    names = orgs(analyse(nlp, text))
    assert "CPTA" not in names and not any(n.endswith("Agreement") for n in names)


def test_outlets_in_a_credit_line_are_not_organizations(nlp):
    text = ("The council voted 7-2 to close the pool, the Harbor Gazette reported.\n"
            "This report was distributed by Coastline Wire. Lakeside Herald staff contributed reporting.")
    names = orgs(analyse(nlp, text))
    assert "Coastline Wire" not in names and "Lakeside Herald" not in names


def test_name_given_as_such_is_a_person_whatever_ner_says(nlp):
    # spaCy tags "Nadège" here as a place; "gave her name only as" makes it a person.
    text = "Outside the clinic, a Haitian teacher who gave her name only as Nadège said she had waited three weeks."
    assert "Nadège" in persons(analyse(nlp, text))
    text = "A porter at the station, who gave only his first name, Dario, said the trains had stopped."
    analysis = analyse(nlp, text)
    assert "Dario" in persons(analysis)
    [m] = [m for m in analysis.person_mentions if m.canonical == "Dario"]
    assert m.is_subject  # he stands for "a porter", the subject of "said"
