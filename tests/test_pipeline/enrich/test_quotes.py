"""Quotes: the quote-mark scanner (pure) and speaker attribution over the real spaCy model.

Every text here is invented for these tests.
"""
from __future__ import annotations

import pytest

from pipeline.enrich.entities import extract_entities
from pipeline.enrich.nlp import get_nlp
from pipeline.enrich.quotes import extract_quotes, find_quote_spans
from pipeline.settings import Settings


# ----------------------------------------------------------------------------- scanner (pure)
def _texts(body: str) -> list[str]:
    return [q.text(body) for q in find_quote_spans(body)]


def test_straight_and_curly_double_quotes():
    body = 'He said "we are ready" and then “we will win” before leaving.'
    assert _texts(body) == ["we are ready", "we will win"]


def test_curly_single_quotes_with_apostrophe_inside():
    body = "‘Chile's farmers need rain,’ she said."
    assert _texts(body) == ["Chile's farmers need rain"]


def test_plural_possessive_inside_single_quotes_is_not_a_closing_mark():
    body = "‘The workers' rights come first,’ said Ann Cole."
    assert _texts(body) == ["The workers' rights come first"]


def test_possessive_outside_quotes_opens_nothing():
    body = "Honduras' former president spoke. Later he said 'enough'."
    assert _texts(body) == ["enough"]


def test_nested_quote_stays_inside_outer_quote():
    body = '"He told me \'never again\', and I believed him," said Cole.'
    assert _texts(body) == ["He told me 'never again', and I believed him"]


def test_trailing_comma_dropped_and_final_period_kept():
    body = "“We will rebuild,” she said. He replied: “Not this year.”"
    assert _texts(body) == ["We will rebuild", "Not this year."]


def test_offsets_index_the_body():
    body = "Intro line.\n\n“The dam held,” the engineer said."
    [q] = find_quote_spans(body)
    assert body[q.start:q.end] == "The dam held"
    assert body[q.open_at] == "“"


def test_multi_paragraph_quote_is_one_quote():
    body = (
        "Finance Minister Elena Marsh said on Tuesday:\n\n"
        "“The budget is balanced for the first time in a decade.\n\n"
        "“We will cut taxes next year.”\n\n"
        "Critics were not convinced."
    )
    spans = find_quote_spans(body)
    assert len(spans) == 1
    q = spans[0]
    assert len(q.segments) == 2
    assert body[q.start:].startswith("The budget is balanced")
    assert body[:q.end].endswith("We will cut taxes next year.")


def test_unmatched_opening_mark_is_ignored():
    body = "The ‘reform was announced today. Nobody objected."
    assert _texts(body) == []


def test_elision_is_not_an_opening_mark():
    body = "Prices have not been this high since the '90s, traders said."
    assert _texts(body) == []


# ----------------------------------------------------------------------------- attribution
@pytest.fixture(scope="module")
def nlp():
    return get_nlp(Settings().spacy_model)


def quotes_of(nlp, body: str, location_spans=()):
    doc = nlp(body)
    ents = extract_entities(doc, location_spans)
    return extract_quotes(doc, ents, body)


def one(quotes, fragment: str) -> dict:
    found = [q for q in quotes if fragment in q["text"]]
    assert len(found) == 1, (fragment, quotes)
    return found[0]


def test_speaker_after_said_inverted_order(nlp):
    body = '"Talks will continue next week," said Foreign Minister Helena Stavrou.'
    q = one(quotes_of(nlp, body), "Talks will continue")
    assert q["speaker"] == "Helena Stavrou"
    assert q["verb"] == "said"
    assert body[q["start"]:q["end"]] == q["text"]


def test_surname_speaker_resolves_to_full_name(nlp):
    body = (
        "Mayor Jane Holloway visited the flooded streets on Tuesday.\n\n"
        "“We have never seen water rise this fast,” Holloway said."
    )
    q = one(quotes_of(nlp, body), "never seen water")
    assert q["speaker"] == "Jane Holloway"
    assert q["speaker_text"] == "Holloway"


def test_according_to(nlp):
    body = 'The bridge was "completely unsafe for heavy lorries", according to engineer Paul Okafor.'
    q = one(quotes_of(nlp, body), "completely unsafe")
    assert q["speaker"] == "Paul Okafor"
    assert q["verb"] == "according to"


def test_told_radio_credits_the_subject_not_the_station(nlp):
    body = (
        "Luisa Ferrante runs the regional port authority.\n\n"
        "Ferrante told Radio Cadena that “nobody listened to our warnings for years.”"
    )
    q = one(quotes_of(nlp, body), "nobody listened")
    assert q["speaker"] == "Luisa Ferrante"
    assert q["verb"] == "told"


