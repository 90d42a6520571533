"""``wirewatch search QUERY``: search indexed articles with the saved-search filters.

Also holds the helpers the ``init``, ``searches`` and ``alerts`` commands share (engine
construction with a helpful error, durations, filter options).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Optional

import typer

from pipeline.errors import ConfigError, EngineError, InvalidQueryError
from pipeline.settings import get_settings
from wirewatch.output import Format, fail, fail_invalid, print_json, print_table

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_COORDS_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"2d"``, ``"1w"`` -> timedelta; typer.BadParameter otherwise."""
    m = _DURATION_RE.match(text or "")
    if not m:
        raise typer.BadParameter(f"{text!r} is not a duration like 30m, 1h, 2d or 1w")
    return timedelta(seconds=float(m.group(1)) * _UNITS_S[m.group(2).lower()])


def since_from(duration: str | None) -> datetime | None:
    """Now minus ``duration`` (UTC), or None."""
    return datetime.now(timezone.utc) - parse_duration(duration) if duration else None


def near_filter(near: str | None, within_km: float) -> dict[str, Any] | None:
    """``--near`` value (a place name or ``lat,lon``) and ``--within-km`` -> a ``near`` filter dict."""
    if not near:
        return None
    m = _COORDS_RE.match(near)
    if m:
        return {"lat": float(m.group(1)), "lon": float(m.group(2)), "distance_km": within_km}
    return {"place": near, "distance_km": within_km}


#: Filter fields -> the options of ``search`` / ``searches add`` that set them (error messages).
FILTER_OPTIONS = {"persons": "--person", "organizations": "--org", "speakers": "--speaker", "countries": "--country",
                  "topics": "--topic", "language": "--language", "domains": "--domain", "near": "--near",
                  "near.lat": "--near latitude", "near.lon": "--near longitude", "near.distance_km": "--within-km"}


def filters_from_options(person, org, speaker, country, topic, language, domain, near, within_km) -> dict[str, Any]:
    """Collect the filter options of ``search`` / ``searches add`` into a filters dict."""
    out: dict[str, Any] = {}
    for key, value in (("persons", person), ("organizations", org), ("speakers", speaker), ("countries", country),
                       ("topics", topic), ("domains", domain)):
        if value:
            out[key] = list(value)
    if language:
        out["language"] = language
    nf = near_filter(near, within_km)
    if nf:
        out["near"] = nf
    return out


def filters_dict(filters) -> dict[str, Any]:
    """The filters of a :class:`~pipeline.alerts.searches.SearchFilters` that are set, plus
    ``near.distance_km`` even when it is the default (the radius in use must show)."""
    out = filters.model_dump(exclude_defaults=True)
    if filters.near is not None:
        out["near"] = filters.near.model_dump(exclude_none=True)
    return out


@contextmanager
def engine_or_fail(settings=None) -> Iterator[Any]:
    """Yield a :class:`SearchEngine`; turn engine, config and query errors into clear CLI errors."""
    from pipeline.index.engine import SearchEngine
    from pipeline.logs import redact_url

    s = settings or get_settings()
    engine = SearchEngine.from_settings(s)
    try:
        yield engine
    except InvalidQueryError as exc:
        if exc.reason == "query_too_complex":
            raise fail(f"query refused: {exc}")
        raise fail(f"the search engine refused the query: {exc}")
    except EngineError as exc:
        if exc.transient:
            raise fail(f"cannot reach the search engine at {redact_url(s.search_url)} ({exc}). Start the local node "
                              "with `wirewatch services up`, or point WIREWATCH_SEARCH_URL at yours.")
        if getattr(exc, "status", None) == 404:
            raise fail(f"{exc}. Run `wirewatch init` first to create the indices.")
        raise fail(f"search engine error: {exc}")
    except ConfigError as exc:
        raise fail(str(exc))
    finally:
        engine.close()


def _date(src: dict[str, Any]) -> str:
    value = src.get("published_at") or src.get("fetched_at") or ""
    return str(value)[:16].replace("T", " ")


