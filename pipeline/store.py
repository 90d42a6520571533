"""Payloads between stages, kept in Redis so task messages carry ids, not whole documents.

``article:<id>`` holds a fetched :class:`~pipeline.models.Article` (JSON) until it is enriched;
``doc:<id>`` holds an enriched contract document until it is indexed and matched. Both expire
after ``ttl_s`` (default 7 days) so an abandoned payload cannot fill Redis; the search index is
the system of record.
"""
from __future__ import annotations

import json
from typing import Any

from pipeline.settings import Settings

#: Seconds a payload is kept (7 days: far longer than any retry schedule).
DEFAULT_TTL_S = 7 * 24 * 3600


class PayloadStore:
    """Put and get JSON payloads by kind ("article" or "doc") and id."""

    def __init__(self, redis, settings: Settings, ttl_s: int = DEFAULT_TTL_S):
        self.redis = redis
        self.prefix = settings.redis_key_prefix
        self.ttl_s = ttl_s

    def _key(self, kind: str, item_id: str) -> str:
        return f"{self.prefix}:{kind}:{item_id}"

    def put(self, kind: str, item_id: str, payload: dict[str, Any]) -> None:
        """Store ``payload`` under ``kind``/``item_id`` (overwrites; idempotent)."""
        self.redis.set(self._key(kind, item_id), json.dumps(payload, ensure_ascii=False), ex=self.ttl_s)

    def get(self, kind: str, item_id: str) -> dict[str, Any] | None:
        """Return the payload or None when it is absent or expired."""
        raw = self.redis.get(self._key(kind, item_id))
        return json.loads(raw) if raw else None

    def get_many(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Return ``{id: payload}`` for the ids that are present (one round trip)."""
        if not ids:
            return {}
        raws = self.redis.mget([self._key(kind, i) for i in ids])
        return {i: json.loads(r) for i, r in zip(ids, raws) if r}
