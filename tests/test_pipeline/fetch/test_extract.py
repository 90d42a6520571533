"""Extraction over invented pages in tests/fixtures/pages, and URL canonicalization rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ExtractionError
from pipeline.fetch.extract import (
    canonicalize_url,
    choose_language,
    extract_article,
    is_tracking_param,
    normalize_date,
    split_authors,
)

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


# -- canonicalize_url ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, canonical", [
    ("HTTPS://WWW.Example.COM/News/Story", "https://www.example.com/News/Story"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x", "https://example.com/a"),
    ("https://example.com/a?id=5&fbclid=abc&gclid=def&page=2", "https://example.com/a?id=5&page=2"),
    ("https://www.theguardian.example/world/x?CMP=share_btn_tw", "https://www.theguardian.example/world/x"),
    ("https://www.ft.example/content/1?ftag=MSF0951a18", "https://www.ft.example/content/1"),
    ("https://example.com/a?UTM_Source=x&q=border+crossing", "https://example.com/a?q=border+crossing"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&msclkid=3&_ga=4&pk_campaign=5&xtor=RSS-1", "https://example.com/a"),
    ("https://user:pw@example.com./a", "https://example.com/a"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/%7euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
    ("https://example.com/a?", "https://example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ("mailto:desk@example.com", "mailto:desk@example.com"),
])
def test_canonicalize_url(raw, canonical):
    assert canonicalize_url(raw) == canonical


def test_canonicalize_is_idempotent_and_resolves_against_base():
    url = canonicalize_url("../story?id=3&utm_term=x#top", base="https://News.Example/section/sub/page")
    assert url == "https://news.example/section/story?id=3"
    assert canonicalize_url(url) == url


def test_tracking_params():
    assert is_tracking_param("utm_content") and is_tracking_param("FBCLID") and is_tracking_param("cmp")
    assert not is_tracking_param("id") and not is_tracking_param("page") and not is_tracking_param("q")


# -- extraction --------------------------------------------------------------------------------------

def test_full_news_page():
    ex = extract_article(page("news_full.html"), "https://harbourpost.example/news/2024/ferry-isla-verde?utm_source=rss")
    assert ex.title == "Ferry service to Isla Verde resumes after storm"
    assert ex.body.startswith("The morning ferry to Isla Verde left the harbour on Monday")
    assert "fuel barge is expected on Wednesday" in ex.body
    assert "First! Great news" not in ex.body  # comments are not the article
    assert "All rights reserved" not in ex.body and "Privacy" not in ex.body
    assert ex.authors == ["Marta Quiroga", "Daniel Whitlow"]
    assert ex.published_at == "2024-03-05T14:30:00+00:00"
    assert ex.language == "en"
    # rel=canonical: host lower-cased, default port, fragment and tracking parameters dropped
    assert ex.canonical_url == "https://www.harbourpost.example/news/2024/ferry-isla-verde?page=2"
    assert ex.url == "https://harbourpost.example/news/2024/ferry-isla-verde"
    assert ex.site_name == "The Harbour Post"


def test_copyright_footer_year_is_not_a_published_date():
    ex = extract_article(page("copyright_only.html"), "https://courier.example/local/cycle-lanes")
    assert ex.published_at is None
    assert "Councillor Priya Anand" in ex.body
    assert ex.canonical_url == "https://courier.example/local/cycle-lanes"


def test_og_url_canonical_with_campaign_tags_and_text_language_over_declared():
    ex = extract_article(page("spanish_mislabelled.html"), "https://noticias.example.com/a/88")
    assert ex.canonical_url == "https://noticias.example.com/frontera/reabren-cruce?id=88"
    assert ex.language == "es"  # the page template says lang="en"
    assert ex.published_at == "2023-11-20"
    assert ex.title == "Reabren el cruce fronterizo tras dos semanas de cierre"


def test_home_page_canonical_is_ignored():
    ex = extract_article(page("home_canonical.html"), "https://www.valleytimes.example/city/library-hours")
    assert ex.canonical_url == "https://www.valleytimes.example/city/library-hours"
    assert ex.published_at == "2022-07-14"


@pytest.mark.parametrize("html", [page("empty_shell.html"), "", "   ", "<html><body><p>Too short.</p></body></html>"])
def test_no_main_text_raises(html):
    with pytest.raises(ExtractionError) as e:
        extract_article(html, "https://example.com/x")
    assert e.value.reason in ("no_main_text", "extraction_failed")


def test_garbage_does_not_crash():
    with pytest.raises(ExtractionError):
        extract_article("\x00\x01<<<>>>&&&" * 50, "https://example.com/x")


# -- helpers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05T14:30:00Z", "2024-03-05T14:30:00+00:00"),
    ("2024-03-05 14:30:00+01:00", "2024-03-05T14:30:00+01:00"),
    ("Tue, 05 Mar 2024 14:30:00 GMT", "2024-03-05T14:30:00+00:00"),
    ("2019", None),
    ("2019-07", None),
    ("2024-02-30", None),
    ("yesterday", None),
    (None, None),
])
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def test_split_authors():
    assert split_authors("By Ana Torres and Ben Ode; ana torres") == ["Ana Torres", "Ben Ode"]
    assert split_authors(None) == []


def test_choose_language():
    long_fr = ("Le conseil municipal a voté jeudi soir la construction de nouvelles pistes cyclables le long de la "
               "rue du Moulin, après trois consultations publiques et une pétition signée par des milliers d'habitants.")
    assert choose_language(long_fr, "en") == "fr"
    assert choose_language("Hola", "es") == "es"  # too short to override the declared language
