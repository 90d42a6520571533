"""``wirewatch worker`` and ``wirewatch beat``: one Celery process each, for deployments."""
from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer

from wirewatch.devtools.services.process import private_dir
from pipeline.settings import get_settings

QUEUE_HELP = "Comma-separated queues: poll, fetch, enrich, index, alerts (default: all)."


class Pool(str, Enum):
    """Celery execution pools ``--pool`` accepts (the ones Wirewatch's dependencies provide)."""

    prefork = "prefork"
    threads = "threads"
    solo = "solo"


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``beat``."""

    @app.command("worker")
    def worker_cmd(
        queues: str = typer.Option("poll,fetch,enrich,index,alerts", "--queues", "-Q", help=QUEUE_HELP),
        concurrency: int = typer.Option(0, "--concurrency", "-c", help="Pool size (0: one per core)."),
        pool: Pool = typer.Option(Pool.prefork, "--pool", help="prefork (CPU-bound: enrich), threads (I/O-bound: poll, fetch, index, alerts) or solo (one task at a time, for debugging)."),
        name: str = typer.Option("wirewatch@%h", "--name", "-n", help="Worker node name."),
        loglevel: str = typer.Option("INFO", "--loglevel"),
    ) -> None:
        """Run a Celery worker on the given queues (at-least-once: acks late, reject on worker loss).

        Prometheus metrics of all its pool processes are served on settings.metrics_port
        (0 picks a free port from 9400; -1 disables).
        """
        s = get_settings()
        mp_dir = Path(s.state_dir).resolve() / "metrics" / f"{os.getpid()}"
        private_dir(mp_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(mp_dir)
        from workers import metrics
        from workers.app import app as celery_app

        if s.metrics_port >= 0:
            _serve_metrics(metrics, s.metrics_port)
        argv = ["worker", "-Q", queues, "--pool", pool.value, "-n", name, "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
        if concurrency > 0:
            argv += ["--concurrency", str(concurrency)]
        celery_app.worker_main(argv)

    @app.command("beat")
    def beat_cmd(loglevel: str = typer.Option("INFO", "--loglevel")) -> None:
        """Run Celery beat: every settings.beat_interval_s it enqueues polls of the due feeds."""
        s = get_settings()
        from workers.app import app as celery_app

        sched = Path(s.state_dir).resolve() / "beat-schedule"
        sched.parent.mkdir(parents=True, exist_ok=True)
        celery_app.start(["beat", "--loglevel", loglevel, "--schedule", str(sched), "--pidfile", ""])


def _serve_metrics(metrics, port: int) -> None:

    candidates = [port] if port else range(9400, 9500)
    for p in candidates:
        try:
            metrics.serve(p)
            os.environ["WIREWATCH_METRICS_BOUND_PORT"] = str(p)
            return
        except OSError:
            continue
