"""Output helpers shared by every command: tables with rich, JSON with ``--format json``."""
from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table

def _width() -> int | None:
    """Rich wraps at 80 columns when output is not a terminal; tables of ids and URLs need
    more, so piped output gets 200 (``COLUMNS`` still wins when set)."""
    import os

    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return 200


console = Console(width=_width())
err_console = Console(stderr=True)


class Format(str, Enum):
    """Output format accepted by ``--format``."""

    table = "table"
    json = "json"


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (non-JSON values via ``str``)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print ``rows`` (dicts) as a table with ``columns`` (dict keys, shown as headers).

    Lists are joined with ", "; None shows as an empty cell. Cell text is shown literally
    (square brackets, e.g. search highlights, are not read as rich markup).
    """
    from rich.markup import escape

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col.replace("_", " "))
    for row in rows:
        cells = []
        for col in columns:
            v = row.get(col)
            if v is None:
                cells.append("")
            elif isinstance(v, (list, tuple)):
                cells.append(", ".join(str(x) for x in v))
            else:
                cells.append(str(v))
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


def fail(message: str, code: int = 1):
    """Print ``message`` in red on stderr and return a ``typer.Exit(code)`` to raise.

    Each line of ``message`` is printed as its own ``error:`` line. The message is shown
    literally (square brackets in it are not rich markup)."""
    import typer
    from rich.markup import escape

    for line in message.splitlines() or [""]:
        err_console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
    return typer.Exit(code)


def fail_invalid(exc, fields: dict[str, str] | None = None, where: str = "", code: int = 1):
    """:func:`fail` for a pydantic ``ValidationError``: one ``error: field: message`` line per
    problem (:func:`pipeline.errors.validation_problems`; ``fields`` renames fields, e.g. to the
    CLI options that set them), instead of pydantic's multi-line report and links."""
    from pipeline.errors import validation_problems

    return fail("\n".join(validation_problems(exc, fields, where)), code=code)


FORMAT_OPTION_HELP = "Output format: table (readable) or json."
