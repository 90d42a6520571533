"""``wirewatch init``: create the index templates, indices and aliases (idempotent) and load the
saved searches of ``config/searches.yaml``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.logs import redact_url
from pipeline.settings import get_settings
from wirewatch.commands.search import engine_or_fail
from wirewatch.output import Format, print_json, print_table


def register(app: typer.Typer) -> None:
    """Add the ``init`` command."""

    @app.command("init")
    def init_cmd(
        searches: bool = typer.Option(True, "--searches/--no-searches", help="Also load the saved-searches file."),
        searches_file: Optional[Path] = typer.Option(None, "--searches-file", help="Saved-searches YAML (default: settings.searches_file)."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """Create, idempotently, the templates, versioned indices and aliases for articles, saved
        searches and alert events; then load the saved searches file. Says what it created and
        what already existed."""
        from pipeline.alerts.searches import SavedSearchStore

        s = get_settings()
        path = searches_file or s.searches_file
        loaded: list[dict[str, str]] = []
        with engine_or_fail(s) as engine:
            info = engine.info()
            steps = engine.ensure_setup()
            if searches and Path(path).is_file():
                loaded = SavedSearchStore(engine, s).load_yaml(path)
        version = info.get("version", {})
        engine_name = f"{version.get('distribution', 'elasticsearch')} {version.get('number', '?')}"
        if fmt == Format.json:
            print_json({"engine": engine_name, "url": redact_url(s.search_url), "steps": [st.to_dict() for st in steps],
                        "searches_file": str(path) if searches else None, "searches": loaded})
            return
        print_table([st.to_dict() for st in steps], ["kind", "what", "name", "status"],
                    title=f"{engine_name} at {redact_url(s.search_url)}")
        if loaded:
            print_table(loaded, ["id", "status"], title=f"saved searches from {path}")
        elif searches:
            print_table([], ["id", "status"], title=f"no saved searches file at {path}")
