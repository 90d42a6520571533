"""``wirewatch bench ...``: benchmarks. Each module in :mod:`wirewatch.devtools.bench` with a
``register(bench_app)`` function adds one sub-command. Results print as a table (or JSON with
``--format json``) and are written to ``bench-results/<name>.json``.
"""
from __future__ import annotations

import importlib
import pkgutil

import typer

bench_app = typer.Typer(help="Benchmarks (results as tables and JSON in bench-results/).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``bench`` group and every benchmark found in :mod:`wirewatch.devtools.bench`."""
    import wirewatch.devtools.bench as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
        reg = getattr(module, "register", None)
        if reg is not None:
            reg(bench_app)
    app.add_typer(bench_app, name="bench")
