"""``wirewatch kibana import|list``: load Wirewatch's saved objects (data views, saved
searches, visualizations, a map and a dashboard) into Kibana or OpenSearch Dashboards.

The objects live in ``deploy/kibana/wirewatch.ndjson`` (Kibana 8.x; its map is a Maps-app
``map`` object) and ``deploy/opensearch-dashboards/wirewatch.ndjson`` (OpenSearch Dashboards
2.x; its map is a ``tile_map`` visualization). Both are written in the 7.10 saved-object
format (``migrationVersion`` per type), which Kibana 7.10+/8.x and OpenSearch Dashboards
(forked from Kibana 7.10.2) migrate on import. The data views are titled
``wirewatch-articles`` / ``wirewatch-alerts``; the import rewrites those titles to the
configured ``index_prefix``.

The upload is the saved-objects import API: ``POST <url>[/s/<space>]/api/saved_objects/_import?overwrite=true``
with the NDJSON as the multipart field ``file`` and the anti-CSRF header Kibana requires
(``kbn-xsrf: true``) or OpenSearch Dashboards requires (``osd-xsrf: true``), as documented in
Kibana's "Import objects API" page.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import typer

from pipeline.errors import ConfigError, ServiceError
from pipeline.settings import Settings, get_settings
from wirewatch.output import Format, fail, print_json, print_table

REPO = Path(__file__).resolve().parents[2]

#: Saved-objects file per dashboards flavour.
OBJECT_FILES = {
    "kibana": REPO / "deploy" / "kibana" / "wirewatch.ndjson",
    "opensearch": REPO / "deploy" / "opensearch-dashboards" / "wirewatch.ndjson",
}

#: Anti-CSRF header each flavour requires on write requests.
XSRF_HEADERS = {"kibana": "kbn-xsrf", "opensearch": "osd-xsrf"}

#: Data-view titles in the files, per index kind; rewritten to ``Settings.index_name(kind)``.
DEFAULT_TITLES = {"wirewatch-articles": "articles", "wirewatch-alerts": "alerts"}

IMPORT_TIMEOUT_S = 60.0


def load_objects(path: Path, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Parse an NDJSON saved-objects file into dicts (blank lines skipped).

    With ``settings``, data-view titles are rewritten to the configured index aliases.
    Raises :class:`ConfigError` (reason ``bad_ndjson``) naming the line that does not parse.
    """
    objects = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{lineno}: not JSON ({exc.msg})", reason="bad_ndjson") from None
    if settings is not None:
        for obj in objects:
            if obj.get("type") == "index-pattern":
                kind = DEFAULT_TITLES.get(obj["attributes"].get("title"))
                if kind:
                    obj["attributes"]["title"] = settings.index_name(kind)
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> bytes:
    """Serialise objects as NDJSON bytes (one compact JSON object per line)."""
    return ("\n".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")) for o in objects) + "\n").encode("utf-8")


def import_request(objects: list[dict[str, Any]], url: str, dashboards: str, *, space: str | None = None,
                   overwrite: bool = True) -> dict[str, Any]:
    """The pieces of the import request: ``{"url", "params", "headers", "files"}`` for httpx.

    ``dashboards`` is ``"kibana"`` or ``"opensearch"`` (selects the anti-CSRF header).
    """
    if dashboards not in XSRF_HEADERS:
        raise ConfigError(f"--dashboards must be kibana or opensearch, not {dashboards!r}", reason="config")
    base = url.rstrip("/")
    if space:
        base += f"/s/{space}"
    return {
        "url": f"{base}/api/saved_objects/_import",
        "params": {"overwrite": "true" if overwrite else "false"},
        "headers": {XSRF_HEADERS[dashboards]: "true"},
        "files": {"file": ("wirewatch.ndjson", to_ndjson(objects), "application/ndjson")},
    }


def _auth(settings: Settings) -> tuple[str, str] | None:
    user = settings.kibana_username or settings.search_username
    password = settings.kibana_password or settings.search_password
    if not user:
        return None
    return (user, password.get_secret_value() if password else "")


def import_objects(objects: list[dict[str, Any]], url: str, dashboards: str, settings: Settings, *,
                   space: str | None = None, timeout_s: float = IMPORT_TIMEOUT_S) -> dict[str, Any]:
    """Upload ``objects`` and return the API's answer (``{"success", "successCount", "errors"?}``).

    Raises :class:`ServiceError` with reason ``unreachable`` when nothing answers at ``url``,
    ``import_failed`` when the server refuses the upload (its message included) and
    ``not_dashboards`` when the answer is not the import API's JSON.
    """
    req = import_request(objects, url, dashboards, space=space)
    try:
        response = httpx.post(req["url"], params=req["params"], headers=req["headers"], files=req["files"],
                              auth=_auth(settings), timeout=timeout_s, verify=settings.search_verify_certs)
    except httpx.ConnectError as exc:
        if dashboards == "kibana":
            how = "start it (`docker compose -f deploy/docker-compose.yml up -d kibana`)"
        else:
            how = "start OpenSearch Dashboards 2.x beside your OpenSearch (see deploy/README.md)"
        name = "Kibana" if dashboards == "kibana" else "OpenSearch Dashboards"
        raise ServiceError(f"cannot reach {name} at {url} ({exc}); {how}, or pass --url / set WIREWATCH_KIBANA_URL.",
                           reason="unreachable") from None
    except httpx.TimeoutException:
        raise ServiceError(f"{url} did not answer within {timeout_s:g}s", reason="unreachable") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        detail = body.get("message") if isinstance(body, dict) else response.text[:300]
        hint = ""
        if response.status_code == 400 and "xsrf" in str(detail).lower():
            hint = " (wrong --dashboards flavour? Kibana wants kbn-xsrf, OpenSearch Dashboards osd-xsrf)"
        if response.status_code in (401, 403):
            hint = " (set WIREWATCH_KIBANA_USERNAME / WIREWATCH_KIBANA_PASSWORD)"
        raise ServiceError(f"import refused: HTTP {response.status_code}: {detail}{hint}", reason="import_failed")
    if not isinstance(body, dict) or "success" not in body:
        raise ServiceError(f"{url} answered HTTP {response.status_code} but not like the saved-objects API; is it Kibana?", reason="not_dashboards")
    return body


def register(app: typer.Typer) -> None:
    """Add the ``kibana`` command group."""
    kibana_app = typer.Typer(help="Kibana / OpenSearch Dashboards saved objects (data views, visualizations, dashboard).",
                             no_args_is_help=True)

    def _flavour(dashboards: str | None, settings: Settings) -> str:
        if dashboards is None:
            return "opensearch" if settings.search_engine == "opensearch" else "kibana"
        if dashboards not in OBJECT_FILES:
            raise fail(f"--dashboards must be kibana or opensearch, not {dashboards!r}")
        return dashboards

    @kibana_app.command("import")
    def import_cmd(
        url: str = typer.Option(None, "--url", help="Kibana/Dashboards URL (default: settings.kibana_url, http://localhost:5601)."),
        dashboards: str = typer.Option(None, "--dashboards", help="kibana or opensearch (default: from settings.search_engine)."),
        space: str = typer.Option(None, "--space", help="Kibana space id (default space when omitted)."),
        file: Path = typer.Option(None, "--file", help="NDJSON to import instead of the shipped one."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """Import the saved objects with overwrite=true (idempotent: re-running replaces them)."""
        settings = get_settings()
        flavour = _flavour(dashboards, settings)
        path = file or OBJECT_FILES[flavour]
        if not path.is_file():
            raise fail(f"{path} not found (pass --file)")
        target = url or settings.kibana_url
        try:
            objects = load_objects(path, settings)
            answer = import_objects(objects, target, flavour, settings, space=space)
        except (ServiceError, ConfigError) as exc:
            raise fail(str(exc))
        errors = answer.get("errors") or []
        result = {"url": target, "dashboards": flavour, "file": str(path), "objects": len(objects),
                  "success": bool(answer.get("success")), "success_count": answer.get("successCount", 0), "errors": errors}
        if fmt == Format.json:
            print_json(result)
        else:
            print_table([result], ["url", "dashboards", "objects", "success", "success_count"], title="saved-objects import")
            if errors:
                print_table([{"type": e.get("type"), "id": e.get("id"), "error": json.dumps(e.get("error"))} for e in errors],
                            ["type", "id", "error"], title="errors")
        if not answer.get("success"):
            raise typer.Exit(1)

    @kibana_app.command("list")
    def list_cmd(
        dashboards: str = typer.Option(None, "--dashboards", help="kibana or opensearch (default: from settings.search_engine)."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """List the shipped saved objects (offline: reads the NDJSON file)."""
        settings = get_settings()
        flavour = _flavour(dashboards, settings)
        objects = load_objects(OBJECT_FILES[flavour], settings)
        rows = [{"type": o["type"], "id": o["id"], "title": o["attributes"].get("title"),
                 "references": len(o.get("references") or [])} for o in objects]
        if fmt == Format.json:
            print_json(rows)
        else:
            print_table(rows, ["type", "id", "title", "references"], title=str(OBJECT_FILES[flavour]))

    app.add_typer(kibana_app, name="kibana")
