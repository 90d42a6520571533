"""``wirewatch demo``: the main job in one command (see :mod:`wirewatch.demo`)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipeline.errors import WirewatchError
from pipeline.settings import get_settings
from wirewatch.output import Format, console, err_console, fail, print_json, print_table


def _short(text: str, width: int = 70) -> str:
    """``text`` cut to ``width`` characters with an ellipsis when it was longer."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _place_names(doc: dict) -> list[str]:
    return [loc.get("name", "") for loc in doc.get("locations", [])][:6]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo_cmd(
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
        articles: Path = typer.Option(None, "--articles", help="Also serve every .txt and .html file in this folder as an article of one more feed.",
                                      exists=True, file_okay=False, dir_okay=True, readable=True),
        timeout: float = typer.Option(900.0, "--timeout", help="Seconds to wait for every sample article to be indexed."),
    ) -> None:
        """Run the whole pipeline on the sample site and print the articles and alerts fired.

        Brings up the services, creates the indices, serves the sample feeds on 127.0.0.1,
        starts workers and beat and waits until every sample article is indexed. The data
        stays in the index (try `wirewatch search`)."""
        from wirewatch.demo import run_demo

        s = get_settings()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=False) as bar:
            task = bar.add_task("starting", total=None)

            def on_progress(phase: str, done: int, total: int) -> None:
                bar.update(task, description=phase, completed=done, total=total or None)

            try:
                report = run_demo(s, articles_dir=articles, timeout_s=timeout, on_progress=on_progress)
            except (WirewatchError, TimeoutError, OSError) as exc:
                raise fail(str(exc))
        if fmt == Format.json:
            print_json(report.to_json())
            return
        titles = {a["id"]: a.get("title") or a["id"] for a in report.articles}
        rows = [{
            "title": _short(a.get("title") or ""),
            "persons": [p["name"] for p in a.get("persons", [])][:4],
            "places": _place_names(a),
            "quotes": len(a.get("quotes", [])),
            "topics": a.get("topics", []),
            "duplicate of": _short(titles.get((a.get("dedupe") or {}).get("duplicate_of"), ""), 40),
        } for a in report.articles]
        print_table(rows, ["title", "persons", "places", "quotes", "topics", "duplicate of"], title=f"{len(rows)} articles indexed ({report.duplicates} duplicate{'' if report.duplicates == 1 else 's'})")
        print_table([{"search": a["search"], "article": _short(a["title"]), "matched_at": a.get("matched_at")} for a in report.alerts],
                    ["search", "article", "matched_at"], title=f"{len(report.alerts)} alerts")
        if report.failures:
            print_table(report.failures, ["url", "reason", "error"], title=f"{len(report.failures)} articles failed (also in `wirewatch dlq list`)")
        console.print(f"done in {report.elapsed_s:.1f}s; worker logs in {report.log_dir}; explore with `wirewatch search`.")
