"""``wirewatch dlq list|show|replay|purge``: look at, replay and purge dead letters.

Replay runs each entry through its kind's handler, all registered in one place:
:mod:`workers.replay` (``notification``, ``task``, ``doc``; :func:`workers.replay.handler_for`).
An entry is removed only when its handler succeeds; otherwise it stays, with its replay count
and error.
"""
from __future__ import annotations

import json
from typing import Any

import typer

from pipeline.deadletter import DeadLetterError, DeadLetters, entry_age_s
from pipeline.settings import Settings, get_settings
from wirewatch.output import Format, fail, print_json, print_table
from workers.replay import Handler, handler_for

def _store(settings: Settings) -> DeadLetters:
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means Redis is not there
        from pipeline.logs import redact_url

        raise fail(f"Redis not reachable at {redact_url(settings.redis_url)} ({exc}); start it with `wirewatch services up`")
    return DeadLetters(client, settings)


def _row(entry: dict) -> dict[str, Any]:
    payload = json.dumps(entry.get("payload"), ensure_ascii=False, default=str)
    return {"id": entry["id"], "kind": entry["kind"], "reason": entry["reason"], "attempts": entry["attempts"],
            "replays": entry.get("replays", 0), "created_at": entry["created_at"],
            "age_s": round(entry_age_s(entry)), "error": (entry.get("error") or "")[:80],
            "payload": payload[:60] + ("…" if len(payload) > 60 else "")}


def register(app: typer.Typer) -> None:
    """Add the ``dlq`` command group."""
    dlq_app = typer.Typer(help="Dead letters: messages that failed for good, with their reason.", no_args_is_help=True)

    @dlq_app.command("list")
    def list_cmd(
        kind: str = typer.Option(None, "--kind", help="Only this kind (a family like 'task' includes 'task:<name>')."),
        limit: int = typer.Option(100, "--limit", help="At most this many entries, oldest first."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """List dead letters, oldest first, with counts per kind."""
        store = _store(get_settings())
        try:
            entries = store.list(kind=kind, limit=limit)
            total = store.count(kind)
        except DeadLetterError as exc:
            raise fail(str(exc))
        if fmt == Format.json:
            print_json({"total": total, "kinds": store.kinds(), "entries": entries})
            return
        print_table([_row(e) for e in entries], ["id", "kind", "reason", "attempts", "replays", "age_s", "error"],
                    title=f"dead letters: {len(entries)} of {total}" + (f" (kind {kind})" if kind else ""))
        kinds = store.kinds()
        if kinds:
            print_table([{"kind": k, "count": n} for k, n in kinds.items()], ["kind", "count"], title="per kind")

    @dlq_app.command("show")
    def show_cmd(entry_id: str = typer.Argument(..., help="Dead-letter id."),
                 fmt: Format = typer.Option(Format.table, "--format", help="table or json")) -> None:
        """Show one dead letter with its whole payload and error."""
        entry = _store(get_settings()).get(entry_id)
        if entry is None:
            raise fail(f"no dead letter with id {entry_id}")
        from pipeline.logs import redact_url

        # Entries written before redaction existed, or task payloads, may hold URLs with
        # credentials, Slack hook paths or Authorization headers: redacted for display.
        entry = json.loads(redact_url(json.dumps(entry, ensure_ascii=False, default=str)))
        if fmt == Format.json:
            print_json(entry)
            return
        rows = [{"field": k, "value": json.dumps(v, ensure_ascii=False, indent=2, default=str) if isinstance(v, (dict, list)) else v}
                for k, v in entry.items()]
        print_table(rows, ["field", "value"], title=f"dead letter {entry_id}")

    @dlq_app.command("replay")
    def replay_cmd(
        entry_id: str = typer.Argument(None, help="Dead-letter id (or --all)."),
        all_: bool = typer.Option(False, "--all", help="Replay every entry (of --kind when given)."),
        kind: str = typer.Option(None, "--kind", help="With --all: only this kind or family."),
        limit: int = typer.Option(1000, "--limit", help="With --all: at most this many."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """Replay dead letters through their kind's handler; an entry is removed only when it succeeds."""
        settings = get_settings()
        store = _store(settings)
        if bool(entry_id) == all_:
            raise fail("give one dead-letter id, or --all")
        if all_:
            entries = store.list(kind=kind, limit=limit)
        else:
            entry = store.get(entry_id)
            if entry is None:
                raise fail(f"no dead letter with id {entry_id}")
            entries = [entry]
        results = []
        handlers: dict[str, Handler] = {}
        for entry in entries:
            row = {"id": entry["id"], "kind": entry["kind"], "ok": False, "error": None}
            try:
                if entry["kind"] not in handlers:
                    handlers[entry["kind"]] = handler_for(entry["kind"], settings)
                store.replay(entry["id"], handlers[entry["kind"]])
                row["ok"] = True
            except Exception as exc:  # noqa: BLE001 - report every failure, keep going
                row["error"] = f"{getattr(exc, 'reason', type(exc).__name__)}: {exc}"
            results.append(row)
        ok = sum(r["ok"] for r in results)
        if fmt == Format.json:
            print_json({"replayed": ok, "failed": len(results) - ok, "results": results})
        else:
            print_table(results, ["id", "kind", "ok", "error"], title=f"replayed {ok} of {len(results)}")
        if ok < len(results):
            raise typer.Exit(1)

    @dlq_app.command("purge")
    def purge_cmd(
        kind: str = typer.Option(None, "--kind", help="Only this kind or family (default: everything)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    ) -> None:
        """Delete dead letters for good."""
        store = _store(get_settings())
        try:
            n = store.count(kind)
        except DeadLetterError as exc:
            raise fail(str(exc))
        if n and not yes:
            typer.confirm(f"delete {n} dead letters{f' of kind {kind}' if kind else ''}?", abort=True)
        purged = store.purge(kind)
        if fmt == Format.json:
            print_json({"purged": purged, "kind": kind})
        else:
            print_table([{"purged": purged, "kind": kind or "(all)"}], ["purged", "kind"])

    app.add_typer(dlq_app, name="dlq")