def _names(items: Any, n: int = 3) -> list[str]:
    out = []
    for it in items or []:
        name = it.get("name") if isinstance(it, dict) else it
        if name and name not in out:
            out.append(name)
    return out[:n]


def hit_row(hit: dict[str, Any]) -> dict[str, Any]:
    """One search hit as a row: id, title, date, source, persons, places, topics, highlight, score, url."""
    src = hit.get("_source") or {}
    hl = hit.get("highlight") or {}
    body = hl.get("body") or hl.get("body.exact") or []  # .exact: matches of prefix/wildcard/fuzzy terms
    fragments = body or hl.get("title") or hl.get("title.exact") or []
    return {
        "id": hit.get("_id"),
        "title": src.get("title"),
        "date": _date(src),
        "source": (src.get("source") or {}).get("domain"),
        "persons": _names(src.get("persons")),
        "places": (src.get("place_names") or _names(src.get("locations")))[:3],
        "topics": src.get("topics") or [],
        "highlight": " … ".join(f.replace("\n", " ") for f in fragments),
        "score": hit.get("_score"),
        "url": src.get("canonical_url") or src.get("url"),
        "duplicate_of": (src.get("dedupe") or {}).get("duplicate_of"),
    }


SEARCH_COLUMNS = ["title", "date", "source", "persons", "places", "highlight"]


def register(app: typer.Typer) -> None:
    """Add the ``search`` command."""

    @app.command("search")
    def search_cmd(
        query: Optional[str] = typer.Argument(None, help="Lucene query string over title and body (terms ANDed); omit to list by filters."),
        person: list[str] = typer.Option([], "--person", help="Person named in the article (repeatable; any of)."),
        org: list[str] = typer.Option([], "--org", help="Organization named in the article (repeatable)."),
        speaker: list[str] = typer.Option([], "--speaker", help="Quoted speaker (quotes.speaker; repeatable)."),
        country: list[str] = typer.Option([], "--country", help="ISO country code, e.g. MX (repeatable)."),
        topic: list[str] = typer.Option([], "--topic", help="Topic, e.g. border-crossing (repeatable)."),
        language: Optional[str] = typer.Option(None, "--language", help="Language code, e.g. en."),
        domain: list[str] = typer.Option([], "--domain", help="Source domain (repeatable)."),
        near: Optional[str] = typer.Option(None, "--near", help="Place name (gazetteer) or 'lat,lon'."),
        within_km: float = typer.Option(100.0, "--within-km", help="Distance for --near, km."),
        sort: str = typer.Option("relevance", "--sort", help="relevance or date."),
        limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="Maximum results."),
        since: Optional[str] = typer.Option(None, "--since", help="Only articles fetched within DURATION (e.g. 2d)."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """Search indexed articles (same query semantics and filters as saved searches)."""
        from pydantic import ValidationError

        from pipeline.alerts.searches import SearchFilters, resolve_near, run_search

        if sort not in ("relevance", "date"):
            raise typer.BadParameter("--sort must be relevance or date")
        try:
            filters = SearchFilters.model_validate(filters_from_options(person, org, speaker, country, topic, language,
                                                                        domain, near, within_km))
        except ValidationError as exc:
            raise fail_invalid(exc, FILTER_OPTIONS)
        with engine_or_fail() as engine:
            filters = resolve_near(filters)
            resp = run_search(engine, query, filters, limit=limit, sort=sort, since=since_from(since))
        hits = resp["hits"]["hits"]
        total = resp["hits"].get("total")
        total_n = total.get("value") if isinstance(total, dict) else total
        rows = [hit_row(h) for h in hits]
        if fmt == Format.json:
            print_json({"query": query, "filters": filters_dict(filters), "total": total_n,
                        "hits": rows})
        else:
            print_table(rows, SEARCH_COLUMNS, title=f"{len(rows)} of {total_n} articles")
