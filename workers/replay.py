"""Replay handler for dead letters of kind ``doc`` (``wirewatch dlq replay``).

The index task dead-letters a document with payload ``{"id": <document id>}`` when its payload
had expired (``payload_missing``) or the engine refused it for good (a mapping error). Replaying
one sends it back through the pipeline from the furthest stage whose input still exists:

- the enriched document is still in the payload store -> ``wirewatch.index_batch([id])``;
- only the fetched article is -> ``wirewatch.enrich_article(id)`` (which then indexes it);
- neither -> ``LookupError``: the entry stays (re-poll the feed, or purge it).

Registered with :func:`wirewatch.commands.dlq.register_replay_handler` when this module is
imported (``wirewatch.commands.dlq.HANDLER_MODULES`` lists it).
"""
from __future__ import annotations

from typing import Callable

from pipeline.settings import Settings

KIND = "doc"


def doc_replay_factory(settings: Settings, *, send_task: Callable | None = None) -> Callable[[dict], str]:
    """A handler ``handle(payload) -> task name sent`` for ``doc`` dead letters.

    ``send_task(name, args=...)`` defaults to a Celery app built for ``settings`` (its
    broker and key prefix). Raises ``ValueError`` for a payload without an ``id`` and
    ``LookupError`` when neither the document nor the article payload is stored any more.
    """
    import redis

    from pipeline.store import PayloadStore

    def handle(payload: dict) -> str:
        doc_id = (payload or {}).get("id")
        if not doc_id or not isinstance(doc_id, str):
            raise ValueError(f"doc dead letter without a document id: {payload!r}")
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            store = PayloadStore(client, settings)
            sender = send_task
            if sender is None:
                from workers.app import make_app

                sender = make_app(settings).send_task
            if store.get("doc", doc_id) is not None:
                sender("wirewatch.index_batch", args=[[doc_id]])
                return "wirewatch.index_batch"
            if store.get("article", doc_id) is not None:
                sender("wirewatch.enrich_article", args=[doc_id, None])
                return "wirewatch.enrich_article"
            raise LookupError(f"document {doc_id}: neither the enriched document nor the fetched article is stored "
                              "any more; re-poll its feed or purge this entry")
        finally:
            client.close()

    return handle


def _register() -> None:
    try:
        from wirewatch.commands.dlq import register_replay_handler
    except ImportError:  # the CLI is not installed beside the workers: nothing to register with
        return
    register_replay_handler(KIND, doc_replay_factory)


_register()
