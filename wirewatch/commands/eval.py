"""``wirewatch eval GOLD_DIR``: run enrichment over hand-labelled gold articles and score it.

Scoring rules live in :mod:`wirewatch.devtools.evaluation`; targets are issue 4's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.errors import GoldFormatError
from wirewatch.devtools.evaluation import BASELINES, TARGETS, EvalReport, GoldRecord, evaluate, load_gold_dir
from pipeline.settings import Settings, get_settings
from wirewatch.output import FORMAT_OPTION_HELP, Format, console, err_console, fail, print_json, print_table

#: Rows of the figures table: (key in EvalReport.figures, label).
ROWS = (
    ("persons_f1", "persons F1"),
    ("organizations_f1", "orgs F1"),
    ("locations_f1", "locations F1"),
    ("within_161km", "<=161 km (matched)"),
    ("within_161km_all", "<=161 km (all gold)"),
    ("quotes_f1", "quotes F1"),
    ("speaker_accuracy", "speaker accuracy"),
    ("topics_f1", "topics F1 (all)"),
    ("topic_migration_f1", "migration F1"),
    ("topic_border-crossing_f1", "border-crossing F1"),
)


def make_enricher(settings: Settings):
    """Return ``enrich(record) -> contract document`` using ``pipeline.enrich.enrich_text``.

    Imported lazily so that ``wirewatch --help`` does not load spaCy. Raises ImportError
    when the enrichment stage is not installed.
    """
    from pipeline.enrich import enrich_text  # noqa: PLC0415 - heavy import, only when evaluating

    def enrich(rec: GoldRecord) -> Any:
        return enrich_text(rec.text, title=rec.title or "", settings=settings)

    return enrich


def _bar(value: float, width: int = 10) -> str:
    filled = max(0, min(width, round(value * width)))
    return "█" * filled + "·" * (width - filled)


def run_eval(gold_dir: Path, settings: Settings, show_progress: bool = True) -> EvalReport:
    """Load ``gold_dir``, enrich every text with a progress bar on stderr, return the report.

    Raises ``GoldFormatError`` for a missing/empty directory or a malformed file.
    """
    records = load_gold_dir(gold_dir)
    enrich = make_enricher(settings)
    if not show_progress:
        return evaluate(records, enrich)
    with Progress(TextColumn("enriching gold articles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as prog:
        task = prog.add_task("eval", total=len(records))
        return evaluate(records, enrich, progress=lambda _rec: prog.advance(task))


def print_report(report: EvalReport, show_misses: bool) -> None:
    """Print the figures beside issue 4's targets, the per-field counts and (optionally) the misses."""
    figs = report.figures
    rows = []
    for key, label in ROWS:
        value = figs.get(key)
        if value is None:
            continue
        target = TARGETS.get(key)
        rows.append({
            "figure": label,
            "value": f"{value:.3f}",
            "bar": _bar(value),
            "target": f">= {target:.2f}" if target is not None else "",
            "baseline": f"{BASELINES[key]:.2f}" if key in BASELINES else "",
            "met": ("yes" if value >= target else "NO") if target is not None else "",
        })
    print_table(rows, ["figure", "value", "bar", "target", "baseline", "met"],
                title=f"enrichment quality over {report.documents} gold articles (micro-averaged)")
    counts = [{"field": f, **c.to_dict()} for f, c in report.fields.items()]
    print_table(counts, ["field", "tp", "fp", "fn", "precision", "recall", "f1"], title="counts per field")
    console.print(f"speaker accuracy: {report.speaker.hits}/{report.speaker.total} matched quotes; "
                  f"within 161 km: {report.within.hits}/{report.within.total} matched places "
                  f"({report.within_all.hits}/{report.within_all.total} of all gold places)")
    if show_misses:
        if report.misses:
            print_table(report.misses, ["doc", "field", "kind", "gold", "predicted", "detail"],
                        title=f"misses ({len(report.misses)})")
        else:
            console.print("no misses")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command."""

    @app.command("eval")
    def eval_cmd(
        gold_dir: Path = typer.Argument(..., help="Folder of *.gold.json files (format of ../shared/seeds/*.gold.json)."),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
        show_misses: bool = typer.Option(True, "--show-misses/--no-show-misses", help="List every miss (table output; JSON always has them)."),
    ) -> None:
        """Enrich every gold article and print precision/recall/F1 per field, speaker accuracy,
        the share of places within 161 km and every miss, beside issue 4's targets."""
        settings = get_settings()
        try:
            report = run_eval(gold_dir, settings, show_progress=True)
        except GoldFormatError as exc:
            raise fail(f"{exc} ({exc.reason})", code=2) from None
        except ImportError as exc:
            raise fail(f"the enrichment stage is not available: {exc}") from None
        if fmt == Format.json:
            print_json(report.to_dict())
        else:
            print_report(report, show_misses)
