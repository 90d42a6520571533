"""Replay handlers for dead letters (``wirewatch dlq replay``), all registered here.

Handlers are chosen by the entry's kind through :data:`REPLAY_HANDLERS`, a dict of kind (or
kind family, the part before ``:``) -> handler factory. A factory takes the
:class:`~pipeline.settings.Settings` and returns ``handler(payload: dict)``, which raises when
the replay fails (the entry then stays, with its replay count and error). Lookup order: the
exact kind (``"task:wirewatch.enrich_article"``), then its family (``"task"``).

- ``notification``: re-sends to the one channel that failed
  (:func:`pipeline.alerts.notify.replay_notification`); channel secrets, which are never stored
  in dead letters, are looked up again in the saved search (``search_id``, ``channel_index``).
- ``task``: re-queues the Celery task with its stored ``args``/``kwargs`` through
  ``workers.app.app.send_task`` (the workers' payload is ``{"task", "args", "kwargs"}``).
- ``doc``: the index stage dead-letters a document with payload ``{"id": <document id>}`` when
  its payload had expired (``payload_missing``) or the engine refused it for good (a mapping
  error). Replaying one sends it back through the pipeline from the furthest stage whose input
  still exists: the enriched document is still in the payload store ->
  ``wirewatch.index_batch([id])``; only the fetched article is -> ``wirewatch.enrich_article(id)``
  (which then indexes it); neither -> ``LookupError``: the entry stays (re-poll the feed, or
  purge it).

To add one, add a factory to :data:`REPLAY_HANDLERS` or call :func:`register_replay_handler`.
"""
from __future__ import annotations

from typing import Callable

from pipeline.settings import Settings

Handler = Callable[[dict], None]
HandlerFactory = Callable[[Settings], Handler]


def _notification_factory(settings: Settings) -> Handler:
    from pipeline.alerts.notify import replay_notification

    def resolve(payload: dict) -> dict | None:
        """The current channel config from the saved search (it holds the secrets)."""
        search_id = (payload.get("event") or {}).get("search_id")
        index = payload.get("channel_index")
        if not search_id or index is None:
            return None
        try:
            from pipeline.index.engine import SearchEngine
            from pipeline.alerts.searches import SavedSearchStore

            search = SavedSearchStore(SearchEngine.from_settings(settings), settings).get(search_id)
        except Exception:  # noqa: BLE001 - fall back to the stored config; replay reports what is missing
            return None
        if search is None or index >= len(search.notify or []):
            return None
        current = dict(search.notify[index])
        stored = payload.get("channel") or {}
        # only trust the lookup when it is the same channel (same type and URL/recipients)
        same = current.get("type") == stored.get("type") and all(current.get(k) == stored.get(k) for k in ("url", "to") if k in stored)
        return current if same else None

    def handle(payload: dict) -> None:
        replay_notification(payload, settings, resolve_channel=resolve)

    return handle


def _task_factory(settings: Settings) -> Handler:
    def handle(payload: dict) -> None:
        from workers.app import app as celery_app

        name = payload.get("task")
        if not name:
            raise ValueError("task dead letter without a 'task' name")
        celery_app.send_task(name, args=list(payload.get("args") or []), kwargs=dict(payload.get("kwargs") or {}))

    return handle


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


#: kind or kind family -> handler factory (see the module docstring).
REPLAY_HANDLERS: dict[str, HandlerFactory] = {
    "notification": _notification_factory,
    "task": _task_factory,
    "doc": doc_replay_factory,
}


def register_replay_handler(kind: str, factory: HandlerFactory) -> None:
    """Register (or replace) the handler factory for ``kind`` or a kind family."""
    REPLAY_HANDLERS[kind] = factory


def handler_for(kind: str, settings: Settings) -> Handler:
    """The replay handler for ``kind`` (exact kind first, then its family).

    Raises ``LookupError`` naming the known kinds when none is registered.
    """
    factory = REPLAY_HANDLERS.get(kind) or REPLAY_HANDLERS.get(kind.split(":", 1)[0])
    if factory is None:
        raise LookupError(f"no replay handler for kind {kind!r}; known: {', '.join(sorted(REPLAY_HANDLERS))} "
                          "(see workers/replay.py to add one)")
    return factory(settings)
