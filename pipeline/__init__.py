"""Wirewatch's library: every pipeline stage as plain Python (no Celery).

Stages follow the flow in DESIGN.md: ``poll`` -> ``fetch``/``extract`` -> ``dedupe`` ->
``enrich`` -> ``index`` -> ``alerts``. Each receives its collaborators (settings, the
search-engine adapter, the guarded HTTP client, a Redis connection) instead of building them.
"""
