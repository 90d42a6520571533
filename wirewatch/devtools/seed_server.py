"""A local HTTP server for the demo's sample site (``seeds/site``) and the user's own texts.

``SeedServer`` serves every file under ``root`` on 127.0.0.1 with the placeholder
``{{BASE_URL}}`` in ``.xml`` and ``.html`` files replaced by the server's base URL (for
example ``http://127.0.0.1:41733``), so feeds and pages carry absolute links that work on
whichever port the server got. Feeds are the ``.xml`` files in ``root/feeds/``.

With ``extra_articles_dir``, every ``.txt`` and ``.html`` file in that folder (not recursive)
becomes an article of one more RSS 2.0 feed, ``/extra/feed.xml``: a ``.html`` file is served
as it is, a ``.txt`` file as a minimal HTML page (see :func:`text_to_html`). File names may
contain spaces or any Unicode; they are percent-encoded in the URLs.

Responses carry ``ETag`` and ``Last-Modified`` and answer conditional GETs with 304, like a
well-behaved news site. The server runs in a daemon thread (``ThreadingHTTPServer``).

Example::

    with SeedServer() as srv:           # srv.base_url is set on entry
        print(srv.feed_urls, srv.expected_articles)
"""
from __future__ import annotations

import hashlib
import html
import mimetypes
import threading
import xml.etree.ElementTree as ET
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pipeline.logs import get_logger

log = get_logger(__name__)

#: The sample site shipped with the repository.
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "seeds" / "site"
#: Placeholder replaced by the base URL in served ``.xml`` and ``.html`` files.
PLACEHOLDER = "{{BASE_URL}}"
#: Path of the feed made from ``extra_articles_dir``.
EXTRA_FEED_PATH = "/extra/feed.xml"
EXTRA_ARTICLE_PREFIX = "/extra/a/"
#: A first line longer than this is body text, not a title (characters).
MAX_TITLE_CHARS = 150

_ATOM = "{http://www.w3.org/2005/Atom}"
_TYPES = {".xml": "application/xml; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".htm": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
          ".md": "text/markdown; charset=utf-8", ".opml": "text/x-opml; charset=utf-8"}


def _decode(data: bytes) -> str:
    """Decode file bytes: UTF-8 (with or without BOM), else Windows-1252 (never fails)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _title_from_name(name: str) -> str:
    stem = Path(name).stem
    return " ".join(stem.replace("_", " ").replace("-", " ").split()) or name


def split_title(text: str, file_name: str) -> tuple[str, list[str]]:
    """Split a plain-text article into ``(title, paragraphs)``.

    Paragraphs are blocks separated by blank lines, with the lines of a block joined by one
    space. The first block is the title when it is a single line of at most
    :data:`MAX_TITLE_CHARS` characters that does not end like a sentence (``.``, ``!``,
    ``?``, ``:``, ``;`` or a closing quote after one); otherwise the title comes from the
    file name (``my_story-2.txt`` -> ``my story 2``).
    """
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(" ".join(line.split()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    paragraphs = [" ".join(b) for b in blocks]
    if len(blocks) > 1 and len(blocks[0]) == 1:
        first = paragraphs[0]
        sentence_end = first.rstrip("'\"\u2019\u201d)").endswith((".", "!", "?", ":", ";"))
        if len(first) <= MAX_TITLE_CHARS and not sentence_end:
            return first, paragraphs[1:]
    return _title_from_name(file_name), paragraphs


def text_to_html(text: str, file_name: str, canonical_url: str | None = None) -> str:
    """Render a plain-text article as a minimal HTML5 page (everything HTML-escaped).

    Title per :func:`split_title`; one ``<p>`` per paragraph inside ``<article>``; a
    ``<link rel="canonical">`` when ``canonical_url`` is given.
    """
    title, paragraphs = split_title(text, file_name)
    esc = html.escape
    canon = f'<link rel="canonical" href="{esc(canonical_url)}">\n' if canonical_url else ""
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n{canon}</head>\n<body>\n<article>\n<h1>{esc(title)}</h1>\n"
        f"{body}\n</article>\n</body>\n</html>\n"
    )


class BackgroundSite:
    """Lifecycle shared by the local sites (:class:`SeedServer`, the load generator's
    ``GeneratedSite``): a ``ThreadingHTTPServer`` in ``self._httpd`` served by a daemon thread
    in ``self._thread``; subclasses bind and start them in ``start()`` and set ``base_url``."""

    base_url: str | None = None
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> str:  # pragma: no cover - every subclass defines it
        """Bind, start serving and return the base URL."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _require_started(self) -> str:
        """The base URL; RuntimeError when the site is not started."""
        if self.base_url is None:
            raise RuntimeError(f"{type(self).__name__} is not started: call start() first")
        return self.base_url


