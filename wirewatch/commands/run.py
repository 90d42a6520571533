"""``wirewatch run``: the production entry point on one machine: workers and beat for the
configured feeds, a live status line, a clean stop on Ctrl-C."""
from __future__ import annotations

import signal
import time

import redis as redis_lib
import typer
from rich.live import Live

from pipeline.errors import WirewatchError
from pipeline.settings import get_settings
from wirewatch.output import console, err_console, fail

LIVE_FIELDS = ("polled", "entries_new", "fetched", "enriched", "duplicates", "indexed", "alerts", "dead_lettered")


def _status_line(counters: dict[str, int], depths: dict[str, int]) -> str:
    parts = [f"{k.replace('_', ' ')} {counters.get(k, 0)}" for k in LIVE_FIELDS]
    errors = sum(v for k, v in counters.items() if k.startswith("error:"))
    waiting = sum(v for k, v in depths.items() if k not in ("in_flight", "index_pending", "delayed"))
    return (" | ".join(parts) + f" | errors {errors} (wirewatch status) | queued {waiting} | in flight {depths.get('in_flight', 0)}"
            f" | index pending {depths.get('index_pending', 0)}")


def register(app: typer.Typer) -> None:
    """Add the ``run`` command."""

    @app.command("run")
    def run_cmd(
        no_beat: bool = typer.Option(False, "--no-beat", help="Do not start beat (another machine runs it)."),
        import_feeds: bool = typer.Option(True, "--import-feeds/--no-import-feeds", help="Import settings.feeds_file when the registry is empty."),
    ) -> None:
        """Start workers (poll/fetch/alerts threads, index threads, an enrich prefork pool) and beat for the feeds in the registry
        (imported from settings.feeds_file, seeds/feeds.opml by default, when it is empty), show a
        live status line, restart a child that exits, and stop cleanly on Ctrl-C."""
        from pipeline.index.engine import SearchEngine
        from pipeline.feeds.registry import FeedRegistry
        from pipeline.feeds.opml import read_opml
        from pipeline.alerts.searches import SavedSearchStore
        from pipeline.stats import Counters
        from wirewatch.demo import ensure_services
        from wirewatch.processes import start_processes
        from wirewatch.queues import queue_depths

        s = get_settings()
        try:
            ensure_services(s)
            engine = SearchEngine.from_settings(s)
            engine.ensure_setup()
            if s.searches_file.exists():
                SavedSearchStore(engine, s).load_yaml(s.searches_file)
            rds = redis_lib.Redis.from_url(s.redis_url)
            registry = FeedRegistry(rds, s)
            if import_feeds and registry.count() == 0 and s.feeds_file.exists():
                outlines = read_opml(s.feeds_file)
                added = registry.add_many((o.url, o.title, o.categories) for o in outlines)
                err_console.print(f"imported {len(added['added'])} feeds from {s.feeds_file} ({len(added['invalid'])} invalid)")
        except (WirewatchError, redis_lib.RedisError, OSError) as exc:
            raise fail(str(exc))
        group = start_processes(s, beat=not no_beat)
        err_console.print(f"{registry.count()} feeds; workers started (logs in {group.log_dir}); Ctrl-C stops")
        counters = Counters(rds, s)
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        try:
            with Live(console=console, refresh_per_second=2) as live:
                while not stop["now"]:
                    live.update(_status_line(counters.all(), queue_depths(rds, s)))
                    for name in group.restart_exited():
                        err_console.print(f"[yellow]{name} exited and was restarted (see {group.log_dir})[/yellow]")
                    time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            err_console.print("stopping workers (finishing tasks in progress)...")
            group.stop()
