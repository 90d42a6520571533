"""``wirewatch feeds ...``: the feed registry (add, remove, list, enable, disable, OPML, health),
the per-feed validator switch, and ``parse`` for local feed files (needs no services).
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from pipeline.logs import redact_url
from pipeline.settings import get_settings
from wirewatch.output import (FORMAT_OPTION_HELP, Format, console, err_console, fail, print_json, print_table,
                              safe_text)

feeds_app = typer.Typer(help="Feed registry (state in Redis), OPML import/export, health, local parse.",
                        no_args_is_help=True)

FMT = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)


def _registry():
    """A FeedRegistry on the configured Redis, or a clean exit with a helpful message."""
    import redis

    from pipeline.feeds.registry import FeedRegistry

    s = get_settings()
    client = redis.Redis.from_url(s.redis_url, socket_connect_timeout=3, socket_timeout=10)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        raise fail(f"Redis is not reachable at {redact_url(s.redis_url)} ({exc}). Start it with `wirewatch services up`, "
                   "or point WIREWATCH_REDIS_URL at a running Redis.")
    return FeedRegistry(client, s)


def _redis_guard(fn):
    """Turn a Redis failure in the middle of a command into a clear message (no traceback)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise fail(f"Redis failed during the command ({type(exc).__name__}: {exc}); "
                       "check it with `wirewatch services status`.")

    return wrapper


def _when(ts: float | None, now: float | None = None) -> str:
    """Epoch seconds as a short UTC time with a relative hint (for tables)."""
    if not ts:
        return ""
    now = time.time() if now is None else now
    dt = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = ts - now
    span = abs(delta)
    rel = f"{span:.0f}s" if span < 120 else f"{span / 60:.0f}m" if span < 7200 else f"{span / 3600:.1f}h" if span < 172_800 else f"{span / 86_400:.1f}d"
    return f"{dt} ({'in ' + rel if delta > 0 else rel + ' ago'})"


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts else None


def _not_found(exc: Exception) -> typer.Exit:
    return fail(str(exc))


def _feed_json(feed) -> dict[str, Any]:
    d = feed.to_dict()
    d["status"] = feed.status
    for k in ("added_at", "last_polled", "last_success", "last_full_fetch", "last_error", "next_due"):
        d[k + "_iso"] = _iso(d.get(k))
    return d


@feeds_app.command("add")
@_redis_guard
def add_cmd(url: str = typer.Argument(..., help="Feed URL (http or https)."),
            title: Optional[str] = typer.Option(None, "--title", help="Title shown in lists."),
            category: list[str] = typer.Option([], "--category", help="Category path, e.g. News/Americas (repeatable)."),
            fmt: Format = FMT) -> None:
    """Register a feed (idempotent: a known URL returns its record); it is due at once."""
    reg = _registry()
    try:
        feed = reg.add(url, title=title, categories=category or None)
    except ValueError as exc:
        raise fail(str(exc))
    if fmt == Format.json:
        print_json(_feed_json(feed))
    else:
        print_table([{"id": feed.id, "url": feed.url, "title": feed.title}], ["id", "url", "title"], title="feed added")


@feeds_app.command("remove")
@_redis_guard
def remove_cmd(feed: str = typer.Argument(..., help="Feed id or URL."), fmt: Format = FMT) -> None:
    """Delete a feed and its seen-entry memory from the registry."""
    from pipeline.feeds.registry import FeedNotFound

    reg = _registry()
    try:
        removed = reg.remove(feed)
    except FeedNotFound as exc:
        raise _not_found(exc)
    if fmt == Format.json:
        print_json({"removed": removed.id, "url": removed.url})
    else:
        err_console.print(f"removed {removed.id} {removed.url}")


@feeds_app.command("list")
@_redis_guard
def list_cmd(fmt: Format = FMT) -> None:
    """List every feed (enabled and disabled)."""
    reg = _registry()
    feeds = reg.list()
    if fmt == Format.json:
        print_json([_feed_json(f) for f in feeds])
        return
    rows = [{"id": f.id, "title": f.title, "url": f.url, "enabled": "yes" if f.enabled else "no",
             "categories": f.categories, "interval": f"{(f.interval_s or 0) / 60:.0f}m" if f.interval_s else ""}
            for f in feeds]
    print_table(rows, ["id", "title", "url", "enabled", "categories", "interval"], title=f"{len(rows)} feeds")