class SeedServer(BackgroundSite):
    """Serve the sample site (and optionally a folder of the user's texts) on 127.0.0.1.

    ``root``: folder with ``feeds/*.xml`` and the article pages; ``extra_articles_dir``: a
    folder of ``.txt``/``.html`` files served as the feed ``/extra/feed.xml``; ``host`` and
    ``port`` (0 picks a free port). Raises ``FileNotFoundError`` when ``root`` (or a given
    ``extra_articles_dir``) is not a folder, and ``OSError`` when the port cannot be bound.
    """

    def __init__(self, root: Path = DEFAULT_ROOT, extra_articles_dir: Path | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"seed site folder not found: {self.root}")
        self.extra_dir = Path(extra_articles_dir).resolve() if extra_articles_dir is not None else None
        if self.extra_dir is not None and not self.extra_dir.is_dir():
            raise FileNotFoundError(f"articles folder not found: {self.extra_dir}")
        self.host = host
        self.port = port
        self.base_url: str | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> str:
        """Bind, start serving in a daemon thread and return the base URL (no trailing slash).
        Calling it again while running returns the same URL."""
        if self._httpd is not None:
            return self.base_url  # type: ignore[return-value]
        server = self

        class Handler(_Handler):
            seed = server

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        self.base_url = f"http://{shown}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="seed-server", daemon=True)
        self._thread.start()
        log.info("seed_server_started", base_url=self.base_url, root=str(self.root),
                 extra=str(self.extra_dir) if self.extra_dir else None)
        return self.base_url

    def extra_files(self) -> list[Path]:
        """The ``.txt``/``.html``/``.htm`` files of ``extra_articles_dir``, sorted by name."""
        if self.extra_dir is None:
            return []
        return sorted(p for p in self.extra_dir.iterdir()
                      if p.is_file() and p.suffix.lower() in (".txt", ".html", ".htm"))

    def extra_article_url(self, path: Path) -> str:
        """URL of one extra article (its file name percent-encoded)."""
        return f"{self._require_started()}{EXTRA_ARTICLE_PREFIX}{quote(path.name, safe='', errors='surrogateescape')}"

    @property
    def feed_urls(self) -> list[str]:
        """Absolute URLs of every feed: ``root/feeds/*.xml`` sorted, then the extra feed."""
        base = self._require_started()
        urls = [f"{base}/feeds/{quote(p.name)}" for p in sorted((self.root / "feeds").glob("*.xml"))]
        if self.extra_dir is not None:
            urls.append(base + EXTRA_FEED_PATH)
        return urls

    @property
    def article_urls(self) -> list[str]:
        """Absolute URLs of every article linked from the feeds (each once, in feed order)."""
        self._require_started()
        urls: list[str] = []
        for p in sorted((self.root / "feeds").glob("*.xml")):
            xml = self.render(p.read_bytes(), ".xml")
            urls.extend(feed_links(xml))
        urls.extend(self.extra_article_url(p) for p in self.extra_files())
        seen: set[str] = set()
        out = []
        for u in urls:
            if u not in seen:
                seen.add(u)
                out.append(u)
        return out

    @property
    def expected_articles(self) -> int:
        """How many articles the feeds lead to (sample site plus extra files)."""
        return len(self.article_urls)

    def render(self, data: bytes, suffix: str) -> bytes:
        """Replace :data:`PLACEHOLDER` with the base URL in ``.xml``/``.html`` content."""
        if suffix in (".xml", ".html", ".htm") and self.base_url:
            return data.replace(PLACEHOLDER.encode(), self.base_url.encode())
        return data

    def extra_feed(self) -> bytes:
        """RSS 2.0 feed of the extra articles (title per file, newest-first by file mtime)."""
        base = self._require_started()
        files = sorted(self.extra_files(), key=lambda p: p.stat().st_mtime, reverse=True)
        items = []
        for p in files:
            url = self.extra_article_url(p)
            if p.suffix.lower() == ".txt":
                title = split_title(_decode(p.read_bytes()), p.name)[0]
            else:
                title = _html_title(_decode(p.read_bytes())) or _title_from_name(p.name)
            items.append(
                "<item>"
                f"<title>{html.escape(title)}</title><link>{html.escape(url)}</link>"
                f"<guid isPermaLink=\"true\">{html.escape(url)}</guid>"
                f"<pubDate>{formatdate(p.stat().st_mtime, usegmt=True)}</pubDate>"
                "</item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Local articles</title><link>{html.escape(base)}/extra/</link>"
            "<description>Files from the folder given to wirewatch demo --articles</description>"
            + "".join(items) + "</channel></rss>\n"
        ).encode("utf-8")

    def resolve(self, url_path: str) -> tuple[bytes, str, float] | None:
        """Return ``(body, content_type, mtime)`` for a request path, or None (404)."""
        path = unquote(urlsplit(url_path).path, errors="surrogateescape")
        if self.extra_dir is not None:
            if path == EXTRA_FEED_PATH:
                mtimes = [p.stat().st_mtime for p in self.extra_files()] or [self.extra_dir.stat().st_mtime]
                return self.extra_feed(), "application/rss+xml; charset=utf-8", max(mtimes)
            if path.startswith(EXTRA_ARTICLE_PREFIX):
                name = path[len(EXTRA_ARTICLE_PREFIX):]
                if "/" in name or name in ("", ".", ".."):
                    return None
                f = self.extra_dir / name
                if f not in self.extra_files():
                    return None
                raw = f.read_bytes()
                if f.suffix.lower() == ".txt":
                    page = text_to_html(_decode(raw), f.name, canonical_url=self.extra_article_url(f))
                    return page.encode("utf-8"), "text/html; charset=utf-8", f.stat().st_mtime
                return raw, "text/html; charset=utf-8", f.stat().st_mtime
        rel = path.lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        f = (self.root / rel).resolve()
        if not f.is_relative_to(self.root) or not f.is_file():
            return None
        ctype = _TYPES.get(f.suffix.lower()) or (mimetypes.guess_type(f.name)[0] or "application/octet-stream")
        if f.parent.name == "feeds" and f.suffix == ".xml":
            ctype = "application/atom+xml; charset=utf-8" if b"<feed" in f.read_bytes()[:400] else \
                "application/rss+xml; charset=utf-8"
        return self.render(f.read_bytes(), f.suffix.lower()), ctype, f.stat().st_mtime


