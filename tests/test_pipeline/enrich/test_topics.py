"""Tests of topic classification (pipeline.enrich.topics)."""
from __future__ import annotations

import json

import pytest

from pipeline.enrich.topics import DEFAULT_TOPICS_FILE, classify_topics, compile_cue, load_taxonomy, score_topics
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
    assert classify_topics("Powerful earthquake kills 40 in Mexico", quake) == ["disaster", "earthquake"]
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


def test_cycling_stage_is_sport():
    body = ("The Dutch rider attacked on the final climb and won the ninth stage by 40 seconds, while the "
            "race leader kept the yellow jersey after his teammates controlled the peloton all day. The "
            "riders face a time trial on Tuesday before the mountains return at the weekend.")
    assert classify_topics("Dutchman wins mountain stage as leader keeps jersey", body) == ["sport", "cycling"]


def test_drone_attack_is_conflict_but_soldiers_at_a_fence_are_not():
    attack = ("A drone attack on a market killed 12 civilians on Saturday, officials said. The army blamed "
              "insurgents who have used armed drones against soldiers since last year, and air defence units "
              "shot down two more drones over the city overnight.")
    assert "conflict" in classify_topics("Drone attack on market kills 12", attack)
    fence = ("The government will send 2,000 soldiers to help border guards patrol the fence, the interior "
             "minister said, calling the crossings a form of hybrid warfare. The army will also bring thermal "
             "cameras to the border guard posts along the fence.")
    topics = classify_topics("Soldiers sent to help border guards at fence", fence)
    assert "border-security" in topics
    assert "conflict" not in topics


def test_dense_story_with_few_cues_gets_its_topic():
    body = ("Resident doctors began a five-day strike on Monday. Picket lines formed outside hospitals before "
            "dawn, and the strike is the longest this year. Union leaders said the strike would go on unless "
            "the government made a new offer, and picket lines would return next month.")
    assert "labour" in classify_topics("Doctors strike for five days", body)


def test_side_topic_is_dropped_by_dominance(tmp_path):
    assert 0 < load_taxonomy(DEFAULT_TOPICS_FILE).dominance < 1
    spec = ("topics:\n  cats:\n    description: Cats.\n    threshold: 1\n    min_distinct: 1\n    terms:\n"
            "      cat*: 3\n      kitten*: 3\n      purr*: 3\n"
            "  dogs:\n    description: Dogs.\n    threshold: 1\n    min_distinct: 1\n    terms:\n      dog*: 1\n")
    body = "The cats purred while the kittens played with the cat toys; one dog watched. " * 3
    plain, ruled = tmp_path / "plain.yaml", tmp_path / "ruled.yaml"
    plain.write_text(spec)
    ruled.write_text("dominance: 0.3\n" + spec)
    assert classify_topics("", body, Settings(topics_file=plain)) == ["cats", "dogs"]
    scores = score_topics("", body, load_taxonomy(ruled))
    assert scores["cats"]["assigned"] and not scores["dogs"]["assigned"] and scores["dogs"]["side"]


def test_trucks_at_a_bridge_are_not_a_crossing_story():
    body = ("Trucks loaded with avocados waited 14 hours to cross the bridge at the port of entry, and "
            "importers said the delays had cost them millions of dollars in spoiled cargo. The crossing is "
            "the busiest for fresh produce, and exporters asked for more inspection lanes to protect trade.")
    topics = classify_topics("Inspection delays at bridge cost importers millions", body)
    assert "business" in topics
    assert "border-crossing" not in topics and "migration" not in topics


def test_requires_and_dominance_are_validated(tmp_path):
    bad = tmp_path / "req.yaml"
    bad.write_text("topics:\n  cats:\n    description: Cats.\n    requires: cat\n    terms:\n      cat: 1\n")
    with pytest.raises(ConfigError, match="requires"):
        load_taxonomy(bad)
    dom = tmp_path / "dom.yaml"
    dom.write_text("dominance: 2\ntopics:\n  cats:\n    description: Cats.\n    terms:\n      cat: 1\n")
    with pytest.raises(ConfigError, match="dominance"):
        load_taxonomy(dom)
    ok = tmp_path / "ok.yaml"
    ok.write_text("topics:\n  cats:\n    description: Cats.\n    threshold: 1\n    min_distinct: 1\n"
                  "    requires: [kitten*]\n    terms:\n      cat*: 2\n")
    assert classify_topics("", "The cat sat on the cats' mat.", Settings(topics_file=ok)) == []
    assert classify_topics("", "The cat and her kittens sat on the mat.", Settings(topics_file=ok)) == ["cats"]


