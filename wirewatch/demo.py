"""The main job in one process tree: services, indices, the sample feeds served locally,
workers and beat, then a report of what was indexed and which saved searches alerted.

Used by ``wirewatch demo`` and by the end-to-end test. The demo serves ``seeds/site`` on
127.0.0.1 (``settings.demo_port``; a free port when that one is taken) and lets the workers
fetch from 127.0.0.1 only for that run (``WIREWATCH_FETCH_ALLOW_HOSTS``).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import redis as redis_lib

from wirewatch.devtools import services
from pipeline.index.engine import SearchEngine
from pipeline.errors import WirewatchError
from pipeline.feeds.registry import FeedNotFound, FeedRegistry
from pipeline.settings import Settings
from pipeline.stats import Counters
from wirewatch.processes import start_processes
from wirewatch.queues import idle
from wirewatch.devtools.seed_server import SeedServer


@dataclass
class DemoReport:
    """What a demo run produced. ``articles`` are index documents (trimmed), ``alerts`` alert
    events joined with their search name and article title."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    base_url: str = ""
    log_dir: str = ""

    @property
    def duplicates(self) -> int:
        """Indexed articles that point to an original (``dedupe.duplicate_of``)."""
        return sum(1 for a in self.articles if (a.get("dedupe") or {}).get("duplicate_of"))

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` object: articles_indexed, duplicates, alerts, elapsed_s (+ failed)."""
        return {
            "articles_indexed": len(self.articles),
            "duplicates": self.duplicates,
            "alerts": [{"search": a["search"], "article_id": a["article_id"]} for a in self.alerts],
            "elapsed_s": round(self.elapsed_s, 1),
            "failed": self.failed,
            "failures": self.failures,
        }


def _is_local(url: str, port: int) -> bool:
    parts = urlsplit(url)
    return parts.hostname in ("127.0.0.1", "localhost") and parts.port == port


def ensure_services(settings: Settings) -> None:
    """Start the local services the settings point at; leave external ones alone.

    Raises ServiceError when a service is needed and cannot be started.
    """
    search_port = settings.elasticsearch_port if settings.search_engine == "elasticsearch" else settings.opensearch_base_port + 1
    wants_local = _is_local(settings.redis_url, settings.redis_port) or _is_local(settings.search_url, search_port)
    if wants_local:
        services.up(settings)


def _count_indexed(engine: SearchEngine, feed_urls: list[str], since_iso: str) -> int:
    """Documents from ``feed_urls`` indexed at or after ``since_iso`` (this run's work only)."""
    engine.request("POST", f"/{engine.alias('articles')}/_refresh")
    body = {"query": {"bool": {"filter": [{"terms": {"source.feed_url": feed_urls}},
                                          {"range": {"indexed_at": {"gte": since_iso}}}]}}}
    return int(engine.request("POST", f"/{engine.alias('articles')}/_count", body)["count"])


def _fetch_articles(engine: SearchEngine, feed_urls: list[str]) -> list[dict[str, Any]]:
    body = {
        "size": 1000,
        "query": {"terms": {"source.feed_url": feed_urls}},
        "sort": [{"published_at": {"order": "desc", "missing": "_last"}}],
        "_source": {"excludes": ["body"]},
    }
    hits = engine.request("POST", f"/{engine.alias('articles')}/_search", body)["hits"]["hits"]
    return [h["_source"] for h in hits]


def _fetch_alerts(engine: SearchEngine, article_ids: list[str]) -> list[dict[str, Any]]:
    if not article_ids:
        return []
    engine.request("POST", f"/{engine.alias('alerts')}/_refresh")
    body = {"size": 1000, "query": {"terms": {"article_id": article_ids}}, "sort": [{"matched_at": "asc"}]}
    hits = engine.request("POST", f"/{engine.alias('alerts')}/_search", body)["hits"]["hits"]
    return [h["_source"] for h in hits]


def _unregister(rds, settings: Settings, feed_urls: list[str]) -> None:
    """Remove the demo's local feeds from the registry once the run is over: outside the demo
    the SSRF guard refuses 127.0.0.1, so they would only fail (their articles stay indexed)."""
    registry = FeedRegistry(rds, settings)
    for url in feed_urls:
        try:
            registry.remove(url)
        except (FeedNotFound, redis_lib.RedisError):
            pass


def _failures_since(rds, settings: Settings, since_ms: int) -> list[dict[str, Any]]:
    """Dead letters written during this run: ``[{"url", "reason", "error"}]``."""
    from pipeline.deadletter import DeadLetters

    out = []
    for entry in DeadLetters(rds, settings).list(limit=1000):
        if int(entry["id"].split("-", 1)[0]) < since_ms:
            continue
        args = (entry.get("payload") or {}).get("args") or [{}]
        ref = args[0] if args and isinstance(args[0], dict) else {}
        out.append({"url": ref.get("link") or ref.get("url") or str(args[0] if args else ""), "reason": entry.get("reason"), "error": entry.get("error")})
    return out


def run_demo(settings: Settings, *, articles_dir: Path | None = None, timeout_s: float = 900.0,
             on_progress: Callable[[str, int, int], None] | None = None) -> DemoReport:
    """Run the demo and return its report; the indexed data stays in the index.

    ``on_progress(phase, done, total)`` is called as work advances (phase is a short label).
    Raises ServiceError/WirewatchError with a reason when a step cannot complete, and
    TimeoutError (naming the worker logs) when articles are still missing after ``timeout_s``.
    """
    progress = on_progress or (lambda *_: None)
    t0 = time.monotonic()
    started_iso = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    run_started_ms = int(time.time() * 1000)
    progress("starting services (first run fetches the search engine's jars)", 0, 0)
    ensure_services(settings)
    engine = SearchEngine.from_settings(settings)
    progress("creating indices", 0, 0)
    engine.ensure_setup()
    from pipeline.alerts.searches import SavedSearchStore

    SavedSearchStore(engine, settings).load_yaml(settings.searches_file)

    server = SeedServer(extra_articles_dir=articles_dir, port=settings.demo_port)
    try:
        server.start()
    except OSError:
        server = SeedServer(extra_articles_dir=articles_dir, port=0)
        server.start()
    rds = redis_lib.Redis.from_url(settings.redis_url)
    group = None
    report = DemoReport(base_url=server.base_url or "")
    try:
        registry = FeedRegistry(rds, settings)
        feed_urls = server.feed_urls
        for url in feed_urls:  # start each demo feed fresh, so every sample article is polled again
            try:
                registry.remove(url)
            except FeedNotFound:
                pass
            registry.add(url, title=f"Wirewatch sample feed ({url.rsplit('/', 1)[-1]})")
        expected = server.expected_articles
        counters = Counters(rds, settings)
        dead_before = counters.all().get("dead_lettered", 0)
        env = {
            "WIREWATCH_FETCH_ALLOW_HOSTS": json.dumps(["127.0.0.1"]),
            "WIREWATCH_HOST_MIN_DELAY_S": "0.05",
            "WIREWATCH_HOST_MAX_CONCURRENCY": "8",
            "WIREWATCH_BEAT_INTERVAL_S": "2",
        }
        group = start_processes(settings, env=env)
        report.log_dir = str(group.log_dir)
        deadline = time.monotonic() + timeout_s
        done = 0
        while True:
            done = _count_indexed(engine, feed_urls, started_iso)
            report.failed = counters.all().get("dead_lettered", 0) - dead_before
            progress("indexing sample articles", min(done, expected), expected)
            if done + report.failed >= expected:
                break
            dead = [n for n, ok in group.alive().items() if not ok]
            if dead:
                raise WirewatchError(f"worker process(es) {', '.join(dead)} exited; see logs in {group.log_dir}", reason="worker_exited")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done} of {expected} sample articles indexed after {timeout_s:.0f}s; see logs in {group.log_dir}")
            time.sleep(1.0)
        progress("waiting for the alerts stage to finish", expected, expected)
        settle = time.monotonic() + 60
        while not idle(rds, settings) and time.monotonic() < settle:
            time.sleep(0.5)
        report.failures = _failures_since(rds, settings, run_started_ms)
        report.articles = _fetch_articles(engine, feed_urls)
        titles = {a["id"]: a.get("title", "") for a in report.articles}
        names = {s.id: s.name for s in SavedSearchStore(engine, settings).list()}
        for ev in _fetch_alerts(engine, list(titles)):
            report.alerts.append({**ev, "search": names.get(ev.get("search_id"), ev.get("search_id")), "title": titles.get(ev.get("article_id"), "")})
    finally:
        if group is not None:
            group.stop()
        _unregister(rds, settings, server.feed_urls)
        server.stop()
        engine.close()
    report.elapsed_s = time.monotonic() - t0
    return report
