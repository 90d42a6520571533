"""Index stage: write enriched documents into the articles alias, idempotently.

``_id`` is the contract's ``id`` (derived from the canonical URL by
:func:`pipeline.models.article_id_for`), and documents are written with ``op_type=index``, so
re-indexing a document (a redelivered task, a re-fetched page) overwrites it instead of adding a
copy. Per-item failures that may pass on a retry (429, 5xx) are retried with exponential backoff;
permanent ones (a mapping error) are returned in :attr:`IndexResult.failed` with the engine's
reason for the caller to dead-letter.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pipeline.index.engine import SearchEngine
from pipeline.document import to_index_doc
from pipeline.errors import EngineError
from pipeline.logs import get_logger
from pipeline.models import utcnow_iso_ms
from pipeline.retry import backoff_s

log = get_logger(__name__)

#: Attempts per transient failure (first try included) before giving up.
MAX_ATTEMPTS = 4
#: Backoff before retry n (n = 1, 2, ...) is BACKOFF_BASE_S * 2**(n-1), capped at BACKOFF_CAP_S.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
#: Documents per bulk request. The Elasticsearch docs advise bulk requests of a few MB; 500
#: articles of ~5-20 kB each stay in that range.
CHUNK_DOCS = 500
#: ... and at most this many bytes of JSON per bulk request (far below the engines' default
#: ``http.max_content_length`` of 100 MB), so a batch of unusually long articles is split too.
CHUNK_BYTES = 10_000_000


@dataclass
class IndexResult:
    """Outcome of :func:`index_batch`.

    ``indexed``: ids written; ``failed``: ``(id, reason)`` for documents that could not be written
    (the engine's message, or ``missing_id``); ``retries``: item retries performed;
    ``indexed_at``: ISO-8601 time stamped on the documents.
    """

    indexed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    retries: int = 0
    indexed_at: str = ""

    @property
    def ok(self) -> bool:
        """True when every document was written."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {"indexed": self.indexed, "failed": [list(f) for f in self.failed],
                "retries": self.retries, "indexed_at": self.indexed_at}


def _chunks(docs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split ``docs`` into bulk chunks of at most CHUNK_DOCS documents and about CHUNK_BYTES bytes."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for doc in docs:
        n = len(json.dumps(doc, ensure_ascii=False, default=str))
        if current and (len(current) >= CHUNK_DOCS or size + n > CHUNK_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(doc)
        size += n
    if current:
        chunks.append(current)
    return chunks


def index_batch(engine: SearchEngine, docs: Sequence[dict[str, Any]], *, refresh: bool | str | None = None,
                sleep: Callable[[float], None] = time.sleep) -> IndexResult:
    """Bulk-index contract documents into ``<prefix>-articles`` with ``_id = doc["id"]``.

    Transient failures (whole request unreachable, or items with 429/5xx) are retried up to
    :data:`MAX_ATTEMPTS` times with exponential backoff (:data:`BACKOFF_BASE_S` doubling, capped
    at :data:`BACKOFF_CAP_S`). Returns an :class:`IndexResult`; documents that still fail are in
    ``failed`` with the engine's reason. Raises :class:`EngineError` (``transient=True``) when the
    engine stays unreachable, so the calling task can be retried as a whole.
    """
    indexed_at = utcnow_iso_ms()
    result = IndexResult(indexed_at=indexed_at)
    by_id: dict[str, dict[str, Any]] = {}  # one write per id; the last version in the batch wins
    for doc in docs:
        if not doc.get("id"):
            result.failed.append((str(doc.get("canonical_url") or doc.get("url") or "?"), "missing_id"))
            continue
        by_id[str(doc["id"])] = to_index_doc(doc, indexed_at=doc.get("indexed_at") or indexed_at)
    pending = list(by_id.values())
    index = engine.alias("articles")
    for chunk in _chunks(pending):
        attempt = 1
        while chunk:
            try:
                items = engine.bulk_index(index, chunk, "id", refresh=refresh)
            except EngineError as exc:
                if not exc.transient or attempt >= MAX_ATTEMPTS:
                    raise
                log.warning("index_retry", reason=exc.reason, attempt=attempt, docs=len(chunk))
                sleep(backoff_s(attempt, base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, jitter=None))
                attempt += 1
                result.retries += len(chunk)
                continue
            retry: list[dict[str, Any]] = []
            for doc, item in zip(chunk, items):
                if item.ok:
                    result.indexed.append(doc["id"])
                elif item.transient and attempt < MAX_ATTEMPTS:
                    retry.append(doc)
                else:
                    reason = item.error or f"status {item.status}"
                    log.warning("index_failed", article_id=doc["id"], status=item.status, reason=item.error_type or "engine_error")
                    result.failed.append((doc["id"], reason))
            if retry:
                result.retries += len(retry)
                sleep(backoff_s(attempt, base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, jitter=None))
                attempt += 1
            chunk = retry
    log.info("indexed", indexed=len(result.indexed), failed=len(result.failed), retries=result.retries)
    return result
