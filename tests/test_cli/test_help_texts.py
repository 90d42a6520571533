"""Help texts: typer's rich help keeps a docstring's single line breaks (the first paragraph in
the group's command list, the later ones on the command's page), so every paragraph must reach
it as one line (wirewatch.cli.unwrap_help) and the summary must be one sentence; help speaks of
what the user sees, not of the project's issue numbers."""
from __future__ import annotations

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
        seen += 1
        for paragraph in (cmd.help or "").split("\n\n"):
            if "\n" in paragraph:
                broken.append((" ".join(path), paragraph))
        if any(re.search(r"\bissue \d+", t) for t in texts):
            internal.append(" ".join(path))
    assert seen > 50
    assert broken == []
    assert internal == []



def test_unwrap_help_joins_lines_and_keeps_paragraphs_and_b_blocks():
    from wirewatch.cli import unwrap_help

    text = """Do one thing
        well.

        Details that
        go on.

        \b
        kept
        as is"""
    assert unwrap_help(text) == "Do one thing well.\n\nDetails that go on.\n\n\b\nkept\nas is"