@feeds_app.command("enable")
@_redis_guard
def enable_cmd(feed: str = typer.Argument(..., help="Feed id or URL."), fmt: Format = FMT) -> None:
    """Re-enable a feed: clears its disabled reason and error streak; it is due at once."""
    from pipeline.feeds.registry import FeedNotFound

    reg = _registry()
    try:
        f = reg.enable(feed)
    except FeedNotFound as exc:
        raise _not_found(exc)
    print_json(_feed_json(f)) if fmt == Format.json else err_console.print(f"enabled {f.id} {f.url}")


@feeds_app.command("disable")
@_redis_guard
def disable_cmd(feed: str = typer.Argument(..., help="Feed id or URL."),
                reason: str = typer.Option("manual", "--reason", help="Why (shown by `health`)."),
                fmt: Format = FMT) -> None:
    """Disable a feed; it stays in the registry and `health` shows the reason."""
    from pipeline.feeds.registry import FeedNotFound

    from pipeline.logs import reported_by_caller

    reg = _registry()
    try:
        with reported_by_caller("feed_disabled"):  # printed below
            f = reg.disable(feed, reason)
    except FeedNotFound as exc:
        raise _not_found(exc)
    print_json(_feed_json(f)) if fmt == Format.json else err_console.print(f"disabled {f.id} {f.url}: {reason}")


@feeds_app.command("validators")
@_redis_guard
def validators_cmd(feed: str = typer.Argument(..., help="Feed id or URL."),
                   ignore: bool = typer.Option(..., "--ignore/--respect",
                                               help="--ignore: always fetch the whole feed (no ETag/Last-Modified); "
                                                    "--respect: send them again."),
                   fmt: Format = FMT) -> None:
    """Set the per-feed switch that ignores ETag/Last-Modified (for servers whose 304s lie)."""
    from pipeline.feeds.registry import FeedNotFound

    reg = _registry()
    try:
        f = reg.set_ignore_validators(feed, ignore)
    except FeedNotFound as exc:
        raise _not_found(exc)
    if fmt == Format.json:
        print_json(_feed_json(f))
    else:
        err_console.print(f"{f.id}: validators {'ignored' if f.ignore_validators else 'respected'}")


@feeds_app.command("import-opml")
@_redis_guard
def import_opml_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="OPML file."),
                    fmt: Format = FMT) -> None:
    """Register every feed of an OPML file (nested outlines become categories); idempotent."""
    from pipeline.errors import FeedError
    from pipeline.feeds.opml import read_opml

    try:
        items = read_opml(file)
    except FeedError as exc:
        raise fail(f"{file}: {exc} ({exc.reason})")
    reg = _registry()
    res = reg.add_many((i.url, i.title or None, i.categories or None) for i in items)
    added, invalid = len(res["added"]), res["invalid"]
    result = {"file": str(file), "feeds_in_file": len(items), "added": added,
              "already_known": len(items) - added - len(invalid), "invalid": invalid}
    if fmt == Format.json:
        print_json(result)
    else:
        print_table([{k: v for k, v in result.items() if k != "invalid"} | {"invalid": len(invalid)}],
                    ["file", "feeds_in_file", "added", "already_known", "invalid"], title="OPML import")
        for bad in invalid:
            err_console.print(f"[yellow]skipped[/yellow] {bad['url']}: {bad['error']}")


@feeds_app.command("export-opml")
@_redis_guard
def export_opml_cmd(file: Optional[Path] = typer.Argument(None, help="Write here (default: stdout)."),
                    fmt: Format = FMT) -> None:
    """Write the registry as OPML 2.0 (categories as nested outlines), to FILE or stdout."""
    from pipeline.feeds.opml import OpmlFeed, write_opml

    reg = _registry()
    feeds = reg.list()
    data = write_opml([OpmlFeed(url=f.url, title=f.title, categories=f.categories) for f in feeds])
    if file is None:
        if fmt == Format.json:
            print_json({"feeds": len(feeds), "opml": data.decode("utf-8")})
        else:
            sys.stdout.write(data.decode("utf-8"))
        return
    file.write_bytes(data)
    if fmt == Format.json:
        print_json({"feeds": len(feeds), "file": str(file)})
    else:
        err_console.print(f"wrote {len(feeds)} feeds to {file}")


