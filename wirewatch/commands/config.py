"""``wirewatch config``: show every setting, its value and its documentation."""
from __future__ import annotations

import typer

from pipeline.settings import Settings, config_file_path, get_settings
from wirewatch.output import Format, print_json, print_table


def register(app: typer.Typer) -> None:
    """Add the ``config`` command."""

    @app.command("config")
    def config_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
        """Print every setting with its current value, environment variable and description."""
        s = get_settings()
        rows = []
        for name, info in Settings.model_fields.items():
            value = getattr(s, name)
            if hasattr(value, "get_secret_value"):
                value = "********"
            rows.append({"setting": name, "env": f"WIREWATCH_{name.upper()}", "value": value if fmt == Format.json else str(value), "description": info.description})
        if fmt == Format.json:
            print_json({"config_file": str(config_file_path()), "settings": rows})
        else:
            print_table(rows, ["setting", "env", "value", "description"], title=f"settings (file: {config_file_path()})")
