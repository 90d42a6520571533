"""The document for a duplicate: indexed with its ``duplicate_of`` pointer, not enriched again.

A near-duplicate's body differs slightly from its original, so character offsets (quotes) would
not fit it; the article-level fields (persons, organizations, locations, countries, topics) are
copied from the original's enriched document when it is still in the payload store, otherwise
left empty. ``enrichment_source`` says which.
"""
from __future__ import annotations

from typing import Any

from pipeline.document import article_document
from pipeline.models import Article, utcnow_iso

COPIED_FIELDS = ("persons", "organizations", "locations", "countries", "topics")


def duplicate_document(article: Article, dedupe: dict[str, Any], original: dict[str, Any] | None) -> dict[str, Any]:
    """Contract document (:func:`pipeline.document.article_document`) for a duplicate ``article``
    of ``original`` (its enriched document, or None when it is no longer stored): the
    :data:`COPIED_FIELDS` of ``original``, empty ``quotes``, ``enrichment_source`` (the
    original's id or None) and ``enriched_at``."""
    copied = {key: original.get(key, []) for key in COPIED_FIELDS} if original else {}
    doc = article_document(article, dedupe=dedupe, enrichment=copied)
    doc["enrichment_source"] = original.get("id") if original else None
    doc["enriched_at"] = utcnow_iso()
    return doc
