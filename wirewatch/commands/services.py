"""``wirewatch services up|down|status``: the local Redis and search node (OpenSearch or Elasticsearch)."""
from __future__ import annotations

from dataclasses import asdict

import typer

from wirewatch.devtools import services
from pipeline.errors import ServiceError
from pipeline.settings import get_settings
from wirewatch.output import Format, err_console, fail, print_json, print_table

services_app = typer.Typer(help="Start, stop and inspect the local Redis and search node (OpenSearch, or Elasticsearch when search_engine says so).", no_args_is_help=True)
COLUMNS = ["name", "state", "url", "product", "version", "pid", "detail"]


def _show(rows, fmt: Format, title: str) -> None:
    if fmt == Format.json:
        print_json([asdict(r) for r in rows])
    else:
        print_table([asdict(r) for r in rows], COLUMNS, title=title)


@services_app.command("up")
def up_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
    """Start Redis and the search node of `search_engine` (installing redis-server and fetching
    the jars when missing); returns once both answer. Safe to run again."""
    s = get_settings()
    try:
        with err_console.status("starting services...") as st:
            rows = services.up(s, on_step=lambda name, msg: st.update(msg + " (first run fetches jars; may take a few minutes)"))
    except ServiceError as exc:
        raise fail(str(exc))
    _show(rows, fmt, "services")


@services_app.command("down")
def down_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
    """Stop the services this project started (never ones it did not start)."""
    _show(services.down(get_settings()), fmt, "services")


@services_app.command("status")
def status_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
    """Show whether each local service is running, and whether we started it."""
    _show(services.status(get_settings()), fmt, "services")


def register(app: typer.Typer) -> None:
    """Add the ``services`` group."""
    app.add_typer(services_app, name="services")
