"""``wirewatch enrich PATH``: enrich a local ``.txt`` or ``.html`` file, no services needed."""
from __future__ import annotations

from pathlib import Path

import typer

from pipeline.errors import WirewatchError
from pipeline.settings import get_settings
from wirewatch.output import FORMAT_OPTION_HELP, Format, console, fail, print_json, print_table

#: Largest file accepted, bytes: the fetch stage's default page cap (settings.fetch_max_bytes).
MAX_FILE_BYTES = 5_000_000
#: Suffixes read as HTML pages (main text extracted); anything else is read as plain text.
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})


def read_body(path: Path, url: str | None = None) -> tuple[str, dict]:
    """Return ``(body, meta)`` for a local file.

    ``.html``/``.htm`` pages go through the pipeline's own main-text extraction
    (:func:`pipeline.fetch.extract.extract_article`, after :func:`pipeline.fetch.http.decode_html` for the
    charset); ``meta`` then holds the page's ``title``, ``language``, ``published_at`` and
    ``canonical_url`` when found. Other files are read as UTF-8 text (undecodable bytes
    replaced) and ``meta`` is empty. Raises ``ValueError`` with a readable message for a
    missing, unreadable or empty file, or a page without main text.
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
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{path}: {len(raw):,} bytes is more than the {MAX_FILE_BYTES:,}-byte cap for one article "
                         "(the fetch stage caps pages at 5 MB too)")
    if path.suffix.lower() in HTML_SUFFIXES:
        body, meta = _extract_html(raw, url or path.resolve().as_uri())
        if not body or not body.strip():
            raise ValueError(f"{path}: no main text could be extracted from this HTML page")
        return body, meta
    text = raw.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    if not text.strip():
        raise ValueError(f"{path}: the file has no text")
    from pipeline.fetch.http import looks_binary

    if looks_binary(text):
        raise ValueError(f"{path}: the file is binary, not text")
    return text, {}


def _extract_html(raw: bytes, url: str) -> tuple[str | None, dict]:
    from pipeline.errors import ExtractionError
    from pipeline.fetch.extract import extract_article
    from pipeline.fetch.http import decode_html

    try:
        ex = extract_article(decode_html(raw), url)
    except ExtractionError:
        return None, {}
    meta = {"title": ex.title or None, "language": ex.language, "published_at": ex.published_at,
            "canonical_url": ex.canonical_url if ex.canonical_url and not ex.canonical_url.startswith("file:") else None}
    return ex.body, meta


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
    if doc.get("enrich_truncated_at"):
        console.print(f"[yellow]note: only the first {doc['enrich_truncated_at']:,} characters were enriched (settings.enrich_max_chars)[/yellow]")


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
            body, meta = read_body(path, url)
        except ValueError as exc:
            raise fail(str(exc), code=2)
        try:
            doc = document_for_text(body, title=title or meta.get("title") or "", url=url or meta.get("canonical_url"),
                                    settings=get_settings())
        except WirewatchError as exc:
            raise fail(f"{exc} (reason: {exc.reason})")
        if meta.get("published_at") and not doc.get("published_at"):
            doc["published_at"] = meta["published_at"]
        if fmt == Format.json:
            print_json(doc)
        else:
            _print_summary(doc)
