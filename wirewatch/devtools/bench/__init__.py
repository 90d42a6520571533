"""Benchmarks behind ``wirewatch bench``, and the one place their shared parts live.

Each module here with a ``register(bench_app)`` function adds one sub-command
(:mod:`wirewatch.commands.bench` finds them). What every benchmark shares is defined once
below: the ``--format`` option (:data:`FORMAT_OPTION`), the ports of a benchmark's own
services (:func:`port_option`), the progress bar (:func:`progress`), the result file
(:func:`write_result`), the result table or JSON (:func:`report`, :func:`metric_rows`), and
percentiles (:func:`percentile`).
"""
from __future__ import annotations

import json
import statistics
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import typer

from wirewatch.output import FORMAT_OPTION_HELP, Format, err_console, print_json, print_table

#: ``--format table|json``, the same for every benchmark.
FORMAT_OPTION = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)

#: ``progress(label, done, total)``: what a benchmark's ``run`` calls to report progress.
Progress = Callable[[str, int, int], None]


def port_option(default: int, flag: str, what: str) -> Any:
    """A ``--<flag>`` option for the port of a benchmark's own service (``what``)."""
    return typer.Option(default, flag, help=f"{what}.")


def write_result(name: str, result: dict[str, Any], out_dir: Path = Path("bench-results")) -> Path:
    """Write ``result`` to ``out_dir/<name>.json`` and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


@contextmanager
def progress(label: str = "starting") -> Iterator[Progress]:
    """A transient progress bar on stderr; yields the ``progress(label, done, total)`` callback
    (``total`` 0: unknown)."""
    from rich.progress import Progress as Bar

    with Bar(console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total or None)

        yield update


def metric_rows(result: dict[str, Any], *, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``result`` as ``{"metric", "value"}`` rows: nested dicts as ``key.subkey`` rows, lists
    joined with ``"; "``; keys in ``skip`` left out."""
    rows: list[dict[str, Any]] = []
    for key, value in result.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            rows.extend({"metric": f"{key}.{k}", "value": v} for k, v in value.items())
        elif isinstance(value, list):
            rows.append({"metric": key, "value": "; ".join(str(x) for x in value)})
        else:
            rows.append({"metric": key, "value": value})
    return rows


def report(name: str, result: dict[str, Any], fmt: Format, *, title: str,
           rows: list[dict[str, Any]] | None = None) -> Path:
    """Write ``result`` (:func:`write_result`), then print it: JSON with ``--format json``, else
    a metric/value table of ``rows`` (default: :func:`metric_rows`) with the file written.
    Returns the file's path."""
    path = write_result(name, result)
    if fmt is Format.json:
        print_json(result)
        return path
    rows = metric_rows(result) if rows is None else rows
    print_table([*rows, {"metric": "written", "value": str(path)}], ["metric", "value"], title=title)
    return path


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-quantile (0..1, in steps of 0.01) of ``values`` by linear interpolation between
    the closest ranks (``statistics.quantiles(method="inclusive")``, as numpy's default); None
    when empty. The values need not be sorted."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    if q <= 0:
        return float(min(values))
    if q >= 1:
        return float(max(values))
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]
