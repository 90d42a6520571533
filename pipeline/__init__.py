"""Wirewatch's library: every pipeline stage as plain Python (no Celery).

One package per stage, in the order an article flows: :mod:`pipeline.feeds` (registry,
parsing, OPML, polling) -> :mod:`pipeline.fetch` (guarded HTTP, extraction) ->
:mod:`pipeline.dedupe` -> :mod:`pipeline.enrich` -> :mod:`pipeline.index` (engine adapter,
mappings, batching, bulk) -> :mod:`pipeline.alerts` (saved searches, percolation,
notifications). Beside them the shared core: :mod:`pipeline.models`, :mod:`pipeline.document`
(the one builder of the indexed document, ``docs/contract.md``), :mod:`pipeline.settings`,
:mod:`pipeline.errors`, :mod:`pipeline.logs`, :mod:`pipeline.store`, :mod:`pipeline.stats`,
:mod:`pipeline.deadletter`, :mod:`pipeline.retry`. Each stage receives its collaborators
(settings, the search-engine adapter, the guarded HTTP client, a Redis connection) instead of
building them. Nothing here imports Celery, ``workers`` or ``wirewatch``.
"""
