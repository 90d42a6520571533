"""Routing of prefix/wildcard/fuzzy/regexp terms to unstemmed sub-fields (pure; the engines'
behaviour is tested in test_searches.py against every real engine)."""
from __future__ import annotations

import pytest

from pipeline.index import mappings
from pipeline.alerts.query_routing import route_multiterm
from pipeline.alerts.searches import QUERY_FIELDS, build_query

EXACT = {"title": "title.exact", "body": "body.exact"}


@pytest.mark.parametrize("query,routed", [
    ("crossing*", "(title.exact:crossing*^2 OR body.exact:crossing*)"),
    ("body:crossing*", "body.exact:crossing*"),
    ("body:crossing*^3", "body.exact:crossing*^3"),
    ("title:cr?ssing AND fence", "title.exact:cr?ssing AND fence"),
    ("body:(crossing* OR fence)", "body:(body.exact:crossing* OR fence)"),
    ("crosing~ -wall", "(title.exact:crosing~^2 OR body.exact:crosing~) -wall"),
    ("body:crosing~1", "body.exact:crosing~1"),
    ("body:/cross.*/", "body.exact:/cross.*/"),
    ("NOT migra*", "NOT (title.exact:migra*^2 OR body.exact:migra*)"),
])
def test_multiterm_terms_go_to_the_exact_fields(query, routed):
    assert route_multiterm(query, EXACT, QUERY_FIELDS) == routed


@pytest.mark.parametrize("query", [
    "border crossing", '"border crossing"~2', "crossing^2", "*", "body:*", "topics:border*",
    r"a\*b", "title:(unclosed", "url:https\\://x.example/*", "published_at:[2026-01-01 TO *]", "title:[a TO c*]",
])
def test_other_queries_are_left_as_written(query):
    assert route_multiterm(query, EXACT, QUERY_FIELDS) == query


def test_every_stemmed_field_has_an_exact_sibling_in_the_mapping():
    exact = mappings.exact_fields("articles")
    assert exact["title"] == "title.exact" and exact["body"] == "body.exact"
    props = mappings.articles_mapping()["properties"]
    assert props["body"]["fields"]["exact"]["analyzer"] == "ww_exact"
    assert exact["persons.name.text"] == "persons.name.exact"
    for analysis in mappings.TEXT_ANALYSES:
        a = mappings.analysis(analysis)
        assert set(a["analyzer"]) == {"ww_text", "ww_exact"} and "ww_folded" in a["normalizer"]
        assert not any("stem" in str(f) for f in a["analyzer"]["ww_exact"]["filter"])
    with pytest.raises(ValueError):
        mappings.analysis("klingon")


def test_build_query_routes_the_query_string():
    q = build_query("body:waded* AND river")
    assert q["bool"]["must"][0]["query_string"]["query"] == "body.exact:waded* AND river"
