"""structlog set-up: JSON lines when stderr is not a terminal, readable output when it is.

Bind ``feed_id``, ``article_id`` and ``task_id`` with ``structlog.contextvars.bind_contextvars``.
Secrets never reach the log: settings hold them as ``SecretStr``; every string value of a
structlog event, and every record of the ``httpx``/``httpcore`` loggers (httpx logs each
request's full URL at INFO, and a Slack-compatible webhook's path is its secret), passes
through :func:`redact_url` (credentials in URLs, webhook secret paths,
``Authorization`` headers); values under keys named like ``password``/``secret``/``token``/
``authorization`` are masked whole.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator
from urllib.parse import urlsplit

import logging
import sys

import structlog

#: Event names a caller reports to the user itself (see :func:`reported_by_caller`).
_REPORTED: ContextVar[frozenset[str]] = ContextVar("wirewatch_reported_events", default=frozenset())


@contextmanager
def reported_by_caller(*events: str) -> Iterator[None]:
    """Within the block, drop log events named ``events``: for an interactive command that
    prints the same outcome itself (``wirewatch fetch`` prints the classified error that
    ``fetch_failed`` would log). Other events, warnings included, are logged as usual."""
    token = _REPORTED.set(_REPORTED.get() | frozenset(events))
    try:
        yield
    finally:
        _REPORTED.reset(token)


def _drop_reported(logger, method_name, event_dict):
    """structlog processor: drop the events :func:`reported_by_caller` names."""
    if event_dict.get("event") in _REPORTED.get():
        raise structlog.DropEvent
    return event_dict


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at call time (pytest and
    typer's test runner swap it), never to a stream captured at set-up."""

    def msg(self, message: str) -> None:
        """Write one line."""
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = failure = err = msg


_SECRET_KEYS = ("password", "secret", "token", "authorization", "api_key", "apikey")


def _redact_value(value):
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, dict):
        return {k: ("********" if isinstance(k, str) and any(w in k.lower() for w in _SECRET_KEYS) and v
                    else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_event(logger, method_name, event_dict):
    """structlog processor: credentials and secret-named values removed from every event."""
    return _redact_value(event_dict)


class RedactingFilter(logging.Filter):
    """A stdlib logging filter that rewrites a record's message through ``redact_url``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the logger's problem, not ours
            return True
        clean = redact_url(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


#: Third-party loggers that write request URLs (and so webhook secrets) into the log.
URL_LOGGERS = ("httpx", "httpcore", "urllib3.connectionpool")


def install_redaction() -> None:
    """Attach :class:`RedactingFilter` to :data:`URL_LOGGERS` (idempotent; done on import)."""
    for name in URL_LOGGERS:
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())


install_redaction()


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and the stdlib root logger.

    ``fmt`` is ``"json"``, ``"console"`` or ``"auto"`` (console on a TTY, JSON otherwise).
    Logs go to stderr so that ``--format json`` output on stdout stays parseable.
    """
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer = (structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()) if use_console
                else structlog.processors.JSONRenderer())
    lvl = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            _drop_reported,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=lambda *args: _StderrLogger(),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(lvl, logging.WARNING), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def get_logger(name: str | None = None, **bound):
    """Return a structlog logger, optionally with values bound."""
    return structlog.get_logger(name).bind(**bound) if bound else structlog.get_logger(name)


_USERINFO_RE = re.compile(r"(?<=://)[^/@\s]+@")
# Webhook URLs whose path is the credential: Slack (hooks.slack.com/services/T../B../<token>),
# Discord (/api/webhooks/<id>/<token>), Mattermost and Rocket.Chat (/hooks/<key>[/<token>]).
_SECRET_PATH_RE = re.compile(r"(?i)(://[^/\s\"']+(?:/services|/api/webhooks|/hooks))/[^\s\"'<>]+")
# Authorization-style headers written as "Name: value", "name=value", "'name': 'value'" (JSON/repr).
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|cookie)([\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic|apikey|token|digest)\s+)?[^\s\"',}]+")
_SCHEME_TOKEN_RE = re.compile(r"(?i)\b(bearer|basic|apikey)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """``url``, or any text holding URLs and headers (messages, log lines, dead letters), safe
    to print or log: the one redaction helper of the project.

    - user info: ``https://user:secret@host:9200`` -> ``https://***@host:9200`` (also
      ``redis://:password@host``);
    - webhook URLs whose path is the secret: ``https://hooks.slack.com/services/T0/B0/XyZ`` ->
      ``https://hooks.slack.com/services/***`` (Slack ``/services/``, Discord ``/api/webhooks/``,
      Mattermost and Rocket.Chat ``/hooks/``);
    - ``Authorization``/``Proxy-Authorization``/``Cookie``/``X-Api-Key`` header values and bare
      ``Bearer``/``Basic``/``ApiKey`` tokens -> ``***``.

    With ``keep_path=False`` (one URL only) just ``scheme://host[:port]/…`` is kept: paths and
    queries of webhook URLs may be secrets."""
    if not url:
        return url
    if keep_path:
        text = _USERINFO_RE.sub("***@", url)
        text = _SECRET_PATH_RE.sub(r"\1/***", text)
        text = _AUTH_HEADER_RE.sub(r"\1\2***", text)
        return _SCHEME_TOKEN_RE.sub(r"\1 ***", text)
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/…"
