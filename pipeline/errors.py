"""Wirewatch's exceptions. Each carries a ``reason`` code that logs and metrics use.

Reason codes are short snake_case strings (``timeout``, ``blocked``, ``too_large`` ...); a
failure is always logged with its reason, counted under it and then retried or dead-lettered.
"""
from __future__ import annotations


class WirewatchError(Exception):
    """Base class. ``reason`` is a stable code; ``transient`` says whether a retry may help."""

    reason: str = "error"
    transient: bool = False

    def __init__(self, message: str = "", *, reason: str | None = None, transient: bool | None = None):
        super().__init__(message or self.reason)
        if reason is not None:
            self.reason = reason
        if transient is not None:
            self.transient = transient


class ConfigError(WirewatchError):
    """A setting is missing or invalid."""

    reason = "config"


class ServiceError(WirewatchError):
    """A local service (Redis, OpenSearch) could not be installed, started or reached."""

    reason = "service"


class RemoteError(WirewatchError):
    """A failure where the other side may have answered: ``status`` is its HTTP status (or SMTP
    reply code), ``retry_after_s`` the seconds it asked us to wait (``Retry-After``), else None."""

    def __init__(self, message: str = "", *, reason: str | None = None, transient: bool | None = None,
                 status: int | None = None, retry_after_s: float | None = None):
        super().__init__(message, reason=reason, transient=transient)
        self.status = status
        self.retry_after_s = retry_after_s


class FetchError(RemoteError):
    """An HTTP fetch failed. Reasons: blocked, timeout, too_large, not_html, http_error,
    redirect_loop, bad_encoding, connect_error, decompression_bomb, gone."""

    reason = "fetch_error"

    def __init__(self, message: str = "", *, reason: str | None = None, transient: bool | None = None,
                 status: int | None = None, retry_after_s: float | None = None, url: str | None = None):
        super().__init__(message, reason=reason, transient=transient, status=status, retry_after_s=retry_after_s)
        #: The URL that failed (after redirects when known).
        self.url = url


class FeedError(WirewatchError):
    """A feed could not be parsed. Reasons: not_a_feed, xml_error, entity_bomb, empty, ..."""

    reason = "feed_error"


class ExtractionError(WirewatchError):
    """No main text could be extracted from a page."""

    reason = "extraction_failed"


class EngineError(WirewatchError):
    """The search engine refused or failed a request; ``transient`` when it is unreachable."""

    reason = "engine_error"


class InvalidQueryError(EngineError):
    """A saved-search query was refused by the engine; the message is the engine's own."""

    reason = "invalid_query"


class NotifyError(RemoteError):
    """A notification could not be delivered. Reasons: invalid_channel, connect_error, timeout,
    http_5xx, http_429, http_4xx, http_redirect, smtp_transient, smtp_error, smtp_auth,
    starttls_unsupported, secret_unavailable. ``transient`` says whether a retry may help."""

    reason = "notify_error"


class DedupeError(WirewatchError):
    """The dedupe stage could not decide. Reasons: dedupe_busy (lock not obtained; transient)."""

    reason = "dedupe_error"


class GoldFormatError(WirewatchError):
    """A gold file for ``wirewatch eval`` is missing or malformed. Reasons: gold_format, gold_missing."""

    reason = "gold_format"


class ChaosPoison(WirewatchError):
    """Raised on purpose by the enrich task for an article carrying
    ``Settings.chaos_poison_marker`` (failure drills only). Permanent: it is dead-lettered."""

    reason = "chaos_poison"


def validation_problems(exc, fields: dict[str, str] | None = None, where: str = "") -> list[str]:
    """One readable line per problem of a pydantic ``ValidationError``: ``"field: message"``.

    ``field`` is the dotted location (``near.lon``, ``countries``; list positions as ``[i]``),
    renamed through ``fields`` when given (longest matching prefix first, e.g.
    ``{"near.distance_km": "--within-km"}``); a problem of the whole object has no field.
    ``where`` (e.g. ``"searches.yaml: searches[0]"``) goes in front of each line, joined to the
    field by ``.`` (or ``: `` when the problem has no field).
    Pydantic's ``"Value error, "`` prefix is dropped; a non-mapping where a mapping was expected
    reads ``expected a mapping, got list``; an unknown key reads ``unknown field``.
    """
    out: list[str] = []
    for err in exc.errors():
        loc = ""
        for part in err.get("loc", ()):
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        for prefix in sorted(fields or {}, key=len, reverse=True):
            if loc == prefix or loc.startswith(prefix + ".") or loc.startswith(prefix + "["):
                loc = (fields or {})[prefix]
                break
        kind = err.get("type", "")
        msg = str(err.get("msg", ""))
        if kind in ("model_type", "dict_type", "model_attributes_type"):
            msg = f"expected a mapping, got {type(err.get('input')).__name__}"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "missing":
            msg = "required"
        for noise in ("Value error, ", "Assertion failed, "):
            if msg.startswith(noise):
                msg = msg[len(noise):]
        if where:
            loc = f"{where}{'' if not loc or loc.startswith('[') else '.'}{loc}"
        out.append(f"{loc}: {msg}" if loc else msg)
    return out
