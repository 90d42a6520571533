"""``wirewatch searches add|list|show|test|disable|enable|delete|history|load``: saved searches."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from pipeline.settings import get_settings
from wirewatch.commands.alerts import show_events
from wirewatch.commands.search import (FILTER_OPTIONS, SEARCH_COLUMNS, engine_or_fail, filters_dict,
                                       filters_from_options, hit_row, since_from)
from wirewatch.output import Format, fail, fail_invalid, print_json, print_table

searches_app = typer.Typer(
    help="Saved searches: a Lucene query over title and body plus filters; each new matching story "
    "cluster raises one alert.", no_args_is_help=True)
LIST_COLUMNS = ["id", "name", "enabled", "query", "filters", "notify", "mode"]


def _filters_text(filters: dict[str, Any]) -> str:
    parts = []
    for k, v in filters.items():
        if k == "near":
            where = v.get("place") or f"{v.get('lat'):.3f},{v.get('lon'):.3f}"
            parts.append(f"near {where} ≤{v['distance_km']:g} km")
        elif isinstance(v, list):
            parts.append(f"{k}: {', '.join(v)}")
        else:
            parts.append(f"{k}: {v}")
    return "; ".join(parts)


def _row(search) -> dict[str, Any]:
    from pipeline.alerts.notify import mask_config

    d = search.model_dump(exclude_defaults=False)
    d["filters"] = filters_dict(search.filters)
    d["notify"] = [mask_config(c) for c in d.get("notify") or []]  # plain secrets never printed
    return d


def _table_row(search) -> dict[str, Any]:
    return {"id": search.id, "name": search.name, "enabled": "yes" if search.enabled else "no",
            "query": search.query or "", "filters": _filters_text(filters_dict(search.filters)),
            "notify": [c.get("name") or c.get("type", "?") for c in search.notify],
            "mode": search.alert_mode if search.alert_mode != "digest" else f"digest {search.digest_period} {search.digest_timezone}"}


def _get_or_fail(store, search_id: str):
    found = store.get(search_id)
    if found is None:
        raise fail(f"no saved search {search_id!r} (see `wirewatch searches list`)")
    return found


@searches_app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="Human name, e.g. 'Border crossings near Tijuana'."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="Lucene query string over title and body (terms ANDed)."),
    search_id: Optional[str] = typer.Option(None, "--id", help="Slug id (default: from the name)."),
    person: list[str] = typer.Option([], "--person", help="Person named in the article (repeatable; any of)."),
    org: list[str] = typer.Option([], "--org", help="Organization (repeatable)."),
    speaker: list[str] = typer.Option([], "--speaker", help="Quoted speaker, quotes.speaker (repeatable)."),
    country: list[str] = typer.Option([], "--country", help="ISO country code (repeatable)."),
    topic: list[str] = typer.Option([], "--topic", help="Topic (repeatable)."),
    language: Optional[str] = typer.Option(None, "--language", help="Language code."),
    domain: list[str] = typer.Option([], "--domain", help="Source domain (repeatable)."),
    near: Optional[str] = typer.Option(None, "--near", help="Place name (gazetteer) or 'lat,lon'."),
    within_km: float = typer.Option(100.0, "--within-km", help="Distance for --near, km."),
    notify: list[str] = typer.Option([], "--notify", help='Channel config as JSON, e.g. \'{"type": "webhook", "url": "https://..."}\' (repeatable).'),
    alert_mode: str = typer.Option("article", "--alert-mode", help="article (every match), story (first match per story) or digest."),
    digest_period: str = typer.Option("daily", "--digest-period", help="hourly or daily (with --alert-mode digest)."),
    digest_timezone: str = typer.Option("UTC", "--digest-timezone", help="IANA time zone of the digest periods, e.g. Europe/Paris."),
    disabled: bool = typer.Option(False, "--disabled", help="Store it disabled."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing search with the same id."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """Add a saved search. The engine checks the query first and refuses an invalid one with its own message."""
    from pydantic import ValidationError

    from pipeline.alerts.searches import SavedSearch, SavedSearchStore

    try:
        channels = [json.loads(n) for n in notify]
    except json.JSONDecodeError as exc:
        raise fail(f"--notify is not JSON: {exc}")
    data: dict[str, Any] = {"name": name, "query": query, "enabled": not disabled, "notify": channels,
                            "alert_mode": alert_mode, "digest_period": digest_period, "digest_timezone": digest_timezone,
                            "filters": filters_from_options(person, org, speaker, country, topic, language, domain, near, within_km)}
    if search_id:
        data["id"] = search_id
    try:
        search = SavedSearch.model_validate(data)
    except ValidationError as exc:
        raise fail_invalid(exc, {**{f"filters.{k}": v for k, v in FILTER_OPTIONS.items()}, "query": "--query",
                                 "id": "--id", "alert_mode": "--alert-mode", "digest_period": "--digest-period",
                                 "digest_timezone": "--digest-timezone"})
    from pipeline.errors import ConfigError

    with engine_or_fail() as engine:
        try:
            stored = SavedSearchStore(engine, get_settings()).add(search, replace=replace)
        except ConfigError as exc:
            if exc.reason != "exists":
                raise
            raise fail(f"saved search {search.id!r} exists; pass --replace to replace it, or choose another --id")
    if fmt == Format.json:
        print_json(_row(stored))
    else:
        print_table([_table_row(stored)], LIST_COLUMNS, title="saved search added")


@searches_app.command("list")
def list_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
    """List saved searches."""
    from pipeline.alerts.searches import SavedSearchStore

    with engine_or_fail() as engine:
        found = SavedSearchStore(engine, get_settings()).list()
    if fmt == Format.json:
        print_json([_row(s) for s in found])
    else:
        print_table([_table_row(s) for s in found], LIST_COLUMNS, title=f"{len(found)} saved searches")


@searches_app.command("show")
def show_cmd(search_id: str = typer.Argument(...), fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
    """Show one saved search and the engine query it runs as."""
    from pipeline.alerts.searches import SavedSearchStore, to_percolator_query

    with engine_or_fail() as engine:
        found = _get_or_fail(SavedSearchStore(engine, get_settings()), search_id)
    out = _row(found)
    out["engine_query"] = to_percolator_query(found)
    if fmt == Format.json:
        print_json(out)
    else:
        rows = [{"field": k, "value": json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}
                for k, v in out.items()]
        print_table(rows, ["field", "value"], title=f"saved search {found.id}")


@searches_app.command("test")
def test_cmd(
    search_id: str = typer.Argument(...),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000),
    since: Optional[str] = typer.Option(None, "--since", help="Only articles fetched within DURATION (e.g. 2d)."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """Show the recent indexed articles a saved search matches and whether each alerted.

    Duplicates are left out, as alerts leave them out; "alerted" says when each article's
    story cluster alerted."""
    from pipeline.alerts.percolate import alert_id
    from pipeline.alerts.searches import SavedSearchStore

    with engine_or_fail() as engine:
        store = SavedSearchStore(engine, get_settings())
        found = _get_or_fail(store, search_id)
        resp = store.matching_articles(found, limit=limit, since=since_from(since))
        hits = resp["hits"]["hits"]
        ids = {h["_id"]: alert_id(found.id, ((h.get("_source") or {}).get("dedupe") or {}).get("cluster_id") or h["_id"])
               for h in hits}
        alerted = engine.mget(engine.alias("alerts"), sorted(set(ids.values())))
    rows = []
    for h in hits:
        row = hit_row(h)
        event = alerted.get(ids[h["_id"]])
        row["alerted"] = (str(event.get("matched_at"))[:19].replace("T", " ") if event else "no")
        rows.append(row)
    total = resp["hits"].get("total")
    total_n = total.get("value") if isinstance(total, dict) else total
    if fmt == Format.json:
        print_json({"search": found.id, "total": total_n, "hits": rows})
    else:
        print_table(rows, [*SEARCH_COLUMNS, "alerted"],
                    title=f"{found.id}: {len(rows)} of {total_n} matching articles (alerted: when its story cluster alerted)")


def _toggle(search_id: str, enabled: bool, fmt: Format) -> None:
    from pipeline.alerts.searches import SavedSearchStore

    with engine_or_fail() as engine:
        store = SavedSearchStore(engine, get_settings())
        _get_or_fail(store, search_id)
        s = store.enable(search_id) if enabled else store.disable(search_id)
    if fmt == Format.json:
        print_json(_row(s))
    else:
        print_table([_table_row(s)], LIST_COLUMNS, title="enabled" if enabled else "disabled")


@searches_app.command("disable")
def disable_cmd(search_id: str = typer.Argument(...), fmt: Format = typer.Option(Format.table, "--format")) -> None:
    """Stop alerting on a saved search (it is kept)."""
    _toggle(search_id, False, fmt)


@searches_app.command("enable")
def enable_cmd(search_id: str = typer.Argument(...), fmt: Format = typer.Option(Format.table, "--format")) -> None:
    """Alert on a disabled saved search again."""
    _toggle(search_id, True, fmt)


@searches_app.command("delete")
def delete_cmd(search_id: str = typer.Argument(...), fmt: Format = typer.Option(Format.table, "--format")) -> None:
    """Delete a saved search (its alert history stays)."""
    from pipeline.alerts.searches import SavedSearchStore

    with engine_or_fail() as engine:
        existed = SavedSearchStore(engine, get_settings()).delete(search_id)
    if not existed:
        raise fail(f"no saved search {search_id!r}")
    if fmt == Format.json:
        print_json({"id": search_id, "deleted": True})
    else:
        print_table([{"id": search_id, "deleted": "yes"}], ["id", "deleted"])


@searches_app.command("history")
def history_cmd(
    search_id: str = typer.Argument(...),
    since: Optional[str] = typer.Option(None, "--since", help="Only alerts within DURATION (30m, 1h, 2d)."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    fmt: Format = typer.Option(Format.table, "--format"),
) -> None:
    """Alert events of one saved search, newest first."""
    from pipeline.alerts.percolate import alert_history

    with engine_or_fail() as engine:
        events = alert_history(engine, search_id=search_id, since=since_from(since), limit=limit)
    show_events(events, fmt, f"{search_id}: {len(events)} alert events")


@searches_app.command("load")
def load_cmd(
    path: Optional[Path] = typer.Argument(None, help="YAML file (default: settings.searches_file)."),
    fmt: Format = typer.Option(Format.table, "--format"),
) -> None:
    """Create or update the saved searches of a YAML file (unchanged ones are left alone)."""
    from pipeline.alerts.searches import SavedSearchStore

    s = get_settings()
    with engine_or_fail(s) as engine:
        results = SavedSearchStore(engine, s).load_yaml(path or s.searches_file)
    if fmt == Format.json:
        print_json(results)
    else:
        print_table(results, ["id", "status"], title=str(path or s.searches_file))


def register(app: typer.Typer) -> None:
    """Add the ``searches`` group."""
    app.add_typer(searches_app, name="searches")
