"""``wirewatch alerts list``: recorded alert events."""
from __future__ import annotations

from typing import Optional

import typer

from wirewatch.commands.search import engine_or_fail, since_from
from wirewatch.output import Format, print_json, print_table

alerts_app = typer.Typer(help="Alert events raised by saved searches.", no_args_is_help=True)
ALERT_COLUMNS = ["matched_at", "search_id", "title", "source_domain", "latency_s", "article_id"]


def show_events(events, fmt: Format, title: str) -> None:
    """Print alert events (:class:`pipeline.alerts.percolate.AlertEvent`) as JSON or a table."""
    rows = [e.to_dict() for e in events]
    if fmt == Format.json:
        print_json(rows)
    else:
        for r in rows:
            r["matched_at"] = str(r["matched_at"])[:19].replace("T", " ")

        print_table(rows, ALERT_COLUMNS, title=title)


@alerts_app.command("list")
def list_cmd(
    search: Optional[str] = typer.Option(None, "--search", help="Only this saved search's alerts."),
    since: Optional[str] = typer.Option(None, "--since", help="Only alerts within DURATION (30m, 1h, 2d, 1w)."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="Maximum events."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """List alert events, newest first."""
    from pipeline.alerts.percolate import alert_history

    with engine_or_fail() as engine:
        events = alert_history(engine, search_id=search, since=since_from(since), limit=limit)
    show_events(events, fmt, f"{len(events)} alert events")


def register(app: typer.Typer) -> None:
    """Add the ``alerts`` group."""
    app.add_typer(alerts_app, name="alerts")
