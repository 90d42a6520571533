"""The dedupe stage's decision for a fetched article, and the document of a duplicate.

:func:`dedupe_fetched` records the decision and stores the article; a duplicate's document is
built and stored at once, to be indexed with its ``duplicate_of`` pointer, not enriched again.

A near-duplicate's body differs slightly from its original, so character offsets (quotes) would
not fit it; the article-level fields (persons, organizations, locations, countries, topics) are
copied from the original's enriched document when it is still in the payload store, otherwise
left empty. ``enrichment_source`` says which.
"""
from __future__ import annotations

from typing import Any

from pipeline.document import article_document
from pipeline.dedupe.deduper import DedupeResult, Deduper
from pipeline.models import Article, utcnow_iso, utcnow_iso_ms
from pipeline.stats import Counters
from pipeline.store import PayloadStore

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


def dedupe_fetched(article: Article, deduper: Deduper, store: PayloadStore, counters: Counters) -> DedupeResult:
    """The dedupe stage for a fetched ``article``: decide (:meth:`Deduper.check_and_record`,
    idempotent per article id), store the article with its content hash, count it ``fetched``;
    for a duplicate also build its document (:func:`duplicate_document`, from the original's
    stored document when there is one), stamp ``enqueued_at`` (ISO-8601, milliseconds), store
    it under ``doc:<id>`` and count it in ``duplicates``.

    Returns the decision: the caller hands a duplicate's id to index
    (:func:`pipeline.index.batch.hand_to_index`) and any other article to enrich. Raises
    :class:`pipeline.errors.DedupeError` or ``redis.RedisError`` when Redis fails.
    """
    result = deduper.check_and_record(article)
    article.content_hash = result.content_hash
    store.put("article", article.id, article.to_dict())
    counters.incr("fetched")
    if result.duplicate_of:
        original = store.get("doc", result.duplicate_of)
        doc = duplicate_document(article, result.to_dict(), original)
        doc["enqueued_at"] = utcnow_iso_ms()
        store.put("doc", article.id, doc)
        counters.incr("duplicates")
    return result
