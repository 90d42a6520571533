"""Dead-letter store in Redis: messages that failed for good wait here, with their reason,
until someone looks at them (``wirewatch dlq list|show``), replays them or purges them.

Nothing is dropped silently: a poison Celery task, a notification whose endpoint stayed down
or an article that crashed enrichment lands here with the error text and the attempt count.

Layout (all keys under ``settings.redis_key_prefix``)::

    <prefix>:dlq:entries          hash    id -> entry JSON
    <prefix>:dlq:all              zset    id scored by created time (epoch seconds)
    <prefix>:dlq:kind:<kind>      zset    same, one per kind
    <prefix>:dlq:lock:<id>        string  short-lived claim taken while an entry is replayed

An entry is a JSON object::

    {"id": "...", "kind": "notification", "payload": {...}, "reason": "http_5xx",
     "error": "HTTP 503 from hooks.example.com", "attempts": 5,
     "created_at": "2024-05-01T12:00:00+00:00", "replays": 0, "last_replay_error": null,
     "last_replay_at": null}

Ids sort by creation time (milliseconds since the epoch, then random hex), so listings come
out oldest first without extra sorting.
"""
from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone
from typing import Any, Callable

from pipeline.logs import redact_url
from pipeline.errors import WirewatchError
from pipeline.logs import get_logger

log = get_logger(__name__)

#: Seconds a replay claim lives; a crashed replayer frees the entry after this long.
REPLAY_LOCK_TTL_S = 300

#: Default number of entries ``list`` returns.
DEFAULT_LIST_LIMIT = 100

#: Cap on the error text kept per entry (characters); tracebacks beyond this are cut.
MAX_ERROR_CHARS = 4000


class DeadLetterError(WirewatchError):
    """A dead-letter operation failed. Reasons: ``not_found``, ``locked``, ``bad_kind``."""

    reason = "deadletter"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _check_kind(kind: str) -> str:
    if not kind or not isinstance(kind, str) or any(c in kind for c in " \t\n*?[]\\") or kind.startswith(":") or kind.endswith(":"):
        raise DeadLetterError(f"invalid dead-letter kind {kind!r} (a word such as 'notification', or 'task:<task name>')", reason="bad_kind")
    return kind


def kind_family(kind: str) -> str:
    """The part before the first ``:`` (``"task:wirewatch.enrich"`` -> ``"task"``)."""
    return kind.split(":", 1)[0]


