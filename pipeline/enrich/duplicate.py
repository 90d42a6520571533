"""The document for a duplicate: indexed with its ``duplicate_of`` pointer, not enriched again.

A near-duplicate's body differs slightly from its original, so character offsets (quotes) would
not fit it; the article-level fields (persons, organizations, locations, countries, topics) are
copied from the original's enriched document when it is still in the payload store, otherwise
left empty. ``enrichment_source`` says which.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pipeline.models import Article, utcnow_iso

COPIED_FIELDS = ("persons", "organizations", "locations", "countries", "topics")


def base_document(article: Article, dedupe: dict[str, Any] | None) -> dict[str, Any]:
    """The contract fields that come from the article itself (no enrichment).

    Shape: DESIGN.md's enriched document with empty enrichment lists.
    """
    domain = article.source_domain or (urlsplit(article.canonical_url or article.url).hostname or "")
    extra: dict[str, Any] = {"declared_canonical_url": article.declared_canonical_url} if article.declared_canonical_url else {}
    if article.truncated:
        extra["truncated_fields"] = sorted(article.truncated)
    return {
        **extra,
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "body": article.body,
        "language": article.language,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "source": {"domain": domain, "feed_url": article.feed_url},
        "authors": list(article.authors),
        "extraction": article.extraction,
        "persons": [], "organizations": [], "locations": [], "countries": [], "quotes": [], "topics": [],
        "dedupe": {
            "content_hash": (dedupe or {}).get("content_hash") or article.content_hash,
            "cluster_id": (dedupe or {}).get("cluster_id") or article.id,
            "duplicate_of": (dedupe or {}).get("duplicate_of"),
        },
    }


def duplicate_document(article: Article, dedupe: dict[str, Any], original: dict[str, Any] | None) -> dict[str, Any]:
    """Contract document for a duplicate ``article`` of ``original`` (its enriched doc or None)."""
    doc = base_document(article, dedupe)
    if original:
        for key in COPIED_FIELDS:
            doc[key] = original.get(key, [])
        doc["enrichment_source"] = original.get("id")
    else:
        doc["enrichment_source"] = None
    doc["enriched_at"] = utcnow_iso()
    return doc