@feeds_app.command("health")
@_redis_guard
def health_cmd(fmt: Format = FMT,
               problems: bool = typer.Option(False, "--problems", help="Only failing and disabled feeds."),
               events: bool = typer.Option(False, "--events", help="Show the latest feed-health events (state changes) instead.")) -> None:
    """Show each feed's health, or with --events the latest health state changes.

    Per feed: status, health state (ok, failing, disabled, silent; pipeline/feeds/health.py)
    and since when, last success, last error reason, error streak, next due; disabled feeds
    with their reason. ``--events``: the latest state changes, newest first."""
    from pipeline.feeds.health import FeedHealth

    reg = _registry()
    health = FeedHealth(reg.redis, get_settings())
    if events:
        evs = health.events(100)
        if fmt == Format.json:
            print_json(evs)
        else:
            print_table([{"at": e["at"][:19].replace("T", " "), "feed": e["title"] or e["url"], "state": e["state"],
                          "previous": e["previous"] or "", "reason": e["reason"]} for e in evs],
                        ["at", "feed", "state", "previous", "reason"], title=f"feed-health events ({len(evs)})")
        return
    states = health.states()
    now = time.time()
    feeds = reg.list()
    if problems:
        feeds = [f for f in feeds if f.status in ("failing", "disabled")]
    order = {"disabled": 0, "failing": 1, "new": 2, "ok": 3}
    feeds.sort(key=lambda f: (order.get(f.status, 9), -(f.consecutive_errors or 0), f.title.lower()))
    if fmt == Format.json:
        counts: dict[str, int] = {}
        for f in feeds:
            counts[f.status] = counts.get(f.status, 0) + 1
        print_json({"feeds": len(feeds), "by_status": counts, "items": [
            {"id": f.id, "title": f.title, "url": f.url, "status": f.status, "disabled_reason": f.disabled_reason,
             "last_success": _iso(f.last_success), "last_error": _iso(f.last_error),
             "last_error_reason": f.last_error_reason, "last_error_message": f.last_error_message,
             "consecutive_errors": f.consecutive_errors, "next_due": _iso(f.next_due) if f.enabled else None,
             "interval_s": f.interval_s, "entries_per_day": f.entries_per_day,
             "ignore_validators": f.ignore_validators, "last_status": f.last_status,
             "health": states.get(f.id, {}).get("state"), "health_reason": states.get(f.id, {}).get("reason"),
             "health_since": states.get(f.id, {}).get("since")} for f in feeds]})
        return
    rows = [{"feed": f.title or f.url, "status": f.status + (f" ({f.disabled_reason})" if f.disabled_reason else ""),
             "last_success": _when(f.last_success, now), "last_error_reason": f.last_error_reason,
             "consecutive_errors": f.consecutive_errors, "next_due": _when(f.next_due, now) if f.enabled else "-",
             "health": (states.get(f.id, {}).get("state") or "") + (
                 f" since {states[f.id]['since'][:16].replace('T', ' ')}" if states.get(f.id, {}).get("state") not in (None, "ok") else "")}
            for f in feeds]
    print_table(rows, ["feed", "status", "health", "last_success", "last_error_reason", "consecutive_errors", "next_due"],
                title=f"feed health ({len(rows)} feeds)")


class _Preview(Exception):
    """Raised from ``on_new`` by ``feeds poll --preview`` so the poll commits nothing new."""


