"""The index stage's batching protocol, as the index task runs it (see :mod:`pipeline.index.pending`).

A document reaches the index stage in three steps, each one function here:

1. :func:`hand_to_index`: the producer (enrich, or the dedupe stage for a duplicate) puts the
   stored document's id into the pending pool, then sends the index message (in that order: the
   message must find the id waiting).
2. :func:`claim_batch`: the index task lets documents gather for ``settings.index_linger_s``
   and claims its own ids with the oldest others (at most ``settings.index_batch_max``), or
   finds it has nothing to do because an earlier task took its ids. A redelivered message (same
   task id) gets its earlier claim back.
3. :func:`index_stored`: the claimed documents are read from the payload store and bulk-indexed
   (:func:`pipeline.index.bulk.index_batch`); missing and refused documents are dead-lettered
   with their reason. The task then releases its claim (:meth:`PendingPool.release`).

:func:`dead_letter_call` says what a replay of a dead-lettered pooled task must run. Retries,
dead letters of the task as a whole and splitting a batch a bad document broke are the workers'
failure policy (``workers/tasks.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from pipeline.deadletter import DeadLetters
from pipeline.index.bulk import index_batch
from pipeline.index.engine import SearchEngine
from pipeline.index.pending import PendingPool
from pipeline.stats import Counters
from pipeline.store import PayloadStore


def hand_to_index(pool: PendingPool, doc_id: str, send: Callable[[list[str]], object]) -> None:
    """Put ``doc_id`` (a document already in the payload store) into the pending ``pool``, then
    call ``send([doc_id])`` (the index task's message). Raises what Redis or ``send`` raise."""
    pool.add([doc_id])
    send([doc_id])


def claim_batch(pool: PendingPool, task_id: str, doc_ids: Sequence[str], *, linger_s: float,
                limit: int) -> list[str] | None:
    """The ids task ``task_id`` (sent for ``doc_ids``) must index now, or None when an earlier
    task took them all.

    A task that holds a claim already (a redelivered or retried message) gets it back at once;
    otherwise it waits up to ``linger_s`` seconds (less when ``limit`` documents are pending)
    and claims its own ids plus the oldest others, at most ``limit``. Raises ``redis.RedisError``.
    """
    ids = pool.claimed(task_id)
    if ids is not None:
        return ids
    if not pool.wait(doc_ids, linger_s=linger_s, limit=limit):
        return None
    return pool.claim(task_id, doc_ids, limit) or None   # an earlier task took them between the wait and the claim


def dead_letter_call(pool: PendingPool, task_id: str, doc_ids: Sequence[str]) -> tuple[list, dict]:
    """What a replay of a dead-lettered pooled index task must run: ``([claimed ids], {})``
    (an unpooled call) when ``task_id`` holds a claim, else its own call ``([doc_ids],
    {"pooled": True})`` (a replay under a new task id would otherwise find the ids neither
    pending nor claimed by it, and index nothing). Raises ``redis.RedisError``."""
    claim = pool.claimed(task_id)
    return ([claim], {}) if claim is not None else ([list(doc_ids)], {"pooled": True})


@dataclass
class StoredIndexResult:
    """Outcome of :func:`index_stored`: ``indexed`` ids written, ``read`` documents found in the
    payload store (the bulk's size), ``dead_lettered`` ids that were missing or refused."""

    indexed: list[str] = field(default_factory=list)
    read: int = 0
    dead_lettered: list[str] = field(default_factory=list)


def index_stored(engine: SearchEngine, store: PayloadStore, deadletters: DeadLetters, counters: Counters,
                 doc_ids: Sequence[str]) -> StoredIndexResult:
    """Index the stored documents ``doc_ids`` in one bulk request (per chunk).

    A document missing from the store (expired, never stored) is dead-lettered as
    ``payload_missing``, one the engine refuses for good with the engine's reason (kind ``doc``,
    payload ``{"id"}``; ``workers/replay.py`` replays them); each is counted as an index error,
    and the written ones as ``indexed``. Raises :class:`pipeline.errors.EngineError` when the
    engine stays unreachable (``transient=True``) and ``redis.RedisError`` when Redis is.
    """
    out = StoredIndexResult()
    docs = store.get_many("doc", list(doc_ids))
    for i in doc_ids:
        if i not in docs:
            deadletters.add(kind="doc", payload={"id": i}, reason="payload_missing", error="document expired or never stored")
            counters.error("index", "payload_missing")
            out.dead_lettered.append(i)
    out.read = len(docs)
    if not docs:
        return out
    result = index_batch(engine, list(docs.values()))
    for doc_id, reason in result.failed:
        deadletters.add(kind="doc", payload={"id": doc_id}, reason=reason, error="index item failed")
        counters.error("index", reason)
        out.dead_lettered.append(doc_id)
    counters.incr("indexed", len(result.indexed))
    out.indexed = list(result.indexed)
    return out


__all__ = ["hand_to_index", "claim_batch", "dead_letter_call", "index_stored", "StoredIndexResult"]
