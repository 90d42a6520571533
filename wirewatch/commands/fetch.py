"""``wirewatch fetch URL``: fetch and extract one article through the guarded client.

Prints the article record (a table, or JSON with ``--format json``). A failure prints the
classified error (reason, message, URL, HTTP status) and exits with status 1; with
``--format json`` the error is a JSON object on stdout: ``{"ok": false, "reason": ...,
"message": ..., "url": ..., "status": ..., "retry_after_s": ...}``.
"""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.markup import escape

from pipeline.logs import redact_url
from wirewatch.output import FORMAT_OPTION_HELP, Format, console, err_console, print_json, print_table, safe_text


def register(app: typer.Typer) -> None:
    """Add the ``fetch`` command."""

    @app.command("fetch")
    def fetch_cmd(
        url: str = typer.Argument(..., help="Article URL (http or https)."),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
        allow_host: Optional[List[str]] = typer.Option(
            None, "--allow-host", help="Also exempt this host/IP/CIDR from the SSRF guard (repeatable), e.g. 127.0.0.1."),
        summary: str = typer.Option("", "--summary", help="Fallback body used when the page cannot be fetched or extracted."),
    ) -> None:
        """Fetch one article and print its record, or the classified error (exit status 1)."""
        from pipeline.errors import WirewatchError
        from pipeline.fetch.article import fetch_article
        from pipeline.fetch.http import GuardedClient
        from pipeline.models import ArticleRef
        from pipeline.settings import get_settings

        settings = get_settings()
        if allow_host:
            settings = settings.model_copy(update={"fetch_allow_hosts": [*settings.fetch_allow_hosts, *allow_host]})
        ref = ArticleRef(feed_id="", feed_url="", link=url, guid=url, summary=summary)
        from contextlib import nullcontext

        from pipeline.logs import reported_by_caller

        # the command prints the classified error itself; with --summary the fallback record is
        # printed instead, and the fetch_failed warning says why
        quiet = nullcontext() if summary else reported_by_caller("fetch_failed")
        try:
            with GuardedClient(settings) as client, quiet:
                article = fetch_article(ref, client, settings)
        except WirewatchError as exc:
            err = {"ok": False, "reason": exc.reason, "message": str(exc), "url": getattr(exc, "url", None) or url,
                   "status": getattr(exc, "status", None), "retry_after_s": getattr(exc, "retry_after_s", None)}
            if fmt == Format.json:
                print_json(err)
            else:
                msg = str(exc)
                shown = msg if msg.startswith(exc.reason) else f"{exc.reason}: {msg}"
                err_console.print(f"[red]error:[/red] {escape(safe_text(redact_url(shown)))}", markup=True, highlight=False)
            raise typer.Exit(1)
        record = article.to_dict()
        if fmt == Format.json:
            print_json(record)
            return
        rows = [{"field": k, "value": v} for k, v in record.items() if k != "body"]
        rows.append({"field": "body", "value": f"{len(article.body)} characters"})
        print_table(rows, ["field", "value"], title=article.title or url)
        console.print(safe_text(article.body, 2000), markup=False, highlight=False)
