"""structlog set-up: JSON lines when stderr is not a terminal, readable output when it is.

Bind ``feed_id``, ``article_id`` and ``task_id`` with ``structlog.contextvars.bind_contextvars``.
Secrets never reach the log: settings hold them as ``SecretStr``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import logging
import sys

import structlog


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at call time (pytest and
    typer's test runner swap it), never to a stream captured at set-up."""

    def msg(self, message: str) -> None:
        """Write one line."""
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = failure = err = msg


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and the stdlib root logger.

    ``fmt`` is ``"json"``, ``"console"`` or ``"auto"`` (console on a TTY, JSON otherwise).
    Logs go to stderr so that ``--format json`` output on stdout stays parseable.
    """
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer = structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    lvl = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
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


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` safe to print or log: credentials become ``***``
    (``https://user:secret@host:9200`` -> ``https://***@host:9200``); with ``keep_path=False``
    only ``scheme://host[:port]/…`` is kept (paths and queries of webhook URLs are secrets, e.g.
    Slack's ``/services/T0/B0/XYZ``)."""
    if keep_path:
        return re.sub(r"(?<=://)[^/@\s]+@", "***@", url)
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/…"