def test_pronoun_he_added_resolves_to_last_speaker(nlp):
    body = (
        "Coach Marco Bellandi said his team had played badly. "
        "“We were too slow in midfield,” he added."
    )
    q = one(quotes_of(nlp, body), "too slow")
    assert q["speaker"] == "Marco Bellandi"
    assert q["speaker_text"] == "he"


def test_role_description_tied_to_a_name(nlp):
    body = (
        "Health Minister Priya Raman announced new rules on Wednesday.\n\n"
        "“This is not a lockdown,” the minister said."
    )
    q = one(quotes_of(nlp, body), "not a lockdown")
    assert q["speaker"] == "Priya Raman"
    assert q["speaker_text"] == "the minister"


def test_quote_only_paragraph_takes_previous_paragraph_speaker(nlp):
    body = (
        "Resident Maria Gonzalez said her family had lived in the house for thirty years. "
        "“Everything we owned is gone,” she said.\n\n"
        "“We will rebuild, but we need help now.”\n\n"
        "The council did not comment."
    )
    q = one(quotes_of(nlp, body), "We will rebuild")
    assert q["speaker"] == "Maria Gonzalez"


def test_split_quote_around_he_said(nlp):
    body = "Senator Tom Hardy spoke briefly. “We are ready,” he said, “and the pumps are running.”"
    qs = quotes_of(nlp, body)
    first, second = one(qs, "We are ready"), one(qs, "pumps are running")
    assert first["speaker"] == second["speaker"] == "Tom Hardy"


def test_partial_quote_inside_reported_speech(nlp):
    body = "Arsenal manager Tom Reyes said the defeat was “a wake-up call” for his young squad."
    q = one(quotes_of(nlp, body), "wake-up call")
    assert q["speaker"] == "Tom Reyes"


def test_organization_speaker_named_earlier(nlp):
    body = (
        "The Chilean Navy rescued 14 fishermen off Valparaiso on Sunday.\n\n"
        "“No vessels were lost in the storm,” the navy said in a statement."
    )
    q = one(quotes_of(nlp, body), "No vessels")
    assert q["speaker"] == "Chilean Navy"
    assert q["speaker_type"] == "organization"


def test_unnamed_institution_is_an_organization_speaker(nlp):
    body = "“The situation on the border is under control,” the police said on Monday."
    q = one(quotes_of(nlp, body), "under control")
    assert q["speaker"] == "police"
    assert q["speaker_type"] == "organization"


def test_speaker_null_when_the_text_does_not_say(nlp):
    body = (
        "Farmers in the valley lost most of their harvest.\n\n"
        "“It was like a bomb went off in the fields.” Rain continued into the night."
    )
    q = one(quotes_of(nlp, body), "like a bomb")
    assert q["speaker"] is None


def test_unnamed_person_pronoun_gives_null_speaker(nlp):
    body = (
        "Mayor Jane Holloway said the shelters were full.\n\n"
        "A nurse at the clinic said staff were exhausted. “We cry in the car park after every shift,” she said."
    )
    q = one(quotes_of(nlp, body), "We cry")
    assert q["speaker"] is None


def test_scare_quote_is_not_a_quote(nlp):
    body = "The so-called “peace plan” was rejected by both parties on Friday."
    assert quotes_of(nlp, body) == []


def test_title_of_work_is_not_a_quote(nlp):
    body = "Her memoir “Walking Home Alone” sold a million copies, the publisher said."
    assert quotes_of(nlp, body) == []


def test_fragment_called_by_a_named_person_is_a_quote(nlp):
    body = "President Dana Whitfield on Thursday vowed to stop what she called an “invasion” of the capital."
    q = one(quotes_of(nlp, body), "invasion")
    assert q["speaker"] == "Dana Whitfield"
    assert q["verb"] == "called"


def test_multi_paragraph_quote_has_speaker_and_offsets(nlp):
    body = (
        "Finance Minister Elena Marsh said on Tuesday:\n\n"
        "“The budget is balanced for the first time in a decade.\n\n"
        "“We will cut taxes next year.”"
    )
    # one entry per paragraph, each with its own offsets and the statement's speaker
    first, second = quotes_of(nlp, body)
    assert first["speaker"] == second["speaker"] == "Elena Marsh"
    assert body[first["start"]:first["end"]] == "The budget is balanced for the first time in a decade."
    assert body[second["start"]:second["end"]] == "We will cut taxes next year."


def test_short_exclamation_is_a_quote_not_a_title(nlp):
    body = (
        "Serena Okafor won the final on Saturday.\n\n"
        "\u201cHonestly? No,\u201d Okafor said. \u201cI was just trying to stay in the rallies.\u201d"
    )
    qs = quotes_of(nlp, body)
    assert one(qs, "Honestly")["speaker"] == "Serena Okafor"
    assert one(qs, "stay in the rallies")["speaker"] == "Serena Okafor"


