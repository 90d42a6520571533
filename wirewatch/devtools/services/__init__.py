"""Local services for development, the demo and tests: Redis and a single OpenSearch node.

``up`` is idempotent and returns once both answer; ``down`` stops only processes started here
(PID files); ``status`` reports each. Users with their own Redis and Elasticsearch/OpenSearch
point the settings at them and never need this module.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.logs import redact_url
from wirewatch.devtools.services.opensearch_node import LocalOpenSearch
from wirewatch.devtools.services.redis_server import LocalRedis
from pipeline.settings import Settings


@dataclass
class ServiceStatus:
    """One service's state: ``state`` is "started", "running" (ours), "external" (answering, not
    started by us), "stopped" or "down" (ours but not answering)."""

    name: str
    state: str
    url: str
    pid: int | None
    detail: str = ""


def _same_endpoint(a: str, b: str) -> bool:
    """True when URL ``a`` and any of the comma-separated URLs ``b`` share host and port."""
    from urllib.parse import urlsplit

    pa = urlsplit(a)
    return any((pa.hostname, pa.port) == (urlsplit(u.strip()).hostname, urlsplit(u.strip()).port) for u in b.split(","))


def local_services(settings: Settings) -> list:
    """The managed services, in start order."""
    return [LocalRedis(settings), LocalOpenSearch(settings)]


def status(settings: Settings) -> list[ServiceStatus]:
    """Report each local service without changing anything."""
    out = []
    in_use = {"redis": settings.redis_url, "opensearch": settings.search_url}
    for svc in local_services(settings):
        pid, ok = svc.pid(), svc.answers()
        state = ("running" if pid else "external") if ok else ("down" if pid else "stopped")
        detail = "" if _same_endpoint(svc.url, in_use[svc.name]) else f"settings point at {redact_url(in_use[svc.name])}"
        out.append(ServiceStatus(svc.name, state, svc.url, pid, detail))
    return out


def up(settings: Settings, on_step=None) -> list[ServiceStatus]:
    """Start every service that does not already answer; raise ServiceError on failure.

    ``on_step(name, message)`` (optional) is called before each slow step for progress output.
    """
    out = []
    for svc in local_services(settings):
        if on_step:
            on_step(svc.name, f"starting {svc.name}")
        state = svc.up()
        out.append(ServiceStatus(svc.name, state, svc.url, svc.pid()))
    return out


def down(settings: Settings) -> list[ServiceStatus]:
    """Stop the services this project started (reverse order); leave others alone."""
    out = []
    for svc in reversed(local_services(settings)):
        stopped = svc.down()
        out.append(ServiceStatus(svc.name, "stopped" if stopped else "not ours", svc.url, None))
    return out
