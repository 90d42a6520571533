"""The contract (docs/contract.md), the one document builder (pipeline/document.py), the
articles mapping and the Kibana / OpenSearch Dashboards saved objects agree field by field.

The builder's fields are read from real documents: an invented article enriched by the enrich
stage (spaCy), the same article cut by ``enrich_max_chars``, and its duplicate, each as the
index stage writes it. A field the mapping declares or a dashboard reads but nothing writes
fails here, as does a written field missing from the contract's table.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.dedupe.duplicate import duplicate_document
from pipeline.document import CONTRACT_FIELDS, DERIVED_FIELDS, STAGE_FIELDS, to_index_doc
from pipeline.enrich import enrich_article
from pipeline.index import mappings
from pipeline.models import Article
from pipeline.settings import Settings
from savedobjects import _data_view_kind, field_uses, flatten, objects
from wirewatch.commands.kibana import OBJECT_FILES

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
#: The mapping's fields without multi-fields (``name.folded`` is a subfield, not a field).
MAPPED = flatten(mappings.article_properties(), multi_fields=False)
#: geo_point values are ``{lat, lon}`` objects: one field, not two.
GEO_POINTS = {f for f, spec in MAPPED.items() if spec["type"] == "geo_point"}

BODY = ("Officials in Ciudad Juárez reopened the border crossing on Monday after a two-day closure.\n\n"
        "\"We expect traffic to return to normal by Wednesday,\" said Maria Lopez, the city's transport "
        "director. Lopez added that the Red Cross had set up a shelter near the bridge.\n")


def paths(value, prefix: str = "") -> set[str]:
    """Dotted paths of every key in ``value`` (objects, and objects inside lists)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            out.add(path)
            if path not in GEO_POINTS:
                out |= paths(inner, path + ".")
    elif isinstance(value, list):
        for item in value:
            out |= paths(item, prefix)
    return out


def contract_example() -> dict:
    text = CONTRACT.read_text()
    return json.loads(re.search(r"```json\n(.*?)\n```", text, re.S).group(1))


def contract_table() -> dict[str, tuple[str, str, str]]:
    rows = {}
    for line in CONTRACT.read_text().splitlines():
        m = re.match(r"\| `([\w.]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip(), m.group(4).strip())
    return rows


def _article() -> Article:
    return Article(id="a1", url="https://news.example.org/a", canonical_url="https://news.example.org/a",
                   title="Border crossing reopens", body=BODY, language="en", published_at="2026-12-06T21:40:00+00:00",
                   source_domain="news.example.org", feed_url="https://news.example.org/rss.xml", feed_id="f1",
                   content_hash="h1")


@pytest.fixture(scope="module")
def written() -> dict[str, dict]:
    """The documents as indexed, per path that builds them."""
    settings = Settings()
    article = _article()
    enriched = enrich_article(article, settings=settings, dedupe={"cluster_id": "a1"})
    long_article = _article()
    long_article.body = (BODY + "\n") * 20
    truncated = enrich_article(long_article, settings=Settings(enrich_max_chars=1000))
    dup = Article(**{**article.to_dict(), "id": "a2", "url": "https://other.example.net/b",
                     "canonical_url": "https://other.example.net/b", "source_domain": ""})
    duplicate = duplicate_document(dup, {"content_hash": "h1", "cluster_id": "a1", "duplicate_of": "a1"}, enriched)
    entry = Article(**{**article.to_dict(), "id": "a3", "extraction": "entry", "item_guid": "hlsa-2026-014",
                       "published_at": None,
                       "published_unknown_zone": {"local": "2026-12-06T21:40:00", "zone": "XYZT"}})
    docs = {"enrich": enriched, "truncated": truncated, "duplicate": duplicate,
            "entry": enrich_article(entry, settings=settings)}
    for doc in docs.values():
        doc["enqueued_at"] = "2026-12-06T22:16:36.012+00:00"   # the hand-off to index (workers)
        doc["story"] = {"id": "a1", "similarity": None}  # the story stage (pipeline/dedupe/stories.py)
    return {name: to_index_doc(doc, indexed_at="2026-12-06T22:16:37.020+00:00") for name, doc in docs.items()}


@pytest.fixture(scope="module")
def written_fields(written) -> set[str]:
    return set().union(*(paths(doc) for doc in written.values()))


def test_builder_writes_every_contract_field_on_every_path(written):
    for name, doc in written.items():
        missing = set(CONTRACT_FIELDS) - paths(doc)
        assert not missing, f"{name}: {sorted(missing)}"
        assert set(DERIVED_FIELDS) <= set(doc), name
    assert written["enrich"]["source"] == {"domain": "news.example.org", "feed_url": "https://news.example.org/rss.xml",
                                           "feed_id": "f1"}
    assert written["duplicate"]["source"]["domain"] == "other.example.net"
    assert written["duplicate"]["dedupe"] == {"content_hash": "h1", "cluster_id": "a1", "duplicate_of": "a1"}
    assert written["duplicate"]["persons"] == written["enrich"]["persons"] and written["duplicate"]["persons"]
    assert written["duplicate"]["quotes"] == [] and written["enrich"]["quotes"]
    assert written["duplicate"]["enrichment_source"] == "a1"
    assert 0 < written["truncated"]["enrich_truncated_at"] <= 1000


def test_contract_table_lists_exactly_the_written_fields(written_fields):
    table = set(contract_table())
    assert table, "no field table in docs/contract.md"
    assert sorted(written_fields - table) == [], "written but not in docs/contract.md"
    assert sorted(table - written_fields) == [], "in docs/contract.md but written by no path"
    assert set(STAGE_FIELDS) <= table


def test_contract_example_has_the_fields_of_an_enriched_document(written):
    assert paths(contract_example()) == paths(written["enrich"])


def test_every_mapped_field_is_written_and_typed_as_the_contract_says(written_fields):
    mapped = MAPPED
    never_written = sorted(set(mapped) - written_fields)
    assert never_written == [], f"declared in the mapping, written by nothing: {never_written}"
    for field, (_type, mapping, _by) in contract_table().items():
        expected = mapped[field]["type"] if field in mapped else "not indexed"
        assert mapping == expected, f"{field}: contract says {mapping!r}, mapping has {expected!r}"


def test_field_check_catches_a_declared_field_nobody_writes(written_fields):
    props = mappings.article_properties()
    props["source"]["properties"]["feed_title"] = {"type": "keyword"}
    assert "source.feed_title" in set(flatten(props, multi_fields=False)) - written_fields


@pytest.mark.parametrize("flavour", sorted(OBJECT_FILES))
def test_every_field_a_dashboard_reads_is_written(flavour, written_fields):
    objs = objects(OBJECT_FILES[flavour])
    by_id = {o["id"]: o for o in objs if o["type"] == "index-pattern"}
    read = set()
    for o in objs:
        if "articles" in _data_view_kind(o, by_id):
            for field, _use in field_uses(o):
                while field not in MAPPED and "." in field:   # a multi-field: its field
                    field = field.rpartition(".")[0]
                read.add(field)
    assert len(read) >= 10
    assert sorted(read - written_fields) == []
