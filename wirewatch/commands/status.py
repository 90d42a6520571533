"""``wirewatch status``: queue depths, feed health, index counts, counters and recent errors."""
from __future__ import annotations

from collections import Counter as Tally

import redis as redis_lib
import typer
from rich.markup import escape

from pipeline.settings import get_settings
from wirewatch.output import Format, console, print_json, print_table


#: What the rows of the queues table that are not Celery queues count.
QUEUE_NOTES = {"in_flight": "messages delivered to a worker, not yet acknowledged",
               "index_pending": "documents gathering for the next index batch (index_linger_s)",
               "delayed": "retries parked in Redis until due (longer than an ETA message may wait)"}


def collect_status(settings) -> dict:
    """Gather the status as a dict; a service that does not answer is reported, not raised."""
    from wirewatch.devtools import services
    from pipeline.index.engine import SearchEngine
    from pipeline.feeds.registry import FeedRegistry
    from pipeline.logs import redact_url
    from pipeline.stats import Counters
    from wirewatch.queues import queue_depths

    out: dict = {"services": [s.__dict__ for s in services.status(settings)]}
    try:
        rds = redis_lib.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
        rds.ping()
        out["queues"] = queue_depths(rds, settings)
        counters = Counters(rds, settings).all()
        out["counters"] = {k: v for k, v in counters.items() if not k.startswith("error:")}
        out["errors"] = {k[len("error:"):]: v for k, v in sorted(counters.items(), key=lambda kv: -kv[1]) if k.startswith("error:")}
        feeds = FeedRegistry(rds, settings).list()
        out["feeds"] = dict(Tally(f.status for f in feeds))
        out["feeds"]["total"] = len(feeds)
        from pipeline.feeds.health import FeedHealth

        health = FeedHealth(rds, settings)
        out["feed_health"] = dict(Tally(v["state"] for v in health.states().values()))
        out["feed_health_events"] = health.events(10)
        from pipeline.deadletter import DeadLetters

        out["dead_letters"] = DeadLetters(rds, settings).count()
    except redis_lib.RedisError as exc:
        out["redis_error"] = redact_url(str(exc))
    try:
        engine = SearchEngine.from_settings(settings)
        out["indices"] = {}
        for kind in ("articles", "searches", "alerts"):
            try:
                out["indices"][kind] = int(engine.request("GET", f"/{engine.alias(kind)}/_count")["count"])
            except Exception as exc:  # noqa: BLE001 - report, do not fail
                out["indices"][kind] = f"unavailable: {getattr(exc, 'reason', type(exc).__name__)}"
    except Exception as exc:  # noqa: BLE001
        out["search_error"] = redact_url(str(exc))
    return out


def register(app: typer.Typer) -> None:
    """Add the ``status`` command."""

    @app.command("status")
    def status_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
        """Summarise services, queue depths, feed health, index counts, stage counters and errors.

        Exits with status 1 when Redis or the search engine does not answer."""
        st = collect_status(get_settings())
        unhealthy = "redis_error" in st or "search_error" in st or any(
            isinstance(v, str) for v in st.get("indices", {}).values())
        if fmt == Format.json:
            print_json(st)
            if unhealthy:
                raise typer.Exit(1)
            return
        print_table(st["services"], ["name", "state", "url", "pid", "detail"], title="local services")
        for key in ("redis_error", "search_error"):
            if key in st:
                console.print(f"[red]{key.replace('_', ' ')}:[/red] {escape(st[key])}")
        if "queues" in st:
            print_table([{"queue": k, "waiting": v, "what": QUEUE_NOTES.get(k, "messages waiting")} for k, v in st["queues"].items()],
                        ["queue", "waiting", "what"], title="queues")
            print_table([{"counter": k, "value": v} for k, v in sorted(st["counters"].items())], ["counter", "value"], title="pipeline counters")
            print_table([{"feeds": k, "count": v} for k, v in st["feeds"].items()], ["feeds", "count"], title="feed health")
            if st.get("feed_health_events"):
                print_table([{"at": e["at"][:19].replace("T", " "), "feed": e["title"] or e["url"], "state": e["state"],
                              "reason": e["reason"]} for e in st["feed_health_events"]],
                            ["at", "feed", "state", "reason"],
                            title="feed-health events (" + ", ".join(f"{k}: {v}" for k, v in sorted(st["feed_health"].items())) + ")")
            print_table([{"stage:reason": k, "count": v} for k, v in list(st["errors"].items())[:15]], ["stage:reason", "count"],
                        title=f"errors (dead letters: {st.get('dead_letters', 0)})")
        if "indices" in st:
            print_table([{"index": k, "documents": v} for k, v in st["indices"].items()], ["index", "documents"], title="indices")
        if unhealthy:
            raise typer.Exit(1)
