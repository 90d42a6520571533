"""Local services for development, the demo and tests: Redis and a single search-engine node
(OpenSearch 2.19 or 3.x from :mod:`~wirewatch.devtools.services.opensearch_node`, or Elasticsearch 7.17
from :mod:`~wirewatch.devtools.services.elasticsearch_node` when ``search_engine`` is ``elasticsearch``).

``up`` is idempotent and returns once both answer; ``down`` stops only processes started here
(PID files); ``status`` reports each. Users with their own Redis and Elasticsearch/OpenSearch
point the settings at them and never need this module.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.logs import redact_url
from wirewatch.devtools.services.elasticsearch_node import LocalElasticsearch
from wirewatch.devtools.services.opensearch_node import LocalOpenSearch
from wirewatch.devtools.services.redis_server import LocalRedis
from pipeline.settings import Settings


@dataclass
class ServiceStatus:
    """One service's state: ``state`` is "started", "running" (ours), "external" (answering, not
    started by us), "stopped" or "down" (ours but not answering). For a search engine that
    answers, ``product`` ("opensearch" or "elasticsearch") and ``version`` are what the node
    itself reports on ``GET /``; None otherwise."""

    name: str
    state: str
    url: str
    pid: int | None
    detail: str = ""
    product: str | None = None
    version: str | None = None


def node_identity(url: str, auth: tuple[str, str] | None = None) -> tuple[str | None, str | None]:
    """``(product, version)`` of the search node at ``url`` from its ``GET /`` answer:
    ``version.distribution`` is "opensearch" on OpenSearch and absent on Elasticsearch, whose
    answer carries the "You Know, for Search" tagline. ``(None, None)`` when nothing answers."""
    import httpx

    try:
        info = httpx.get(url, timeout=3, auth=auth).json()
    except (httpx.HTTPError, ValueError):
        return None, None
    version = info.get("version") or {} if isinstance(info, dict) else {}
    if not isinstance(version, dict) or "number" not in version:
        return None, None
    product = "opensearch" if version.get("distribution") == "opensearch" else (
        "elasticsearch" if "tagline" in info else None)
    return product, version.get("number")


def _same_endpoint(a: str, b: str) -> bool:
    """True when URL ``a`` and any of the comma-separated URLs ``b`` share host and port."""
    from urllib.parse import urlsplit

    pa = urlsplit(a)
    return any((pa.hostname, pa.port) == (urlsplit(u.strip()).hostname, urlsplit(u.strip()).port) for u in b.split(","))


def local_services(settings: Settings) -> list:
    """The managed services, in start order: Redis, then the node of ``settings.search_engine``."""
    engine = LocalElasticsearch(settings) if settings.search_engine == "elasticsearch" else LocalOpenSearch(settings)
    return [LocalRedis(settings), engine]


def _identify(svc, row: ServiceStatus) -> ServiceStatus:
    if svc.name != "redis" and row.state in ("started", "running", "external"):
        row.product, row.version = node_identity(svc.url, getattr(svc, "auth", None))
    return row


def status(settings: Settings) -> list[ServiceStatus]:
    """Report each local service without changing anything."""
    out = []
    in_use = {"redis": settings.redis_url, "opensearch": settings.search_url, "elasticsearch": settings.search_url}
    for svc in local_services(settings):
        pid, ok = svc.pid(), svc.answers()
        state = ("running" if pid else "external") if ok else ("down" if pid else "stopped")
        detail = "" if _same_endpoint(svc.url, in_use[svc.name]) else f"settings point at {redact_url(in_use[svc.name])}"
        out.append(_identify(svc, ServiceStatus(svc.name, state, svc.url, pid, detail)))
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
        out.append(_identify(svc, ServiceStatus(svc.name, state, svc.url, svc.pid())))
    return out


def down(settings: Settings) -> list[ServiceStatus]:
    """Stop the services this project started (reverse order); leave others alone."""
    out = []
    for svc in reversed(local_services(settings)):
        stopped = svc.down()
        out.append(ServiceStatus(svc.name, "stopped" if stopped else "not ours", svc.url, None))
    return out
