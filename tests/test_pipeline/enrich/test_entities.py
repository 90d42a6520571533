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


def test_event_is_not_an_organization_but_the_dateline_credit_is(nlp):
    # The agency in the dateline is named in the text as the story's source: real-news gold
    # (labelled by hand) lists it among the organizations.
    text = "PAU, France (Reuters) - Antoine Moreau won the 12th stage of the Tour de France on Thursday."
    names = orgs(analyse(nlp, text))
    assert "Tour de France" not in names and "Reuters" in names


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


def test_entities_and_quotes_do_not_import_each_other():
    """The shared word lists live in pipeline.enrich.lexicon: entities.py never imports the
    quote step (quotes.py may import entities.py, one way only)."""
    import ast
    from pathlib import Path

    import pipeline.enrich.entities as entities_mod

    tree = ast.parse(Path(entities_mod.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "pipeline.enrich.quotes" not in imported
    assert "pipeline.enrich.lexicon" in imported


# ----------------------------------------------------------------------------- issue 12: real-news error kinds
# Every text below is invented; each test shows one kind of error seen on real news.
def _span_of(text: str, word: str) -> tuple[int, int]:
    i = text.index(word)
    return (i, i + len(word))


def test_police_rank_is_not_part_of_the_name(nlp):
    text = ("PC Tom Haskett was shot in Harwell on Monday. Colleagues said PC Haskett, 41, had tried to "
            "stop the fight. The family of PC Haskett thanked the public.")
    names = persons(analyse(nlp, text, [_span_of(text, "Harwell")]))
    assert "Tom Haskett" in names and not any(n.startswith("PC") for n in names)


def test_capitalised_policy_word_alone_is_a_party_not_a_title(nlp):
    text = "Mr Hale once tried to become Labour's leader and lost by nine votes."
    assert "Labour" in orgs(analyse(nlp, text))


def test_plural_acronym_is_not_a_person(nlp):
    text = "Labour MPs will choose a new leader on Sunday, Ms Dunmore told reporters."
    names = persons(analyse(nlp, text))
    assert not any("MPs" in n for n in names)


def test_place_joined_to_an_origin_participle_is_not_a_person(nlp):
    text = "Oban-born Mr Brodie, 52, chairs the committee and said he would not run again."
    names = persons(analyse(nlp, text))
    assert "Oban" not in names and any(n.endswith("Brodie") for n in names)


def test_name_coordinated_with_a_place_is_a_place(nlp):
    text = "Shells hit the cities of Kherson and Dovzhansk overnight, the regional governor said."
    names = persons(analyse(nlp, text, [_span_of(text, "Kherson")]))
    assert "Dovzhansk" not in names


def test_role_noun_after_an_organization_is_not_an_apposition(nlp):
    text = ('"Turnout was strong," said Freedonia Electoral Commission (FEC) chairwoman Amara Lindqvist at '
            "a briefing on Monday.")
    a = analyse(nlp, text)
    assert "Amara Lindqvist" in persons(a) and "Amara Lindqvist" not in orgs(a)
    assert "Freedonia Electoral Commission" in orgs(a) and "Freedonia Electoral Commission" not in persons(a)


def test_lower_case_words_after_an_organization_are_a_description(nlp):
    text = ("Tendai Moyo, a veteran of the ruling KANU-D party, faced Kudzai Banda in the vote. The "
            "Moldovan defence ministry gave no figures.")
    names = orgs(analyse(nlp, text))
    assert not any(n.endswith(" party") or n.endswith(" ministry") for n in names)


def test_acronym_spelt_out_after_it_gives_the_canonical_name(nlp):
    text = ("Tendai Moyo faced Kudzai Banda on Monday. Moyo leads the government; Banda of the NDM "
            "(National Democratic Movement) said he was winning.")
    a = analyse(nlp, text)
    names = orgs(a)
    assert "National Democratic Movement" in names
    assert not any(n.startswith("Banda") for n in names)
    entry = next(o for o in a.organizations if o["name"] == "National Democratic Movement")
    assert "NDM" in entry["surface_forms"]


def test_person_after_an_organization_head_noun_is_split_off(nlp):
    text = ("Assistant Commissioner of Kumasi Metropolitan Police Kwabena Osei said no violence had been "
            "reported in the city.")
    a = analyse(nlp, text)
    assert "Kwabena Osei" in persons(a)
    assert "Kumasi Metropolitan Police" in orgs(a)


def test_name_after_a_lower_case_institution_noun_is_its_officer(nlp):
    text = ('"Nobody crossed here last night," Deputy Inspector of Tarsk district police Rahim Uddin '
            "Sarker, who leads the patrols.")
    a = analyse(nlp, text)
    assert "Rahim Uddin Sarker" in persons(a) and "Rahim Uddin Sarker" not in orgs(a)


def test_names_listed_after_companies_including_are_organizations(nlp):
    # the small model tags all three as persons here
    text = "Big retailers such as Hollister, Ralph Lauren and Tommy Bahama buy cotton there."
    a = analyse(nlp, text)
    assert {"Hollister", "Ralph Lauren", "Tommy Bahama"} <= set(orgs(a))
    assert not {"Hollister", "Ralph Lauren", "Tommy Bahama"} & set(persons(a))


def test_one_word_listener_of_told_is_an_outlet(nlp):
    # tagged PERSON by the small model
    a = analyse(nlp, "Aziz Karimi, the regional envoy, told Hawar that the office would help.")
    assert "Hawar" in orgs(a) and "Hawar" not in persons(a)
    # left untagged (or tagged as a place) by the small model
    a = analyse(nlp, "Aziz Karimi, the envoy, told Rozhnama that the border would stay shut.")
    assert "Rozhnama" in orgs(a)


def test_surname_listener_of_told_stays_a_person(nlp):
    text = "Maria Okafor chairs the panel. The minister told Okafor that the report was late."
    a = analyse(nlp, text)
    assert "Maria Okafor" in persons(a) and "Okafor" not in orgs(a)


def test_trailing_nationality_word_is_cut_from_a_name(nlp):
    # "Telegram Russian" is tagged PERSON, "Telegram Ukrainian" ORG by the small model
    a = analyse(nlp, "The governor wrote on Telegram Russian shells had hit two schools.")
    assert not any("Russian" in n for n in persons(a)) and "Telegram" in orgs(a)
    a = analyse(nlp, "The mayor said on Telegram Ukrainian drones had struck the depot.")
    assert "Telegram" in orgs(a) and not any("Ukrainian" in n for n in orgs(a))


def test_organization_of_two_places_keeps_both(nlp):
    # the small model stops at "England" here, before "of Scotland" there
    text = "Moira Keane, chairman of the Prison Officers Association of England and Wales, praised the staff."
    assert "Prison Officers Association of England and Wales" in orgs(analyse(nlp, text))
    text = "Moira Keane, secretary of the Fire Brigades Union of Scotland and Wales, praised the crews."
    assert "Fire Brigades Union of Scotland and Wales" in orgs(analyse(nlp, text))


def test_untagged_dateline_credit_and_platform_are_organizations(nlp):
    # the small model tags neither "Meridian Wire" nor "Facebook" here
    text = ("KUMASI, Ghana (Meridian Wire) \u2014 Thousands stayed home on Tuesday.\n\n"
            "\"They talk about dialogue,\" she wrote on Facebook, according to a translation.")
    names = orgs(analyse(nlp, text))
    assert "Meridian Wire" in names and "Facebook" in names


def test_storm_is_neither_a_person_nor_an_organization(nlp):
    text = ("A satellite image shows Hurricane Dorinda approaching the coast. Dorinda made landfall near "
            "Cedar Key on Wednesday, the National Hurricane Center said.")
    a = analyse(nlp, text, [_span_of(text, "Cedar Key")])
    assert not any("Dorinda" in n for n in persons(a)) and not any("Dorinda" in n for n in orgs(a))


def test_rank_after_an_acronym_ends_no_name_and_the_acronym_is_the_organization(nlp):
    text = ("RCMP Sgt. Dana Whitlock, head of border enforcement for the region, repeated her concerns "
            "about people walking across open fields.")
    a = analyse(nlp, text)
    assert "Dana Whitlock" in persons(a) and not any("Sgt" in n for n in persons(a))
    assert "RCMP" in orgs(a)


def test_dateline_place_in_capitals_is_not_an_organization(nlp):
    text = ("KASTANIES/LESBOS, Greece (Meridian Wire) - Greek police fired tear gas at the border on "
            "Sunday, officials said.")
    names = orgs(analyse(nlp, text))
    assert not any(n.isupper() and "/" in n for n in names)


def test_organization_name_runs_over_for_and_its_alias_follows(nlp):
    text = ("The police are working with the European Union Agency for Criminal Justice Co-operation "
            "(Eurojust) and the Office for National Statistics.")
    a = analyse(nlp, text)
    names = orgs(a)
    assert "European Union Agency for Criminal Justice Co-operation" in names
    assert "European Union Agency" not in names and "Criminal Justice Co-operation" not in names
    entry = next(o for o in a.organizations if o["name"] == "European Union Agency for Criminal Justice Co-operation")
    assert "Eurojust" in entry["surface_forms"]


def test_surname_with_a_particle_tagged_org_is_the_person(nlp):
    text = ("The closure has support from residents, according to Mayor David Le Clair.\n\n"
            "\"People want the branch to stay,\" Le Clair said.")
    a = analyse(nlp, text)
    assert "Le Clair" not in orgs(a)
    assert persons(a).get("David Le Clair") == 2


def test_nationality_surname_is_kept(nlp):
    text = "\"It is cold out there,\" said Jeff French, a farmer near the border. French said he had seen ten people."
    assert "Jeff French" in persons(analyse(nlp, text))


def test_honorific_makes_an_org_tagged_name_a_person(nlp):
    text = "Outside Number 10 Downing Street, Mrs Holt said the talks would go on."
    a = analyse(nlp, text)
    assert "Holt" in persons(a) and not orgs(a)


def test_name_used_as_a_place_elsewhere_is_not_an_organization(nlp):
    text = "Gleeson officials said nine people had been taken to hospital near Gleeson."
    assert "Gleeson" not in orgs(analyse(nlp, text))


def test_name_in_apposition_to_a_place_noun_is_not_an_organization(nlp):
    text = "The hurricane made landfall at Pine Key, a barrier island near the city."
    assert "Pine Key" not in orgs(analyse(nlp, text))


def test_business_noun_before_an_org_tagged_name_keeps_it_an_organization(nlp):
    # unlike "district police Rahim Uddin Sarker": a business noun introduces the business's name
    text = "Shares of the firm Hallam Brandt fell after the group Orsted Vale cut its forecast."
    a = analyse(nlp, text)
    assert "Orsted Vale" in orgs(a) and "Orsted Vale" not in persons(a)


def test_bare_first_word_of_a_company_with_its_legal_form_is_the_company(nlp):
    text = (
        "AUSTIN, Texas -- Lindqvist Devices Inc., a maker of memory chips, said Tuesday it will "
        "close its oldest factory and cut about 900 jobs.\n\nLindqvist said the plant in Round Rock "
        "will stop production in March. Shares of Lindqvist rose 4 percent in after-hours trading. "
        "Lindqvist warned in July that more cuts could follow."
    )
    a = analyse(nlp, text)
    assert "Lindqvist" not in persons(a)
    assert "Lindqvist Devices Inc." in orgs(a)


def test_bare_surname_stays_a_person_when_the_article_names_that_person_in_full(nlp):
    text = (
        "Ann Brannock founded Brannock Valves Inc. in 1998. Brannock said on Monday that she "
        "would step down as chief executive."
    )
    assert "Ann Brannock" in persons(analyse(nlp, text))
