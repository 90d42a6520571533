"""The ``wirewatch`` command line. Each module in :mod:`wirewatch.commands` with a
``register(app)`` function adds its commands; this file only assembles them.
"""
from __future__ import annotations

import importlib
import pkgutil

import typer

from pipeline.logs import configure_logging
from pipeline.settings import get_settings

app = typer.Typer(
    name="wirewatch",
    help="Wirewatch: poll news feeds, fetch, dedupe and enrich articles, index them into "
    "OpenSearch/Elasticsearch and alert on saved searches.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Configure logging from the settings before any command runs."""
    s = get_settings()
    configure_logging(s.log_level, s.log_format)


def _register_all() -> None:
    import wirewatch.commands as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