@feeds_app.command("poll")
@_redis_guard
def poll_cmd(feeds: Optional[list[str]] = typer.Argument(None, help="Feed ids or URLs (default: with --due)."),
             due: bool = typer.Option(False, "--due", help="Poll the feeds that are due now."),
             limit: int = typer.Option(100, "--limit", help="At most this many due feeds."),
             enqueue: bool = typer.Option(True, "--enqueue/--preview",
                                          help="--enqueue: hand new entries to the fetch queue (Celery) and mark "
                                               "them seen; --preview: list them and mark nothing seen."),
             fmt: Format = FMT) -> None:
    """Poll feeds now, in this process (conditional GET, parse, schedule), and show the outcome.

    Errors are recorded in the registry as a worker's poll would. With --preview, new entries
    are listed but neither queued nor marked seen, and nothing is recorded: errors, schedule,
    validators and seen entries are left as they were.
    """
    from pipeline.feeds.registry import FeedNotFound, PreviewFeedRegistry
    from pipeline.fetch.http import GuardedClient
    from pipeline.feeds.poll import poll_feed

    reg = _registry()
    if not enqueue:  # a preview polls through a registry that stores nothing
        reg = PreviewFeedRegistry(reg.redis, reg.settings)
    s = reg.settings
    ids: list[str] = []
    try:
        ids = [reg.resolve(f) for f in feeds or []]
    except FeedNotFound as exc:
        raise _not_found(exc)
    if due:
        ids += [f.id for f in reg.due(limit=limit) if f.id not in ids]
    if not ids:
        raise fail("nothing to poll: name feeds or pass --due")

    def hand_over(refs):
        if not enqueue:
            raise _Preview(refs)
        from workers.tasks import fetch_article

        for ref in refs:
            fetch_article.delay(ref.to_dict())

    from pipeline.logs import reported_by_caller

    results = []
    # the table shows each poll's error and reason and a disabled feed: no log line repeats them
    with GuardedClient(s) as client, reported_by_caller("feed_poll_failed", "feed_disabled"):
        for fid in ids:
            try:
                res = poll_feed(reg, fid, client, s, on_new=hand_over)
                out = res.to_dict()
            except _Preview as p:
                refs = p.args[0]
                out = {"feed_id": fid, "url": reg.get(fid).url, "status": "preview", "reason": None,
                       "new": [r.to_dict() for r in refs], "next_due": None}
            except Exception as exc:  # noqa: BLE001 - e.g. the broker is down: say so, go on
                out = {"feed_id": fid, "url": reg.get(fid).url, "status": "error",
                       "reason": getattr(exc, "reason", type(exc).__name__), "new": [], "next_due": None,
                       "message": str(exc)}
            results.append(out)
    if fmt == Format.json:
        print_json(results)
        return
    now = time.time()
    print_table([{"feed": r["url"], "status": r["status"], "reason": r.get("reason"), "new": len(r["new"]),
                  "http": r.get("http_status"), "next_due": _when(r.get("next_due"), now)} for r in results],
                ["feed", "status", "reason", "new", "http", "next_due"], title=f"polled {len(results)} feeds")
    if not enqueue:
        for r in results:
            for ref in r["new"]:
                console.print(f"  [green]new[/green] {escape(safe_text(ref['title'] or '(no title)'))}  "
                              f"{escape(safe_text(ref['link']))}")


def entry_row(ref) -> dict[str, Any]:
    """What ``feeds parse --entries`` shows of one entry (an :class:`pipeline.models.ArticleRef`):
    ``guid``, ``link``, ``title``, ``published`` (UTC ISO-8601 or null), ``published_unknown_zone``
    (``{"local", "zone"}`` or null), ``shared_link`` and ``warnings`` (reason codes)."""
    return {"guid": ref.guid, "link": ref.link, "title": ref.title, "published": ref.published,
            "published_unknown_zone": ref.published_unknown_zone, "shared_link": ref.shared_link,
            "warnings": list(ref.warnings)}


def parse_file(path: Path, *, url: str | None = None, content_type: str | None = None,
               entries: bool = False) -> dict[str, Any]:
    """Parse one local feed file; never raises. Returns ``{"file", "ok", "entries", "error"}``
    plus ``title``, ``version``, ``bozo`` (classified bozo reason or null), ``skipped``,
    ``dropped`` (entries left out, by reason) and ``encoding_warning`` (null unless invalid
    bytes of a UTF-8 feed were replaced); with ``entries=True`` also ``items``, one
    :func:`entry_row` per entry.

    ``url`` is the address the document is served from (the base of relative links; default a
    ``http://localhost`` URL made of the file's path) and ``content_type`` the Content-Type
    header it is served with (charset, media type; default none). ``entries`` counts the
    article references the file yields (entries with an http(s) link or permalink guid);
    ``skipped`` the entries without one. ``error`` is a reason code.
    """
    from pipeline.errors import FeedError
    from pipeline.feeds.parse import parse_feed
    from pipeline.feeds.registry import feed_id_for

    out: dict[str, Any] = {"file": str(path), "ok": False, "entries": 0, "error": None}
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        out["error"] = "no_such_file"
        out["message"] = f"{path}: no such file"
        return out
    except OSError as exc:
        out["error"] = "unreadable"
        out["message"] = str(exc)
        return out
    url = url or path.resolve().as_uri().replace("file://", "http://localhost", 1)
    headers = {"content-type": content_type} if content_type else None
    try:
        parsed = parse_feed(content, feed_url=url, feed_id=feed_id_for(url), headers=headers)
    except FeedError as exc:
        out["error"] = exc.reason
        out["message"] = str(exc)
        return out
    except Exception as exc:  # noqa: BLE001 - the command promises one result per file
        out["error"] = "parser_crash"
        out["message"] = f"{type(exc).__name__}: {exc}"
        return out
    out.update(ok=True, entries=len(parsed.entries), title=parsed.title, version=parsed.version,
               bozo=parsed.bozo_reason, skipped=parsed.skipped_entries, dropped=dict(parsed.dropped),
               encoding_warning=parsed.encoding_warning)
    if entries:
        out["items"] = [entry_row(ref) for ref in parsed.entries]
    return out


