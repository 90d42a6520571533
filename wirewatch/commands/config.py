"""``wirewatch config``: show every setting, its value and its documentation, or print a
commented settings file with every default (``--toml``)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.logs import redact_url
from pipeline.settings import Settings, config_file_path, get_settings
from wirewatch.output import Format, print_json, print_table


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def defaults_toml() -> str:
    """A settings file listing every setting, commented out at its default, with its
    description and environment variable. Secrets and unset values appear as comments only."""
    lines = [
        "# Wirewatch settings. Every setting is listed at its default, commented out; uncomment",
        "# and edit to change it. Environment variables WIREWATCH_<NAME> override this file.",
        "# Regenerate with `wirewatch config --toml`.",
        "",
    ]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if name == "cache_dir":
            default = "~/.cache/wirewatch"
        lines.append(f"# {info.description} (env WIREWATCH_{name.upper()})")
        lines.append(f"# {name} = {_toml_value(default)}" if default is not None else f"# {name} =   (unset)")
        lines.append("")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``config`` command."""

    @app.command("config")
    def config_cmd(
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
        toml: bool = typer.Option(False, "--toml", help="Print a commented settings file with every default instead."),
    ) -> None:
        """Print every setting with its current value, environment variable and description."""
        if toml:
            typer.echo(defaults_toml())
            return
        s = get_settings()
        rows = []
        for name, info in Settings.model_fields.items():
            value = getattr(s, name)
            if hasattr(value, "get_secret_value"):
                value = "********"
            elif isinstance(value, str) and name.endswith("_url"):
                value = redact_url(value)  # credentials inside redis_url, search_url, kibana_url
            rows.append({"setting": name, "env": f"WIREWATCH_{name.upper()}", "value": value if fmt == Format.json else str(value), "description": info.description})
        if fmt == Format.json:
            print_json({"config_file": str(config_file_path()), "settings": rows})
        else:
            print_table(rows, ["setting", "env", "value", "description"], title=f"settings (file: {config_file_path()})")
