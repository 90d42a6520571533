"""``wirewatch enrich PATH``: enrich a local ``.txt`` or ``.html`` file, no services needed."""
from __future__ import annotations

from pathlib import Path

import typer

from pipeline.errors import WirewatchError
from pipeline.settings import get_settings
from wirewatch.output import FORMAT_OPTION_HELP, Format, console, fail, print_json, print_table

#: Suffixes read as HTML pages (main text extracted); anything else is read as plain text.
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})


def read_body(path: Path) -> tuple[str, str | None]:
    """Return ``(body, title_from_page)`` for a local file.

    ``.html``/``.htm`` files go through main-text extraction (the project's
    ``pipeline.extract`` when it offers ``extract_html``/``extract_main_text``, else
    ``trafilatura.extract``); other files are read as UTF-8 text (undecodable bytes replaced).
    Raises ``ValueError`` with a readable message for a missing, unreadable or empty file.
    """
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise ValueError(f"{path}: the file is empty")
    if path.suffix.lower() in HTML_SUFFIXES:
        body, title = _extract_html(raw)
        if not body or not body.strip():
            raise ValueError(f"{path}: no main text could be extracted from this HTML page")
        return body, title
    text = raw.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    if not text.strip():
        raise ValueError(f"{path}: the file has no text")
    return text, None


def _extract_html(raw: bytes) -> tuple[str | None, str | None]:
    html = raw.decode("utf-8", errors="replace")
    try:  # prefer the pipeline's own extraction when it exists
        from pipeline import extract as ext  # type: ignore[attr-defined]

        for name in ("extract_html", "extract_main_text", "extract"):
            fn = getattr(ext, name, None)
            if callable(fn):
                try:
                    res = fn(html)
                except TypeError:
                    continue
                if isinstance(res, str):
                    return res, None
                if isinstance(res, tuple) and res and isinstance(res[0], str):
                    return res[0], (res[1] if len(res) > 1 and isinstance(res[1], str) else None)
                body = getattr(res, "body", None) or getattr(res, "text", None)
                if isinstance(body, str):
                    return body, getattr(res, "title", None)
    except ImportError:
        pass
    import trafilatura

    body = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    title = None
    try:
        meta = trafilatura.extract_metadata(html)
        title = getattr(meta, "title", None) if meta else None
    except Exception:  # noqa: BLE001 - the title is optional
        title = None
    return body, title


def _print_summary(doc: dict) -> None:
    console.print(f"[bold]{doc.get('title') or '(no title)'}[/bold]  id={doc['id']}  language={doc.get('language')}")
    print_table(doc["persons"], ["name", "mentions", "surface_forms"], title="persons")
    print_table(doc["organizations"], ["name", "mentions", "surface_forms"], title="organizations")
    places = [
        {**loc, "coordinates": (f"{loc['lat']:.4f}, {loc['lon']:.4f}" if loc.get("lat") is not None and loc.get("lon") is not None else "")}
        for loc in doc["locations"]
    ]
    print_table(places, ["name", "feature", "country_code", "admin1", "coordinates", "geonames_id", "mentions"], title="places")
    quotes = [{**q, "text": q["text"] if len(q["text"]) <= 90 else q["text"][:87] + "..."} for q in doc["quotes"]]
    print_table(quotes, ["speaker", "speaker_text", "verb", "text"], title="quotes")
    console.print(f"countries: {', '.join(doc['countries']) or '-'}")
    console.print(f"topics: {', '.join(doc['topics']) or '-'}")


def register(app: typer.Typer) -> None:
    """Add the ``enrich`` command."""

    @app.command("enrich")
    def enrich_cmd(
        path: Path = typer.Argument(..., help="A .txt file (plain body) or .html/.htm page."),
        fmt: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
        title: str = typer.Option(None, "--title", help="Article title (default: the page's title, or none)."),
        url: str = typer.Option(None, "--url", help="Article URL (gives the document its id and source domain)."),
    ) -> None:
        """Enrich a local article (persons, organizations, places, quotes, topics) and print the
        enriched document: readable tables, or the contract JSON with --format json."""
        from pipeline.enrich import document_for_text

        try:
            body, page_title = read_body(path)
        except ValueError as exc:
            raise fail(str(exc), code=2)
        try:
            doc = document_for_text(body, title=title or page_title or "", url=url, settings=get_settings())
        except WirewatchError as exc:
            raise fail(f"{exc} (reason: {exc.reason})")
        if fmt == Format.json:
            print_json(doc)
        else:
            _print_summary(doc)