def test_unnamed_spokesperson_of_a_named_company_credits_the_company(nlp):
    body = (
        "BHP said on Wednesday that it would delay an expansion near Newman. "
        "\u201cWe are disciplined about capital,\u201d a company spokesperson said."
    )
    q = one(quotes_of(nlp, body), "disciplined about capital")
    assert q["speaker"] == "BHP"
    assert q["speaker_type"] == "organization"


def test_it_resolves_to_the_organization_in_subject_position(nlp):
    body = (
        "The International Longshoremen's Association (ILA) said its members would stay out "
        "until employers offered what it called \u201ca fair share of record profits.\u201d"
    )
    q = one(quotes_of(nlp, body), "fair share")
    assert q["speaker"] == "International Longshoremen's Association"


def test_scare_quote_credited_to_unnamed_people_is_dropped(nlp):
    body = "The coalition is trying to agree what ministers have called a \u201cfiscal reset\u201d before the budget."
    assert quotes_of(nlp, body) == []


def test_pronoun_after_intervening_embedded_subject_keeps_the_speaker(nlp):
    body = (
        "Liverpool manager Arne Slot defended his striker. \u201cHe is a fighter,\u201d Slot said, "
        "adding that Darwin Nunez had \u201cthe full support\u201d of the squad.\n\n"
        "\u201cWe need him,\u201d he added."
    )
    assert one(quotes_of(nlp, body), "We need him")["speaker"] == "Arne Slot"


def test_pronoun_skips_a_person_of_the_other_gender(nlp):
    body = (
        "Mrs Alice Moreno met Mr Daniel Okoro on Monday. Mr Okoro said the talks went well.\n\n"
        "\u201cWe agreed on nothing,\u201d she said."
    )
    assert one(quotes_of(nlp, body), "agreed on nothing")["speaker"] == "Alice Moreno"


def test_according_to_inside_the_quote_is_not_an_attribution(nlp):
    body = (
        "A Department of Homeland Security (DHS) official said the number of slots was set "
        "\u201caccording to the processing capacity at each port\u201d and had not been cut."
    )
    q = one(quotes_of(nlp, body), "processing capacity")
    assert q["speaker"] == "Department of Homeland Security"
    assert q["verb"] == "said"


def test_pronoun_takes_the_topic_of_its_paragraph_over_an_earlier_speaker(nlp):
    # The parser often leaves a sentence-initial name out of the main clause ("..., she said, ...");
    # the first person of the paragraph's last sentence is who "she" is, not the earlier speaker.
    body = (
        "\u201cWe ran out of blankets,\u201d said Teresa Villaverde, who manages the gym.\n\n"
        "Carmen Ortiz, 41, left Cusco with two daughters after, she said, her husband was jailed. "
        "\u201cWe sleep on the floor here,\u201d she said."
    )
    assert one(quotes_of(nlp, body), "sleep on the floor")["speaker"] == "Carmen Ortiz"


def test_person_introduced_by_a_relative_clause_is_the_pronoun_antecedent(nlp):
    body = (
        "Hamid Rostami won the sprint, and he thanked his team. \u201cIt was a long season,\u201d Rostami said.\n\n"
        "Third place went to Emma Novak of Chile, who said the wind had slowed her down. "
        "\u201cI could not hold my line,\u201d she said."
    )
    assert one(quotes_of(nlp, body), "hold my line")["speaker"] == "Emma Novak"


def test_nurse_who_gave_only_a_first_name_is_the_speaker(nlp):
    body = (
        "\u201cThe road is closed,\u201d said Marco Antonelli, a driver.\n\n"
        "Outside the clinic, a Haitian teacher who gave her name only as Fatima said she had waited "
        "three weeks. \u201cNobody answers the phone,\u201d she said."
    )
    assert one(quotes_of(nlp, body), "Nobody answers")["speaker"] == "Fatima"


def test_term_inside_an_infinitive_is_not_a_quote(nlp):
    body = ("Chile will not agree to become a \u201cregional hub\u201d for deportation flights, "
            "Interior Minister Rodrigo Salas said Monday. \u201cWe have said no,\u201d Salas added.")
    texts = [q["text"].rstrip(",") for q in quotes_of(nlp, body)]
    assert "regional hub" not in texts
    assert "We have said no" in texts


def test_partial_quote_inside_an_infinitive_without_an_article_is_kept(nlp):
    body = "Mayor Ellen Brody urged the council to act \u201cbefore the first frost\u201d in a statement."
    q = one(quotes_of(nlp, body), "first frost")
    assert q["speaker"] == "Ellen Brody"