class DeadLetters:
    """Dead letters of one Wirewatch installation, stored in Redis.

    ``redis`` is a ``redis.Redis`` client (bytes or decoded responses both work);
    ``settings`` a :class:`pipeline.settings.Settings` whose ``redis_key_prefix`` scopes the
    keys. Redis errors (``redis.exceptions.ConnectionError`` ...) propagate: callers decide
    whether to retry, because a dead-letter store that silently fails would lose messages.
    """

    def __init__(self, redis, settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis_key_prefix}:dlq"

    # --- keys -------------------------------------------------------------------------
    @property
    def _entries(self) -> str:
        return f"{self.prefix}:entries"

    @property
    def _all(self) -> str:
        return f"{self.prefix}:all"

    def _kind_key(self, kind: str) -> str:
        return f"{self.prefix}:kind:{kind}"

    def _lock_key(self, entry_id: str) -> str:
        return f"{self.prefix}:lock:{entry_id}"

    # --- writing ----------------------------------------------------------------------
    def add(self, kind: str, payload: dict, reason: str, error: str = "", attempts: int = 1) -> str:
        """Store one dead letter and return its id.

        ``kind`` names what failed ("notification", "article", "task:<celery task name>", ...;
        the part before ``:`` is its family, see :meth:`list`), ``payload`` is the
        JSON-serialisable message to replay, ``reason`` a reason code (see
        :mod:`pipeline.errors`), ``error`` the human-readable error (cut to
        :data:`MAX_ERROR_CHARS`), ``attempts`` how many times delivery was tried.
        Raises :class:`DeadLetterError` (``bad_kind``) for a kind with spaces/globs and
        ``TypeError`` when ``payload`` is not JSON-serialisable.
        """
        _check_kind(kind)
        now = _now()
        entry_id = f"{int(now.timestamp() * 1000):013d}-{secrets.token_hex(4)}"
        entry = {
            "id": entry_id,
            "kind": kind,
            "payload": payload,
            "reason": reason,
            "error": redact_url(error or "")[:MAX_ERROR_CHARS],  # credentials never stored (issue 16)
            "attempts": int(attempts),
            "created_at": now.replace(microsecond=0).isoformat(),
            "replays": 0,
            "last_replay_error": None,
            "last_replay_at": None,
        }
        body = json.dumps(entry, ensure_ascii=False)
        score = now.timestamp()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._entries, entry_id, body)
        pipe.zadd(self._all, {entry_id: score})
        pipe.zadd(self._kind_key(kind), {entry_id: score})
        pipe.execute()
        log.warning("dead_lettered", kind=kind, reason=reason, attempts=attempts, deadletter_id=entry_id)
        return entry_id

    def _save(self, entry: dict) -> None:
        self.redis.hset(self._entries, entry["id"], json.dumps(entry, ensure_ascii=False))

    # --- reading ----------------------------------------------------------------------
    def get(self, entry_id: str) -> dict | None:
        """Return the entry with ``entry_id`` (a dict as in the module doc) or None."""
        raw = self.redis.hget(self._entries, entry_id)
        return json.loads(raw) if raw is not None else None

    def _keys_for(self, kind: str | None) -> list[str]:
        """Index keys selected by ``kind``: all, the exact kind, plus ``<kind>:*`` sub-kinds."""
        if not kind:
            return [self._all]
        _check_kind(kind)
        keys = [self._kind_key(kind)]
        keys += [_text(k) for k in self.redis.scan_iter(match=f"{self._kind_key(kind)}:*", count=500)]
        return keys

    def _ids(self, kind: str | None, offset: int, limit: int) -> list[str]:
        keys = self._keys_for(kind)
        if len(keys) == 1:
            return [_text(i) for i in self.redis.zrange(keys[0], offset, offset + limit - 1)]
        scored: list[tuple[float, str]] = []
        for key in keys:
            scored += [(score, _text(i)) for i, score in self.redis.zrange(key, 0, offset + limit - 1, withscores=True)]
        scored.sort(key=lambda t: (t[0], t[1]))
        return [i for _, i in scored[offset:offset + limit]]

    def list(self, kind: str | None = None, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0) -> list[dict]:
        """Return up to ``limit`` entries, oldest first, of all kinds or of ``kind``.

        ``kind`` selects that kind and its sub-kinds: ``"task"`` also lists ``"task:wirewatch.enrich"``.
        """
        if limit <= 0:
            return []
        ids = self._ids(kind, offset, limit)
        if not ids:
            return []
        raws = self.redis.hmget(self._entries, ids)
        return [json.loads(r) for r in raws if r is not None]

    def count(self, kind: str | None = None) -> int:
        """Number of entries of all kinds or of ``kind`` and its sub-kinds."""
        return sum(int(self.redis.zcard(key)) for key in self._keys_for(kind))

    def kinds(self) -> dict[str, int]:
        """Counts per exact kind, e.g. ``{"notification": 3, "task:wirewatch.enrich": 1}``."""
        out: dict[str, int] = {}
        head = f"{self.prefix}:kind:"
        for key in self.redis.scan_iter(match=f"{head}*", count=500):
            kind = _text(key)[len(head):]
            n = int(self.redis.zcard(key))
            if n:
                out[kind] = n
        return dict(sorted(out.items()))

    # --- removing ---------------------------------------------------------------------
    def remove(self, entry_id: str) -> bool:
        """Delete one entry; True when it existed."""
        raw = self.redis.hget(self._entries, entry_id)
        if raw is None:
            return False
        kind = json.loads(raw)["kind"]
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self._entries, entry_id)
        pipe.zrem(self._all, entry_id)
        pipe.zrem(self._kind_key(kind), entry_id)
        removed, _, _ = pipe.execute()
        return bool(removed)

    def purge(self, kind: str | None = None) -> int:
        """Delete every entry of ``kind`` and its sub-kinds (or every entry); return how many."""
        n = 0
        for key in self._keys_for(kind):
            while True:
                ids = [_text(i) for i in self.redis.zrange(key, 0, 499)]
                if not ids:
                    break
                for entry_id in ids:
                    if self.remove(entry_id):
                        n += 1
                    else:  # index entry without a body: drop the stale id
                        self.redis.zrem(key, entry_id)
                        self.redis.zrem(self._all, entry_id)
        return n

    # --- replay -----------------------------------------------------------------------
    def replay(self, entry_id: str, handler: Callable[[dict], None]) -> dict:
        """Hand the entry's payload to ``handler``; remove the entry only when it returns.

        While the handler runs the entry is claimed (a Redis ``SET NX`` lock for
        :data:`REPLAY_LOCK_TTL_S` s), so two concurrent replays of one entry never both run.
        When the handler raises, the entry stays, its ``replays`` count goes up, the error
        is kept in ``last_replay_error`` and the exception propagates.
        Returns the entry as it was replayed. Raises :class:`DeadLetterError` with reason
        ``not_found`` or ``locked``.
        """
        lock = self._lock_key(entry_id)
        if not self.redis.set(lock, b"1", nx=True, ex=REPLAY_LOCK_TTL_S):
            raise DeadLetterError(f"dead letter {entry_id} is being replayed by someone else", reason="locked")
        try:
            entry = self.get(entry_id)
            if entry is None:
                raise DeadLetterError(f"no dead letter with id {entry_id}", reason="not_found")
            try:
                handler(entry["payload"])
            except Exception as exc:
                entry["replays"] = int(entry.get("replays", 0)) + 1
                entry["last_replay_error"] = redact_url(f"{type(exc).__name__}: {exc}")[:MAX_ERROR_CHARS]
                entry["last_replay_at"] = _now().replace(microsecond=0).isoformat()
                if self.redis.hexists(self._entries, entry_id):
                    self._save(entry)
                log.warning("replay_failed", deadletter_id=entry_id, kind=entry["kind"], error=type(exc).__name__)
                raise
            self.remove(entry_id)
            log.info("replayed", deadletter_id=entry_id, kind=entry["kind"])
            return entry
        finally:
            self.redis.delete(lock)


def entry_age_s(entry: dict, now: float | None = None) -> float:
    """Seconds since the entry was created (for tables)."""
    created = datetime.fromisoformat(entry["created_at"]).timestamp()
    return max(0.0, (now if now is not None else time.time()) - created)
