"""``wirewatch bench chaos``: the failure drills of :mod:`wirewatch.devtools.chaos` on the bench's own
Redis and OpenSearch, as a table and JSON (``bench-results/chaos.json``).

Each row: ``scenario``, ``sent`` (articles the site served), ``indexed`` (distinct expected
documents in the index), ``lost``, ``duplicated``, ``dead_lettered`` (dead letters about the
scenario's articles), ``tasks_run_twice`` / ``steps_doubled`` (executions per task id, see
:mod:`wirewatch.chaos`), plus alert checks (``alerts`` recorded vs ``alerts_expected`` matching
documents, ``alerts_doubled``) and notes saying what was injected. Exit code 1 when any
scenario lost or doubled something.
"""
from __future__ import annotations

import time

import typer

from pipeline.settings import get_settings
from wirewatch.devtools.bench import FORMAT_OPTION, port_option, write_result
from wirewatch.devtools.chaos import SCENARIOS, run_scenarios
from wirewatch.output import Format, err_console, fail, print_json, print_table

#: Ports of the drill rig's own services (never the shared 6390 / 9251).
CHAOS_REDIS_PORT = 6396
CHAOS_OPENSEARCH_BASE_PORT = 9272
COLUMNS = ["scenario", "sent", "indexed", "lost", "duplicated", "dead_lettered", "poison_dead_lettered", "alerts",
           "alerts_expected", "alerts_doubled", "notifications_dead_lettered", "tasks_run_twice", "steps_doubled",
           "elapsed_s", "ok"]


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench chaos``."""

    @bench_app.command("chaos")
    def chaos_cmd(
        articles: int = typer.Option(60, "--articles", "-n", min=1, help="Articles per scenario."),
        scenario: list[str] = typer.Option(None, "--scenario", "-s", help=f"Only these ({', '.join(SCENARIOS)})."),
        redis_port: int = port_option(CHAOS_REDIS_PORT, "--redis-port", "Port of the drills' own Redis"),
        opensearch_base_port: int = port_option(CHAOS_OPENSEARCH_BASE_PORT, "--opensearch-base-port",
                                                "Base port of the drills' own OpenSearch node (HTTP on +1)"),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Failure drills: SIGKILL workers, stop OpenSearch, restart Redis, poison, dead webhook."""
        unknown = [s for s in scenario or [] if s not in SCENARIOS]
        if unknown:
            raise fail(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
        t0 = time.monotonic()
        results = run_scenarios(get_settings(), articles=articles, names=scenario or None, redis_port=redis_port,
                                opensearch_base_port=opensearch_base_port,
                                on_event=lambda m: err_console.print(f"[dim]{time.monotonic() - t0:6.0f}s[/dim] {m}"))
        rows = [r.to_dict() for r in results]
        out = {"scenarios": [{k: v for k, v in r.items()} for r in rows], "articles_per_scenario": articles,
               "elapsed_s": round(time.monotonic() - t0, 1)}
        path = write_result("chaos", out)
        if fmt == Format.json:
            print_json(out)
        else:
            print_table(rows, COLUMNS, title="wirewatch bench chaos")
            for r in rows:
                for note in r["notes"]:
                    err_console.print(f"  {r['scenario']}: {note}")
            err_console.print(f"written {path}")
        if not all(r["ok"] for r in rows):
            raise typer.Exit(1)