def test_cue_counts_and_word_filter_agree_with_findall_on_odd_text():
    """score_topics tries an anchored cue only where its literal occurs and skips a whole-word cue
    whose literal is not a word of the text; both must give exactly what the cue's regular
    expression finds, also beside characters whose case rules are odd (Turkish dotted/dotless i,
    the long s, the Kelvin sign) and in texts holding them."""
    from pipeline.enrich.topics import _count, _text_words

    tax = load_taxonomy(DEFAULT_TOPICS_FILE)
    texts = [
        "Migrants crossed at the border; that state's MIGRANT caravan -- by sea, by SEA, by-sea.",
        "The ſtrike at the porT of entry: \u212aILLED, \u0130ran, d\u0131sease, MİGRANTS, \u00e9lection.",
        "Rescue at sea\u2014the journey, the Journey, THE JOURNEY; cease-fire, ceasefire, CEASE-FIRE!",
        "strike strike strike strike strike; Strikes; strik; striker; re-election; RE-ELECTION",
        "",
    ]
    assert any(c.anchored and not c.case_sensitive for t in tax.topics for c in t.cues)
    assert any(c.whole_word for t in tax.topics for c in t.cues)
    for text in texts:
        lower = text.lower()
        words = _text_words(text, lower)
        assert (words is None) == any(ch in text for ch in "\u0130\u0131\u017f")
        for t in tax.topics:
            for cue in t.cues:
                expected = len(cue.pattern.findall(text))
                for cap in (0, 1, 3, 100):
                    got = _count(cue, text, lower if words is not None else None, cap)
                    assert min(got, cap) == min(expected, cap) and bool(got) == bool(expected), (cue.text, text, cap)
                if cue.whole_word and words is not None and expected:
                    assert cue.literal in words, (cue.text, text)


# ----------------------------------------------------------------------------- subtopics and
# kinds of story seen on real news (issue 12); every text below is invented.
def test_subtopic_implies_its_topic_and_is_judged_within_it(tmp_path):
    spec = ("dominance: 0.3\ntopics:\n"
            "  animals:\n    description: Animals.\n    threshold: 1\n    min_distinct: 1\n    terms:\n"
            "      cat*: 2\n      dog*: 2\n      pet*: 2\n"
            "  weather:\n    description: Weather.\n    threshold: 1\n    min_distinct: 1\n    terms:\n      rain*: 1\n"
            "  cats:\n    description: Cats.\n    subtopic_of: [animals]\n    threshold: 1\n    min_distinct: 1\n"
            "    terms:\n      kitten*: 2\n"
            "  storms:\n    description: Storms.\n    subtopic_of: [weather]\n    threshold: 1\n    min_distinct: 1\n"
            "    terms:\n      thunder*: 1\n")
    path = tmp_path / "sub.yaml"
    path.write_text(spec)
    tax = load_taxonomy(path)
    assert tax.topics[2].subtopic_of == ("animals",) and "animals" in tax.topics[2].implies
    # the subtopic brings its broader topic, which needs some evidence of its own (half its threshold)
    assert classify_topics("", "Two kittens were born to the pet. " * 3, Settings(topics_file=path)) == ["animals", "cats"]
    assert classify_topics("", "Two kittens were born. " * 3, Settings(topics_file=path)) == []
    # a subtopic far weaker than the article's main topic still counts when its own topic is the main
    # one (the main topic's cues are many more than the subtopic's)
    body = ("The cats and dogs and other pets of the town met the pet show judges; cats, dogs, pets. " * 3
            + "One kitten won.")
    assert classify_topics("", body, Settings(topics_file=path)) == ["animals", "cats"]
    # a subtopic of a side topic is a side mention too
    body = ("The cats and dogs and other pets of the town met the pet show judges; cats, dogs, pets. " * 3
            + "Thunder and rain. Thunder.")
    scores = score_topics("", body, tax)
    assert scores["storms"]["score"] >= 1 and scores["storms"]["side"] and not scores["storms"]["assigned"]


def test_subtopic_of_unknown_or_itself_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics:\n  cats:\n    description: Cats.\n    subtopic_of: [pets]\n    terms:\n      cat: 1\n")
    with pytest.raises(ConfigError, match="unknown"):
        load_taxonomy(bad)
    bad.write_text("topics:\n  cats:\n    description: Cats.\n    subtopic_of: cats\n    terms:\n      cat: 1\n")
    with pytest.raises(ConfigError, match="subtopic_of"):
        load_taxonomy(bad)


def test_boat_arrival_is_a_border_crossing():
    body = ("A wooden fishing boat carrying about 70 men, women and children set sail from the southern coast "
            "last week and came ashore on a beach before dawn on Friday, the navy said. The passengers had "
            "paid smugglers for the journey, and officials said more boats were expected while the sea stays "
            "calm. Aid workers gave water to the new arrivals, some of whom were too weak to walk.")
    topics = classify_topics("Boat with 70 people comes ashore after week at sea", body)
    assert "border-crossing" in topics and "migration" in topics


def test_people_stopped_at_the_border_are_a_border_crossing():
    body = ("About 300 people were stopped at the border overnight as they tried to cross into the country "
            "on foot, the interior ministry said. Most of them were detained at the border post and taken to a "
            "reception centre; families with children were among them, and several said they had walked for "
            "days through the forest to reach the border crossing.")
    assert "border-crossing" in classify_topics("Hundreds stopped at border overnight", body)


