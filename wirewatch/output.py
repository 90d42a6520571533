"""Output helpers shared by every command: tables with rich, JSON with ``--format json``."""
from __future__ import annotations

import json
import re
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


#: Longest table cell or error message printed, characters (a stored 1 MB title must not flood
#: the terminal); JSON output is never cut.
CELL_MAX_CHARS = 2_000


def safe_text(text: str, limit: int = CELL_MAX_CHARS) -> str:
    """Text for a terminal: control and bidi characters escaped (:func:`pipeline.sanitize.escape_controls`),
    cut to ``limit`` characters."""
    from pipeline.sanitize import escape_controls

    text = escape_controls(text)
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


_JSON_UNSAFE = re.compile("[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _json_safe(text: str) -> str:
    # json.dumps(ensure_ascii=False) escapes C0 controls but passes DEL, C1 controls (0x9b is CSI
    # on 8-bit terminals) and bidi controls (pipeline.sanitize.BIDI_CONTROLS) through; write those
    # as \uXXXX (still valid JSON).
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (non-JSON values via ``str``); every control and
    bidi character is written as a JSON escape, so the output cannot drive a terminal."""
    sys.stdout.write(_json_safe(json.dumps(obj, indent=2, ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print ``rows`` (dicts) as a table with ``columns`` (dict keys, shown as headers).

    Lists are joined with ", "; None shows as an empty cell. Cell text is shown literally
    (square brackets, e.g. search highlights, are not read as rich markup); control and bidi
    characters are shown escaped (``\x1b``, ``\u202e``) and a cell is cut at
    :data:`CELL_MAX_CHARS` characters.
    """
    from rich.markup import escape

    table = Table(title=escape(safe_text(title)) if title else None, show_lines=False)
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
        table.add_row(*(escape(safe_text(c)) for c in cells))
    console.print(table)


def fail(message: str, code: int = 1):
    """Print ``message`` in red on stderr and return a ``typer.Exit(code)`` to raise.

    Each line of ``message`` is printed as its own ``error:`` line. The message is shown
    literally (square brackets in it are not rich markup), with control characters escaped,
    credentials redacted (:func:`pipeline.logs.redact_url`) and each line cut at
    :data:`CELL_MAX_CHARS` characters."""
    import typer
    from rich.markup import escape

    from pipeline.logs import redact_url

    for line in message.splitlines() or [""]:
        err_console.print(f"[red]error:[/red] {escape(safe_text(redact_url(line)))}", soft_wrap=True)
    return typer.Exit(code)


def fail_invalid(exc, fields: dict[str, str] | None = None, where: str = "", code: int = 1):
    """:func:`fail` for a pydantic ``ValidationError``: one ``error: field: message`` line per
    problem (:func:`pipeline.errors.validation_problems`; ``fields`` renames fields, e.g. to the
    CLI options that set them), instead of pydantic's multi-line report and links."""
    from pipeline.errors import validation_problems

    return fail("\n".join(validation_problems(exc, fields, where)), code=code)


FORMAT_OPTION_HELP = "Output format: table (readable) or json."
