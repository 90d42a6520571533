"""Enrichment: one spaCy pass, then places, entities, quotes and topics over it.

:func:`enrich_text` is the whole stage for a body of text; :func:`enrich_article` wraps it into
the enriched-document contract (``docs/contract.md``); :func:`document_for_text` does the same for a local
text (``wirewatch enrich``). The model is loaded once per process
(:func:`pipeline.enrich.nlp.get_nlp`).

Order of the steps: places first (the geoparser's spans tell the entity step which PERSON/ORG
tags are really towns), then persons and organizations, then quotes (speakers resolve to the
canonical persons), then topics.
"""
from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from pipeline.dedupe.text import content_hash
from pipeline.document import article_document
from pipeline.enrich.entities import extract_entities, person_like_locations
from pipeline.enrich.nlp import common_word_checker, get_nlp
from pipeline.enrich.places import countries_of, geoparse
from pipeline.enrich.quotes import extract_quotes
from pipeline.enrich.topics import classify_topics
from pipeline.language import detect_language
from pipeline.logs import get_logger
from pipeline.models import Article, article_id_for, source_domain, utcnow_iso

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.settings import Settings

log = get_logger(__name__)

#: Fields of :func:`enrich_text`'s result, all present even when empty.
ENRICH_FIELDS = ("persons", "organizations", "locations", "countries", "quotes", "topics", "language")

#: Least share of English stop words among a text's word tokens for it to be treated as English
#: when no language is known (typical English news prose is around 0.4-0.5; our own figure).
MIN_ENGLISH_STOP_SHARE = 0.2


def _places(doc, unresolved: list[tuple[int, int]] | None = None) -> tuple[list[dict], list[str]]:
    locations = geoparse(doc, unresolved)
    return locations, countries_of(locations)


def _countries(locations: list[dict]) -> list[str]:
    return list(countries_of(locations))


def _topics(title: str, body: str, settings: "Settings") -> list[str]:
    return list(classify_topics(title, body, settings))


_COMMON: dict[int, Any] = {}


def _common_checker(nlp):
    key = id(nlp)
    if key not in _COMMON:
        _COMMON[key] = common_word_checker(nlp)
    return _COMMON[key]


def _public_location(loc: dict) -> dict:
    return {k: v for k, v in loc.items() if k != "spans"}


def enrich_text(body: str, *, title: str = "", settings: "Settings", language: str | None = None) -> dict[str, Any]:
    """Enrich one body of text.

    Returns ``{"persons", "organizations", "locations", "countries", "quotes", "topics",
    "language"}`` in the contract shapes of ``docs/contract.md``: persons/organizations
    ``[{"name", "mentions", "surface_forms"}]``; locations as the geoparser gives them (GeoNames
    fields plus ``surface_forms``, ``kind``); countries ISO 3166-1 alpha-2 codes; quotes
    ``[{"text", "speaker", "speaker_text", "verb", "start", "end", "speaker_type"}]`` with
    offsets into ``body``; topic slugs. ``language`` is the given code or the detected one; text
    that is not English gets empty entity/quote/place lists (the model is English).

    A body longer than ``settings.enrich_max_chars`` is enriched up to the last paragraph break
    before that point; the result then carries ``enrich_truncated_at`` (characters read) and a
    warning is logged.

    Raises :class:`pipeline.errors.ConfigError` when the spaCy model is missing.
    """
    body = body or ""
    lang = language or detect_language(f"{title}\n{body}")[0] or "en"
    result: dict[str, Any] = {k: [] for k in ENRICH_FIELDS}
    result["language"] = lang
    if not body.strip():
        result["topics"] = _topics(title, body, settings) if title.strip() else []
        return result
    if not lang.lower().startswith("en"):
        log.info("enrich_skipped_language", language=lang)
        return result
    nlp = get_nlp(settings.spacy_model)
    nlp_body = body
    limit = getattr(settings, "enrich_max_chars", None)
    if limit and len(body) > limit:
        cut = body.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        nlp_body = body[:cut]
        result["enrich_truncated_at"] = cut
        log.warning("enrich_truncated", chars=len(body), enriched_chars=cut)
    doc = nlp(nlp_body)
    try:
        unresolved: list[tuple[int, int]] = []   # local places left unresolved: not people either
        locations, countries = _places(doc, unresolved)
        drop = person_like_locations(doc, locations)
        if drop:
            locations = [loc for i, loc in enumerate(locations) if i not in drop]
            countries = _countries(locations)
        loc_spans = [tuple(s) for loc in locations for s in loc.get("spans", [])] + unresolved
        ents = extract_entities(doc, loc_spans, is_common_word=_common_checker(nlp))
        quotes = extract_quotes(doc, ents, nlp_body)
    finally:
        # The per-Doc caches (tokens, entity spans) point back at the Doc: a reference cycle
        # that only the cyclic GC would free. Clearing them frees the Doc at once.
        doc.user_data.clear()
    result.update(
        persons=ents.persons,
        organizations=ents.organizations,
        locations=[_public_location(loc) for loc in locations],
        countries=countries,
        quotes=quotes,
        topics=_topics(title, body, settings),
    )
    return result


def enrich_article(article: Article, *, settings: "Settings", dedupe: dict | None = None) -> dict[str, Any]:
    """The full enriched document (``docs/contract.md``) for a fetched article.

    ``dedupe`` is ``{"content_hash", "cluster_id", "duplicate_of"}`` from the dedupe stage
    (defaults: the article's own hash, else the hash of its body; its id as the cluster; no
    original). The document is built by :func:`pipeline.document.article_document`; enrich adds
    ``enriched_at`` (ISO-8601), ``enrich_ms`` (wall time, milliseconds) and, when the body was
    cut, ``enrich_truncated_at``. Raises :class:`pipeline.errors.ConfigError` when the spaCy
    model is missing.
    """
    t0 = time.perf_counter()
    enriched = enrich_text(article.body, title=article.title, settings=settings, language=article.language)
    dedupe = dict(dedupe or {})
    dedupe["content_hash"] = dedupe.get("content_hash") or article.content_hash or content_hash(article.body)
    doc = article_document(article, dedupe=dedupe, enrichment=enriched)
    doc["enriched_at"] = utcnow_iso()
    doc["enrich_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    if enriched.get("enrich_truncated_at"):
        doc["enrich_truncated_at"] = enriched["enrich_truncated_at"]
    return doc


def document_for_text(body: str, *, title: str = "", url: str | None = None, settings: "Settings") -> dict[str, Any]:
    """The contract document for a local text (``wirewatch enrich``).

    ``id`` derives from ``url`` (:func:`pipeline.models.article_id_for`) or, without one, from the
    SHA-256 of the text (``"text-" + 24 hex digits``); ``fetched_at`` is now; ``published_at`` null.
    """
    art_id = article_id_for(url) if url else "text-" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:24]
    article = Article(
        id=art_id,
        url=url or "",
        canonical_url=url or "",
        title=title,
        body=body,
        source_domain=source_domain(url),
        extraction="local",
    )
    return enrich_article(article, settings=settings)


__all__ = ["enrich_text", "enrich_article", "document_for_text", "get_nlp"]