def test_factory_closure_is_business():
    body = ("The carmaker will close its engine factory in the north of the country next year, the company "
            "said on Tuesday, moving production to two other plants. The brand's sales have fallen for three "
            "years and the factory makes a model that manufacturers have stopped ordering. The company said "
            "the closure was part of a plan to cut costs by 2 billion euros.")
    topics = classify_topics("Carmaker to close engine factory", body)
    assert "business" in topics


def test_job_cuts_are_business_and_labour():
    body = ("The software company said on Thursday it would cut 4,000 jobs, about 6 percent of its workforce, "
            "after quarterly profit fell short of forecasts. The layoffs will hit its sales and marketing "
            "teams first, the chief executive told employees, and the company's shares rose 3 percent.")
    assert classify_topics("Software maker to cut 4,000 jobs", body) == ["business", "labour", "job-cuts"]


def test_eruption_is_a_disaster():
    body = ("The volcano erupted again on Sunday, sending lava down its western slope and forcing the "
            "evacuation of three villages, officials said. Ash from the eruption closed the island's airport, "
            "and scientists said the lava flow could reach the sea within days.")
    assert classify_topics("Volcano erupts again, villages evacuated", body) == ["disaster", "volcano"]


def test_leader_resigning_is_politics_and_resignation():
    body = ("The prime minister announced her resignation on Thursday, telling the party's caucus that she "
            "would step down as party leader next month. MPs will vote on a successor, and two ministers are "
            "expected to join the leadership contest.")
    topics = classify_topics("Prime minister resigns", body)
    assert "politics" in topics and "resignation" in topics


@pytest.mark.parametrize("title, body", [
    ("Hundreds reach island overnight",
     "Nearly 700 migrants reached the southern island overnight aboard 15 boats that had left the opposite "
     "coast, the coast guard said. The reception centre on the island is now holding three times its capacity, "
     "and officials expect more landings while the weather stays calm."),
    ("Asylum seekers walk across border in the cold",
     "Nine people walked across the border overnight through snow-covered fields, police said, bringing to more "
     "than 50 the number of asylum seekers who have made the trip this month. The group, which included two "
     "children, was met by officers near the town and made refugee claims at the border station."),
    ("Agents stop 2,000 in one day",
     "Border agents stopped more than 2,000 people who entered the country without authorization on Tuesday, "
     "the agency said, most of them families who turned themselves in after wading across the river. Officials "
     "said the number of encounters had doubled since last month."),
])
def test_landings_walks_and_irregular_entries_are_border_crossings(title, body):
    topics = classify_topics(title, body)
    assert "border-crossing" in topics and "migration" in topics


def test_open_the_floodgates_is_not_a_flood():
    body = ("Officials said the decision to open the floodgates would bring thousands more applications to the "
            "agency, which already has a backlog of two years. Lawyers said the agency needed more staff.")
    topics = classify_topics("Ruling opens the floodgates for claims", body)
    assert "flood" not in topics and "disaster" not in topics
    rain = ("Heavy rain flooded hundreds of homes overnight and floods cut the main road, officials said. "
            "Floodwaters were still rising on Monday, and 300 people were moved to shelters.")
    assert "flood" in classify_topics("Floods cut off towns", rain)


def test_bank_closing_branches_is_business():
    body = ("The bank will close 40 branches next year as more customers move to online banking, the lender said "
            "on Tuesday. Staff at the branches will be offered jobs elsewhere, and customers were told their "
            "accounts would move to the nearest branch.")
    assert "business" in classify_topics("Bank to close 40 branches", body)


def test_subtopic_needs_evidence_of_its_broad_topic():
    body = ("The company reported quarterly results on Thursday: revenue rose 8 percent and profit beat analysts' "
            "forecasts. The results lifted its shares 5 percent, and the chief executive said counting orders "
            "from new customers had become the board's favourite task.")
    topics = classify_topics("Results lift shares", body)
    assert "business" in topics and "vote-count" not in topics and "election" not in topics
    war = ("Missile strikes hit two power plants overnight, and more strikes followed at dawn, the army said. "
           "Air defence units shot down 20 drones, officials said, and the front line did not move.")
    topics = classify_topics("Strikes hit power plants", war)
    assert "conflict" in topics and "strike" not in topics and "labour" not in topics


def test_troops_rockets_and_goods_across_a_border_are_not_a_crossing_story():
    war = ("Rockets fired across the border killed two people in a northern town on Sunday, the army said. Troops "
           "crossed into the neighbouring country overnight to destroy launch sites, and artillery shelled villages "
           "near the frontier. Hundreds of families fled south.")
    topics = classify_topics("Rockets fired across border kill two", war)
    assert "conflict" in topics and "border-crossing" not in topics and "migration" not in topics
    goods = ("Smugglers drove 40 tonnes of cigarettes across the border in trucks hidden under fruit, customs "
             "officers said, and two men were arrested when they crossed into the country at night.")
    assert "border-crossing" not in classify_topics("Cigarette smugglers caught", goods)
