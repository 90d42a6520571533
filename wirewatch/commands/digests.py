"""``wirewatch alerts digest --search ID [--period last|current|TIME]``: a saved search's digest
(its matches of one hour or day grouped by story) and whether it was sent."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import typer

from wirewatch.output import FORMAT_OPTION_HELP, Format, fail, print_json, print_table


def digest_cmd(
    search: str = typer.Option(..., "--search", help="Saved search id."),
    period: str = typer.Option("last", "--period", help="last (the latest ended period), current (so far), or a time inside the period (ISO-8601)."),
    fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Show a saved search's digest for one period (its own hourly/daily period and time zone;
    a search in another alert mode is shown by day in UTC) and the period's send status."""
    import redis

    from pipeline.alerts.digests import DigestLedger, build_digest, digest_text, last_completed, period_bounds
    from pipeline.alerts.searches import SavedSearchStore
    from pipeline.settings import get_settings
    from pipeline.dedupe.stories import StoryIndex
    from wirewatch.commands.search import engine_or_fail

    settings = get_settings()
    now = datetime.now(timezone.utc)
    with engine_or_fail() as engine:
        s = SavedSearchStore(engine, settings).get(search)
        if s is None:
            raise fail(f"no saved search {search!r} (see `wirewatch searches list`)")
        kind, tz = s.digest_period, s.digest_timezone
        if period == "last":
            start, end = last_completed(kind, tz, now)
        elif period == "current":
            start, end = period_bounds(kind, tz, now)
        else:
            try:
                at = datetime.fromisoformat(period.replace("Z", "+00:00"))
            except ValueError:
                raise fail(f"--period must be last, current or an ISO-8601 time, not {period!r}")
            start, end = period_bounds(kind, tz, at if at.tzinfo else at.replace(tzinfo=timezone.utc))
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, decode_responses=True)
        try:
            state = DigestLedger(client, settings).state(s.id, start.isoformat(timespec="seconds"))
            stories = StoryIndex(client, settings)
            digest = state.get("digest") or build_digest(engine, s, start, end, stories=stories)
        except redis.exceptions.RedisError as exc:
            raise fail(f"Redis failed ({type(exc).__name__}: {exc})")
    status = state.get("status") or ("not due yet" if end > now else "not sent yet")
    if s.alert_mode != "digest":
        status = f"not a digest search (alert_mode {s.alert_mode})"
    out = {**digest, "status": status, "sent_at": state.get("sent_at"), "channels_done": state.get("channels_done", [])}
    if fmt == Format.json:
        print_json(out)
        return
    print(digest_text(digest))
    print(f"\nstatus: {status}" + (f" at {state['sent_at']}" if state.get("sent_at") else ""))
    if digest["stories"]:
        print_table([{"story": st["title"], "articles": st["count"], "outlets": ", ".join(st["outlets"]),
                      "newest": st["newest"].get("published_at") or ""} for st in digest["stories"]],
                    ["story", "articles", "outlets", "newest"], title="stories")


def register(app: typer.Typer) -> None:
    """Add ``digest`` to the ``alerts`` group (:mod:`wirewatch.commands.alerts`)."""
    from wirewatch.commands.alerts import alerts_app

    alerts_app.command("digest")(digest_cmd)