@feeds_app.command("parse")
def parse_cmd(files: list[Path] = typer.Argument(..., help="Feed files (RSS, Atom, RDF, CDF, JSON Feed)."),
              entries: bool = typer.Option(False, "--entries",
                                           help="Print each entry: guid, link, title, published (UTC) and warnings."),
              url: Optional[str] = typer.Option(None, "--url",
                                                help="Address the document is served from (base of relative links)."),
              content_type: Optional[str] = typer.Option(None, "--content-type",
                                                         help="Content-Type header it is served with, "
                                                              "e.g. 'application/rss+xml; charset=utf-8'."),
              fmt: Format = FMT) -> None:
    """Parse local feed files, one result per file (no services needed).

    Shows what a feed will yield before it is added: with ``--entries`` every entry's guid,
    link, title, publication time in UTC (null when the date is missing or in an unknown time
    zone) and any date or encoding warning. ``--url`` and ``--content-type`` apply to every file.
    JSON: a list of ``{"file", "ok", "entries", "error", ...}`` (error: null or a reason code,
    e.g. ``no_such_file``, ``unreadable``, ``not_a_feed``; ``items`` with ``--entries``).
    Exit status 1 when any file fails.
    """
    from rich.progress import Progress

    def one(p: Path) -> dict[str, Any]:
        return parse_file(p, url=url, content_type=content_type, entries=entries)

    results: list[dict[str, Any]] = []
    show_progress = len(files) > 20 and err_console.is_terminal
    if show_progress:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("parsing", total=len(files))
            for p in files:
                results.append(one(p))
                progress.advance(task)
    else:
        results = [one(p) for p in files]
    if fmt == Format.json:
        print_json(results)
        if not all(r["ok"] for r in results):
            raise typer.Exit(1)
        return
    rows = [{"file": r["file"], "ok": "yes" if r["ok"] else "no", "entries": r["entries"],
             "error": r["error"] or (f"bozo: {r['bozo']}" if r.get("bozo") else ""), "title": r.get("title", "")}
            for r in results]
    print_table(rows, ["file", "ok", "entries", "error", "title"], title=f"{len(rows)} files")
    for r in results:
        if r.get("encoding_warning"):
            err_console.print(f"[yellow]{r['file']}: {r['encoding_warning']}[/yellow]")
        if r.get("dropped"):
            err_console.print(f"{r['file']}: entries left out: " + json.dumps(r["dropped"]))
        if entries and r.get("items") is not None:
            print_table([{"published (UTC)": i["published"] or (
                              f"? {i['published_unknown_zone']['local']} {i['published_unknown_zone']['zone']}"
                              if i["published_unknown_zone"] else ""),
                          "title": i["title"], "link": i["link"], "guid": i["guid"],
                          "warnings": ", ".join(i["warnings"] + (["shared_link"] if i["shared_link"] else []))}
                         for i in r["items"]],
                        ["published (UTC)", "title", "link", "guid", "warnings"], title=r["file"])
    failed: dict[str, int] = {}
    for r in results:
        if not r["ok"]:
            failed[r["error"]] = failed.get(r["error"], 0) + 1
    if failed:
        err_console.print("failures by reason: " + json.dumps(failed))
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``feeds`` group."""
    app.add_typer(feeds_app, name="feeds")
