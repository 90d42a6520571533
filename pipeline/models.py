"""Plain data passed between stages. Every model round-trips through JSON (``to_dict``/``from_dict``)
so that Celery payloads and Redis records stay simple.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit


def utcnow_iso() -> str:
    """Current UTC time as ISO-8601 with seconds precision and a ``Z``-free ``+00:00`` offset."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def utcnow_iso_ms() -> str:
    """Current UTC time as ISO-8601 with milliseconds (pipeline time stamps: ``enqueued_at``,
    ``indexed_at``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def article_id_for(canonical_url: str) -> str:
    """Stable document id for a canonical URL: the first 32 hex digits of its SHA-256.

    The same canonical URL always gives the same ``_id``, which makes indexing idempotent.
    """
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]


def item_article_id(canonical_url: str, guid: str) -> str:
    """Stable document id for one feed entry whose link other entries share: the first 32 hex
    digits of the SHA-256 of ``canonical_url``, a newline and the entry's ``guid``. Never equal
    to :func:`article_id_for` of a URL (a URL holds no newline)."""
    return hashlib.sha256(f"{canonical_url}\n{guid}".encode("utf-8")).hexdigest()[:32]


def source_domain(url: str | None) -> str:
    """The host of ``url`` lower-cased, without a leading ``www.`` (``""`` when there is none).

    The one definition of an article's ``source.domain`` (fetch stage, local texts, documents).
    """
    host = (urlsplit(url or "").hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


class _JsonModel:
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of all fields."""
        return asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build from a dict, ignoring unknown keys (forward compatible payloads)."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ArticleRef(_JsonModel):
    """One feed entry, before its page is fetched.

    ``link`` is the entry's URL; ``guid`` its identity within the feed: the feed's guid/id,
    else the link, else (when several entries share the link) the link plus a digest of title
    and date (:func:`pipeline.feeds.parse.parse_feed`); ``published`` ISO-8601 UTC or None;
    ``summary`` plain text (fallback body). ``shared_link`` is True when other entries of the
    same feed document, with other titles, link to the same page: the page is not about this
    entry alone, so the entry becomes an article of its own text (:mod:`pipeline.fetch`).
    ``published_unknown_zone`` is ``{"local": wall-clock ISO-8601 without offset, "zone":
    abbreviation}`` when the feed wrote the date in a zone we do not know (``published`` is
    then None; :mod:`pipeline.feeds.dates`). ``warnings`` are reason codes about the entry
    (``unknown_zone``, ``encoding_replaced``: invalid bytes in the feed were replaced in its text).
    """

    feed_id: str
    feed_url: str
    link: str
    guid: str
    title: str = ""
    published: str | None = None
    summary: str = ""
    shared_link: bool = False
    published_unknown_zone: dict[str, str] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Article(_JsonModel):
    """A fetched, extracted article, before enrichment.

    ``id`` derives from ``canonical_url`` (:func:`article_id_for`). ``extraction`` is
    ``"page"`` when the body came from the fetched page and ``"summary"`` when the page could
    not be fetched or extracted and the feed entry's summary stands in (``extraction_error``
    then holds the reason), and ``"entry"`` for a feed entry whose link several entries share
    (a listing or live page): title and body are the entry's own and ``item_guid`` is its
    guid; ``id`` then derives from the canonical URL and the guid (:func:`item_article_id`).
    ``published_unknown_zone`` as in :class:`ArticleRef` (None when the page gave a date).
    ``declared_canonical_url`` is a canonical URL the page declared on another site, not trusted
    for the id (see :mod:`pipeline.fetch.extract`). ``truncated`` maps each text field cut at
    ingestion to its original length (:mod:`pipeline.sanitize`).
    """

    id: str
    url: str
    canonical_url: str
    title: str
    body: str
    language: str | None = None
    published_at: str | None = None
    fetched_at: str = field(default_factory=utcnow_iso)
    source_domain: str = ""
    feed_url: str | None = None
    feed_id: str | None = None
    authors: list[str] = field(default_factory=list)
    extraction: str = "page"
    extraction_error: str | None = None
    content_hash: str = ""
    item_guid: str | None = None
    published_unknown_zone: dict[str, str] | None = None
    declared_canonical_url: str | None = None
    truncated: dict[str, int] = field(default_factory=dict)
