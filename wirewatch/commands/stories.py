"""``wirewatch stories list|show``: stories (articles from several outlets on one event)."""
from __future__ import annotations

from typing import Optional

import typer

from wirewatch.commands.search import engine_or_fail, since_from
from wirewatch.output import FORMAT_OPTION_HELP, Format, fail, print_json, print_table

stories_app = typer.Typer(help="Stories: articles from different outlets reporting one event.", no_args_is_help=True)
FMT = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)


def _stories():
    """A StoryIndex on the configured Redis, or a clean exit with a helpful message."""
    import redis

    from pipeline.settings import get_settings
    from pipeline.dedupe.stories import StoryIndex

    s = get_settings()
    client = redis.Redis.from_url(s.redis_url, socket_connect_timeout=3, socket_timeout=10, decode_responses=True)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        raise fail(f"Redis is not reachable at {s.redis_url} ({exc}). Start it with `wirewatch services up`.")
    return StoryIndex(client, s)


def _utc(value: str | None) -> str:
    """An ISO-8601 time as ``YYYY-MM-DD HH:MM`` in UTC (as given when it cannot be parsed)."""
    from datetime import datetime, timezone

    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)[:16]
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _names(items: list[dict], n: int = 3) -> str:
    return ", ".join(f"{i['name']} ({i['count']})" for i in items[:n])


def story_articles(engine, story_id: str, limit: int = 200) -> list[dict]:
    """The indexed articles of a story, oldest first: ``[{"published_at", "source", "title",
    "url", "id", "duplicate_of"}]``. Raises EngineError."""
    body = {"query": {"term": {"story.id": story_id}}, "size": limit,
            "sort": [{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
            "_source": ["id", "title", "url", "published_at", "source.domain", "dedupe.duplicate_of"]}
    hits = engine.search(engine.alias("articles"), body)["hits"]["hits"]
    return [{"published_at": h["_source"].get("published_at"), "source": (h["_source"].get("source") or {}).get("domain"),
             "title": h["_source"].get("title"), "url": h["_source"].get("url"), "id": h["_source"].get("id"),
             "duplicate_of": (h["_source"].get("dedupe") or {}).get("duplicate_of")} for h in hits]


@stories_app.command("list")
def list_cmd(
    since: Optional[str] = typer.Option(None, "--since", help="Only stories active within DURATION (30m, 2h, 1d, 1w)."),
    min_articles: int = typer.Option(1, "--min-articles", min=1, help="Only stories with at least this many articles."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Maximum stories."),
    fmt: Format = FMT,
) -> None:
    """Stories, most recently active first: title, articles, outlets, first and last seen."""
    import redis

    try:
        rows = _stories().list(since_from(since), limit=limit, min_articles=min_articles)
    except redis.exceptions.RedisError as exc:
        raise fail(f"Redis failed ({type(exc).__name__}: {exc})")
    if fmt == Format.json:
        print_json(rows)
        return
    table = [{"id": r["id"][:12], "title": r["title"], "articles": r["article_count"],
              "outlets": _names(r["outlets"]), "countries": ", ".join(c["name"] for c in r["countries"][:4]),
              "first_seen": _utc(r["first_seen"]), "last_seen": _utc(r["last_seen"])} for r in rows]
    print_table(table, ["id", "title", "articles", "outlets", "countries", "first_seen", "last_seen"],
                title=f"{len(rows)} stories")


@stories_app.command("show")
def show_cmd(story_id: str = typer.Argument(..., help="Story id (or its first characters, as `list` prints)."),
             fmt: Format = FMT) -> None:
    """One story: its record (title, outlets, countries, places, most-quoted speakers) and its
    articles in order of publication (from the index)."""
    st = _stories()
    rec = st.get(story_id)
    if rec is None and len(story_id) < 32:  # a prefix from `list`
        matches = [r for r in st.list(None, limit=1000) if r["id"].startswith(story_id)]
        if len(matches) == 1:
            rec = matches[0]
        elif len(matches) > 1:
            raise fail(f"{story_id!r} is the start of {len(matches)} story ids; give more characters")
    if rec is None:
        raise fail(f"no story {story_id!r} (unknown, or expired after story_retention_days)")
    with engine_or_fail() as engine:
        articles = story_articles(engine, rec["id"])
    rec = {**rec, "articles": articles}
    if fmt == Format.json:
        print_json(rec)
        return
    print_table([{"field": k, "value": v if not isinstance(v, list) else _names(v, 10)}
                 for k, v in rec.items() if k != "articles"], ["field", "value"], title=f"story {rec['id']}")
    print_table([{**a, "published_at": _utc(a["published_at"]),
                  "copy": "yes" if a["duplicate_of"] else ""} for a in articles],
                ["published_at", "source", "title", "copy"], title=f"timeline ({len(articles)} indexed articles, UTC)")


def register(app: typer.Typer) -> None:
    """Add the ``stories`` group."""
    app.add_typer(stories_app, name="stories")
