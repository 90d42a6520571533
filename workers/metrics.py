"""Prometheus metrics per stage, shared by a worker's pool processes.

``wirewatch worker`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the pool forks and serves the
aggregated registry on ``settings.metrics_port`` (see :func:`serve`), so counters from every
child process add up.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

ITEMS = Counter("wirewatch_items_total", "Items a stage finished", ["stage"])
ERRORS = Counter("wirewatch_errors_total", "Failures by stage and reason", ["stage", "reason"])
RETRIES = Counter("wirewatch_retries_total", "Task retries scheduled", ["stage", "reason"])
DEAD_LETTERS = Counter("wirewatch_dead_letters_total", "Items sent to the dead letters", ["stage", "reason"])
LATENCY = Histogram(
    "wirewatch_stage_seconds", "Time one task of a stage took", ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)

BATCH_DOCS = Histogram(
    "wirewatch_batch_documents", "Documents one batch task processed (index: one bulk and one percolate request)",
    ["stage"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)


def stage_samples(metrics_dir: Path, name: str = "wirewatch_stage_seconds") -> Iterator:
    """Every sample of the histogram ``name`` (``_bucket``, ``_sum``, ``_count``; default
    ``wirewatch_stage_seconds``) in the Prometheus multiprocess files under ``metrics_dir``, one
    sub-folder per worker process (the layout ``wirewatch worker`` writes). Benchmarks aggregate
    them after a run."""
    from prometheus_client.multiprocess import MultiProcessCollector

    for d in sorted(p for p in Path(metrics_dir).glob("*") if p.is_dir()):
        reg = CollectorRegistry()
        MultiProcessCollector(reg, path=str(d))
        for fam in reg.collect():
            if fam.name == name:
                yield from fam.samples


def serve(port: int) -> int:
    """Serve the metrics of every process of this worker on ``port`` (0.0.0.0); returns the port.

    In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set) the values are aggregated from the
    pool's processes.
    """
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)
    else:
        start_http_server(port)
    return port