def _html_title(page: str) -> str | None:
    lo = page.lower()
    i = lo.find("<title")
    if i < 0:
        return None
    j = lo.find(">", i)
    k = lo.find("</title>", j)
    if j < 0 or k < 0:
        return None
    return html.unescape(page[j + 1:k]).strip() or None


def feed_links(xml: bytes) -> list[str]:
    """Article links of an RSS 2.0 (``item/link``) or Atom 1.0 (``entry/link`` with
    ``rel="alternate"`` or no rel) document. Raises ``xml.etree.ElementTree.ParseError``."""
    tree = ET.fromstring(xml)
    links: list[str] = []
    if tree.tag == f"{_ATOM}feed":
        for entry in tree.iter(f"{_ATOM}entry"):
            for link in entry.findall(f"{_ATOM}link"):
                if link.get("rel", "alternate") == "alternate" and link.get("href"):
                    links.append(link.get("href").strip())
                    break
    else:
        for item in tree.iter("item"):
            link = item.findtext("link")
            if link and link.strip():
                links.append(link.strip())
    return links


class _Handler(BaseHTTPRequestHandler):
    seed: SeedServer
    server_version = "WirewatchSeed/1.0"

    def log_message(self, fmt: str, *args) -> None:  # quiet: the demo has its own output
        log.debug("seed_request", line=fmt % args)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        try:
            found = self.seed.resolve(self.path)
        except OSError:
            found = None
        if found is None:
            body = b"not found\n"
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        body, ctype, mtime = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        last_modified = formatdate(int(mtime), usegmt=True)
        if self._not_modified(etag, int(mtime)):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return int(parsedate_to_datetime(ims).timestamp()) >= mtime
            except (TypeError, ValueError):
                return False
        return False
