"""Help texts: typer shows a command's first docstring paragraph in its group's command list
with the docstring's own line breaks (rich markup mode), so that paragraph must be one line;
and help speaks of what the user sees, not of the project's issue numbers."""
from __future__ import annotations

import inspect
import re

import typer


def _commands(cmd, path=()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_summary_is_one_line_and_names_no_issue():
    from wirewatch.cli import app

    seen, broken, internal = 0, [], []
    for path, cmd in _commands(typer.main.get_command(app)):
        texts = [cmd.help or "", cmd.short_help or "", *[getattr(p, "help", "") or "" for p in cmd.params]]
        summary = inspect.cleandoc(cmd.help or "").split("\n\n")[0]
        seen += 1
        if "\n" in summary:
            broken.append((" ".join(path), summary))
        if any(re.search(r"\bissue \d+", t) for t in texts):
            internal.append(" ".join(path))
    assert seen > 50
    assert broken == []
    assert internal == []

