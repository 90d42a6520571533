"""The indexed document: the one place that builds it (contract: ``docs/contract.md``).

Three callers, one shape:

- the enrich stage (:func:`pipeline.enrich.enrich_article`): :func:`article_document` with the
  enrichment of the article's own text;
- the duplicate path (:func:`pipeline.dedupe.duplicate.duplicate_document`):
  :func:`article_document` with the original's article-level enrichment copied;
- the index stage (:func:`pipeline.index.bulk.index_batch`): :func:`to_index_doc` adds the
  derived fields the mapping declares for dashboards and the percolator's geo filter.

``CONTRACT_FIELDS`` lists every dotted field the builder writes, and ``DERIVED_FIELDS`` what
:func:`to_index_doc` adds; ``tests/test_pipeline/test_contract.py`` holds them against the mapping and
the Kibana / OpenSearch Dashboards saved objects, so a field declared but never written fails.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from pipeline.models import Article, source_domain

#: Enrichment fields: lists, present (maybe empty) in every document.
ENRICHMENT_FIELDS = ("persons", "organizations", "locations", "countries", "quotes", "topics")

#: Dotted names of the fields :func:`article_document` writes (objects' leaves and the objects
#: themselves), in the order of ``docs/contract.md``.
CONTRACT_FIELDS = (
    "id", "url", "canonical_url", "title", "body", "language", "published_at", "fetched_at",
    "source", "source.domain", "source.feed_url", "source.feed_id",
    *ENRICHMENT_FIELDS,
    "dedupe", "dedupe.content_hash", "dedupe.cluster_id", "dedupe.duplicate_of",
    "authors", "extraction", "item_guid", "published_unknown_zone", "declared_canonical_url", "truncated_fields",
)
#: Fields :func:`to_index_doc` adds to every document (``indexed_at`` when it is given).
DERIVED_FIELDS = ("geo_points", "place_names", "speakers", "quote_count", "indexed_at")
#: Fields the stages add beside the builder's: enrich (``enriched_at``, ``enrich_ms``,
#: ``enrich_truncated_at`` when the body was cut), the duplicate path (``enriched_at``,
#: ``enrichment_source``), the hand-off to index (``enqueued_at``), the story stage (``story``:
#: :func:`pipeline.dedupe.stories.place_in_story`, after enrich or dedupe).
STAGE_FIELDS = ("enriched_at", "enrich_ms", "enrich_truncated_at", "enrichment_source", "enqueued_at",
                "story", "story.id", "story.similarity")


def article_document(article: Article, *, dedupe: dict[str, Any] | None = None,
                     enrichment: dict[str, Any] | None = None) -> dict[str, Any]:
    """The contract document for ``article`` (every field of :data:`CONTRACT_FIELDS`).

    ``dedupe``: ``{"content_hash", "cluster_id", "duplicate_of"}`` from the dedupe stage; each
    missing value defaults to the article's own (its ``content_hash``, its id as the cluster, no
    original). ``enrichment``: the lists of :data:`ENRICHMENT_FIELDS` (missing ones are empty)
    and optionally ``language`` (the detected language, which wins over the article's).
    ``source.domain`` is the article's, else the host of its canonical URL
    (:func:`pipeline.models.source_domain`). Pure: neither argument is changed, nor shared
    with the result's lists.
    """
    dedupe = dedupe or {}
    enrichment = enrichment or {}
    doc: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "body": article.body,
        "language": enrichment.get("language") or article.language,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "source": {
            "domain": article.source_domain or source_domain(article.canonical_url or article.url),
            "feed_url": article.feed_url,
            "feed_id": article.feed_id,
        },
    }
    for key in ENRICHMENT_FIELDS:
        doc[key] = list(enrichment.get(key) or [])
    doc["dedupe"] = {
        "content_hash": dedupe.get("content_hash") or article.content_hash,
        "cluster_id": dedupe.get("cluster_id") or article.id,
        "duplicate_of": dedupe.get("duplicate_of"),
    }
    doc["authors"] = list(article.authors)
    doc["extraction"] = article.extraction
    doc["item_guid"] = article.item_guid
    zone = article.published_unknown_zone
    doc["published_unknown_zone"] = dict(zone) if zone else None
    # A canonical URL the page (or a feed) declared on another site: kept, not trusted (issue 16).
    doc["declared_canonical_url"] = article.declared_canonical_url
    # Text fields cut at ingestion (pipeline.sanitize.FIELD_LIMITS), sorted.
    doc["truncated_fields"] = sorted(article.truncated)
    return doc


def _is_coord(lat: Any, lon: Any) -> bool:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180


def to_index_doc(doc: dict[str, Any], *, indexed_at: str | None = None) -> dict[str, Any]:
    """The document as indexed: the contract document plus derived fields (pure; ``doc`` is not changed).

    Adds ``locations[].location`` ({lat, lon}) for locations with valid coordinates,
    ``geo_points`` (those points at the top level), ``speakers`` (distinct non-null
    ``quotes[].speaker``), ``place_names`` (distinct location names), ``quote_count``, and
    ``indexed_at`` when given. Missing list fields stay missing; invalid coordinates are
    dropped from the derived fields but kept in ``locations[].lat/lon`` as they came.
    """
    out = copy.deepcopy(doc)
    points: list[dict[str, float]] = []
    names: list[str] = []
    for loc in out.get("locations") or []:
        if not isinstance(loc, dict):
            continue
        if _is_coord(loc.get("lat"), loc.get("lon")):
            point = {"lat": float(loc["lat"]), "lon": float(loc["lon"])}
            loc["location"] = point
            if point not in points:
                points.append(point)
        else:
            loc.pop("location", None)
        name = loc.get("name")
        if name and name not in names:
            names.append(name)
    speakers: list[str] = []
    quotes = [q for q in out.get("quotes") or [] if isinstance(q, dict)]
    for q in quotes:
        sp = q.get("speaker")
        if sp and sp not in speakers:
            speakers.append(sp)
    out["geo_points"] = points
    out["place_names"] = names
    out["speakers"] = speakers
    out["quote_count"] = len(quotes)
    if indexed_at is not None:
        out["indexed_at"] = indexed_at
    return out


__all__ = ["article_document", "to_index_doc", "CONTRACT_FIELDS", "DERIVED_FIELDS", "ENRICHMENT_FIELDS",
           "STAGE_FIELDS"]