def test_first_name_given_for_an_unnamed_subject_is_the_pronoun_antecedent(nlp):
    body = (
        "Police closed the harbour road, Commissioner Helga Brandt said.\n\n"
        "A porter at the station, who gave only his first name, Dario, said the trains had stopped. "
        "\u201cWe have been waiting since noon,\u201d he said."
    )
    assert one(quotes_of(nlp, body), "waiting since noon")["speaker"] == "Dario"


# ----------------------------------------------------------------------------- issue 12: real-news error kinds
# Every text below is invented; each test shows one kind of error seen on real news.
def test_title_parsed_as_subject_gives_way_to_the_name_it_introduces(nlp):
    body = (
        "Mr Harlan said on Monday that the camp would stay open.\n\n"
        "Assistant Commissioner of Kumasi Metropolitan Police Kwabena Osei said the roads were calm.\n\n"
        "\u201cWe made no arrests,\u201d he said."
    )
    assert one(quotes_of(nlp, body), "no arrests")["speaker"] == "Kwabena Osei"


def test_according_to_a_document_leaves_the_verb_subject_as_speaker(nlp):
    body = (
        "Ivan Petrenko, deputy head of the regional office, said four blasts were heard overnight. "
        "\"They talk about a truce,\" he wrote on Telegram, according to a translation, \"and then they "
        "shell us.\""
    )
    qs = quotes_of(nlp, body)
    assert one(qs, "talk about a truce")["speaker"] == "Ivan Petrenko"
    assert one(qs, "shell us")["speaker"] == "Ivan Petrenko"


def test_quote_opened_after_a_colon_runs_to_the_paragraph_end_without_its_closing_mark(nlp):
    body = (
        "Prime Minister Helen Okoro paid tribute to the officer.\n\n"
        "Speaking in Lagos, she said: \u201cIt is a very sad day for the whole force and for his family."
    )
    q = one(quotes_of(nlp, body), "very sad day")
    assert q["speaker"] == "Helen Okoro"
    assert q["text"] == "It is a very sad day for the whole force and for his family."


def test_colon_without_a_sentence_end_opens_no_quote():
    body = 'The sign read: "Closed until'
    assert _texts(body) == []


def test_pronoun_after_a_paragraph_that_names_nobody_finds_the_person_before_it(nlp):
    body = (
        "Should they fail, Health Minister Chris Ambler and Trade Minister Michael Tove are likely "
        "contenders.\n\n"
        "Although Mr Grant Hollis had failed in a bid to lead the party, he later said he would not run "
        "again.\n\n"
        "He kept that promise yesterday.\n\n"
        "\"I have every confidence in my colleagues,\" he said."
    )
    assert one(quotes_of(nlp, body), "every confidence")["speaker"] == "Grant Hollis"


def test_name_right_after_a_quote_without_a_verb_is_the_speaker(nlp):
    body = (
        "\"Nobody crossed here last night,\" Deputy Inspector of Tarsk district police Rahim Uddin "
        "Sarker, who leads the patrols.\n\n"
        "\"But we are checking every report.\""
    )
    qs = quotes_of(nlp, body)
    assert one(qs, "Nobody crossed")["speaker"] == "Rahim Uddin Sarker"
    assert one(qs, "checking every report")["speaker"] == "Rahim Uddin Sarker"


def test_fronted_place_phrase_is_not_the_speaker(nlp):
    body = ("Prime Minister Theresa Holt spoke on Friday.\n\n"
            "Outside Number 10 Downing Street, Mrs Holt said: \"We will not give up.\"")
    q = one(quotes_of(nlp, body), "not give up")
    assert q["speaker"] == "Theresa Holt" and q["speaker_type"] == "person"


def test_unnamed_spokesman_for_an_institution_named_earlier_speaks_for_it(nlp):
    body = ("The Interior Ministry sent more guards. \"The border will stay closed,\" said a spokesman "
            "for the ministry.")
    q = one(quotes_of(nlp, body), "stay closed")
    assert q["speaker"] == "Interior Ministry" and q["speaker_type"] == "organization"


def test_partial_quote_governed_by_a_speech_verb_with_an_unnamed_subject_is_kept(nlp):
    body = ("Investigators say a \u201cfull arson inquiry\u201d will begin after a warehouse burned down in "
            "the port on Sunday.")
    q = one(quotes_of(nlp, body), "full arson inquiry")
    assert q["speaker"] is None


def test_term_after_a_naming_verb_with_an_unnamed_subject_is_not_a_quote(nlp):
    body = "The coalition is trying to agree what ministers have called a \"fiscal reset\" before the budget."
    assert not [q for q in quotes_of(nlp, body) if "fiscal reset" in q["text"]]
