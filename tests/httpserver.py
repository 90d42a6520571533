"""A real HTTP server on 127.0.0.1 with scripted routes, for tests of everything that fetches.

Use the ``local_server`` fixture (function scope: fresh routes and request log per test)::

    from httpserver import LocalServer, Reply, local_server  # noqa: F401  (pytest fixture)

    def test_x(local_server, settings):
        local_server.add("/feed.xml", FEED_BYTES, content_type="application/rss+xml", etag='"v1"')
        resp = GuardedClient(settings).get(local_server.url("/feed.xml"))
        assert local_server.hits("/feed.xml") == 1

(``tests/`` has no ``__init__.py``; pytest puts it on ``sys.path``, so ``import httpserver``
works from any test module.) Outside pytest: ``with LocalServer() as srv: ...``.

Static routes (:meth:`LocalServer.add`) answer conditional GETs: ``If-None-Match`` against
``etag`` and ``If-Modified-Since`` against ``last_modified`` give 304. Custom routes
(:meth:`LocalServer.route`) are functions ``Request -> Reply``. Every request is recorded in
:attr:`LocalServer.requests` (method, path, query, lower-cased headers).

Built-in scripted routes (query parameters in brackets):

=================================  ==============================================================
``/article``                       a small valid HTML article (UTF-8)
``/slow`` [delay=2]                sleeps ``delay`` seconds before the status line
``/drip`` [chunks=20, interval=0.2] an HTML body sent in chunks, ``interval`` seconds apart
``/redirect/loop``                 302 to itself forever
``/redirect/a``, ``/redirect/b``   302 to each other (a cycle)
``/redirect/chain`` [n=3, to=/article, status=302]  ``n`` redirects, then ``to``
``/redirect/to`` [url, status=302] one redirect to any URL (e.g. a private address)
``/redirect/endless`` [i=0]        302 to ``?i=i+1`` forever (never the same URL twice)
``/huge`` [bytes=10000000, length=1]  an HTML body of ``bytes`` bytes; ``length=0``: chunked, no Content-Length
``/gzip-bomb`` [mb=50]             gzip of ``mb`` MB of zeros, ``Content-Encoding: gzip``
``/gzip``, ``/deflate``, ``/deflate-raw``  the article, compressed (deflate: zlib and raw streams)
``/encoded`` [text, enc=utf-8, header=, meta=, bom=0]  an article encoded in ``enc``; ``header``
                                   is the Content-Type charset declared (omitted when empty), ``meta``
                                   a ``<meta charset>``; ``bom=1`` prepends the encoding's BOM
``/binary``                        random bytes with no Content-Type
``/notype``                        the article with no Content-Type
``/pdf``, ``/json``, ``/image``    non-HTML bodies with their types
``/status/<code>`` [retry_after]   that status (``Retry-After`` header when given)
``/cookie-redirect``               sets a cookie and redirects to itself; with the cookie, the article
``/truncated``                     declares Content-Length 5000, sends 100 bytes and closes
``/headers``                       the request headers as JSON
=================================  ==============================================================
"""
from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test article | Local Gazette</title>
<link rel="canonical" href="/article?utm_source=test">
</head><body><article><h1>Test article</h1>
<p>The river crossing at the northern edge of the valley reopened on Tuesday after three weeks of repairs,
officials said, and the first lorries crossed before dawn.</p>
<p>Traders on both banks had waited for the bridge to reopen since the flood damaged its eastern pier.
"We lost most of a month," said one fruit seller, who asked that her name not be used.</p>
<p>The regional transport office said inspections would continue every week until the end of the season.</p>
</article></body></html>
"""


@dataclass
class Request:
    """One request as the server saw it. ``headers`` has lower-cased names."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    """What a route answers.

    ``body`` (str is UTF-8 encoded); ``content_type`` None sends no Content-Type;
    ``delay_s`` sleeps before the status line; ``chunks`` (an iterable of bytes) replaces
    ``body`` and is sent with chunked encoding, ``chunk_delay_s`` apart; ``send_length``
    False omits Content-Length for a plain body (the connection is then closed after it);
    ``declared_length`` overrides Content-Length (to send a truncated body).
    """

    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunks: Iterable[bytes] | None = None
    chunk_delay_s: float = 0.0
    send_length: bool = True
    declared_length: int | None = None


Handler = Callable[[Request], Reply]


class _Quiet(Exception):
    pass


class _HTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK (about 40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def do_HEAD(self):  # noqa: N802
        self._dispatch(head=True)

    def do_GET(self):  # noqa: N802
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                      {k.lower(): v for k, v in self.headers.items()})
        owner = self.server.owner
        with owner._lock:
            owner.requests.append(req)
        handler = owner._find(parts.path)
        try:
            reply = handler(req) if handler else Reply(404, "not found", "text/plain")
            self._send(reply, head)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, _Quiet):
            self.close_connection = True

    def _send(self, reply: Reply, head: bool) -> None:
        if reply.delay_s:
            time.sleep(reply.delay_s)
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if head:
                return
            for chunk in reply.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
            self.wfile.write(b"0\r\n\r\n")
            return
        if reply.declared_length is not None:
            self.send_header("Content-Length", str(reply.declared_length))
            self.send_header("Connection", "close")
            self.close_connection = True
        elif reply.send_length and reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        elif not reply.send_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head and reply.status not in (204, 304):
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: "LocalServer"

    def handle_error(self, request, client_address):  # noqa: D401 - quiet on client disconnects
        pass


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port) with scripted routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._routes: dict[str, Handler] = {}
        self._prefix_routes: list[tuple[str, Handler]] = []
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._server = _Server((host, port), _HTTPHandler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._install_builtins()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> "LocalServer":
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"local-http-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (handler threads still sleeping are abandoned)."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- routes ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (which may carry a query string)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, handler: Handler, *, prefix: bool = False) -> None:
        """Answer ``path`` (or every path under it with ``prefix=True``) with ``handler``."""
        if prefix:
            self._prefix_routes.append((path, handler))
            self._prefix_routes.sort(key=lambda r: -len(r[0]))
        else:
            self._routes[path] = handler

    def add(self, path: str, body: bytes | str = b"", *, status: int = 200,
            content_type: str | None = "text/html; charset=utf-8", headers: dict[str, str] | None = None,
            etag: str | None = None, last_modified: float | str | None = None, delay_s: float = 0.0,
            gzip_body: bool = False) -> None:
        """Serve a fixed body at ``path``, answering conditional GETs with 304.

        ``etag`` is sent as ``ETag`` and compared with ``If-None-Match``; ``last_modified``
        (epoch seconds or an HTTP date) as ``Last-Modified`` and compared with
        ``If-Modified-Since``. ``gzip_body`` compresses when the client accepts gzip. Calling
        ``add`` again for the same path replaces the body (a feed that changed).
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        lm = formatdate(last_modified, usegmt=True) if isinstance(last_modified, (int, float)) else last_modified

        def handler(req: Request) -> Reply:
            hdrs = dict(headers or {})
            if etag:
                hdrs["ETag"] = etag
            if lm:
                hdrs["Last-Modified"] = lm
            inm = req.headers.get("if-none-match")
            ims = req.headers.get("if-modified-since")
            not_modified = False
            if etag and inm is not None:
                not_modified = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
            elif lm and ims:
                try:
                    not_modified = parsedate_to_datetime(ims) >= parsedate_to_datetime(lm)
                except (TypeError, ValueError):
                    not_modified = False
            if not_modified:
                return Reply(304, b"", None, hdrs, delay_s=delay_s)
            data = raw
            if gzip_body and "gzip" in req.headers.get("accept-encoding", ""):
                data = gzip.compress(raw)
                hdrs["Content-Encoding"] = "gzip"
            return Reply(status, data, content_type, hdrs, delay_s=delay_s)

        self.route(path, handler)

    def _find(self, path: str) -> Handler | None:
        if path in self._routes:
            return self._routes[path]
        for prefix, handler in self._prefix_routes:
            if path.startswith(prefix):
                return handler
        return None

    # -- request log ----------------------------------------------------------------------------

    def hits(self, path: str) -> int:
        """How many requests reached ``path`` (query ignored)."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def last(self, path: str | None = None) -> Request | None:
        """The last request (to ``path`` when given)."""
        with self._lock:
            for r in reversed(self.requests):
                if path is None or r.path == path:
                    return r
        return None

    # -- built-in scripted routes ----------------------------------------------------------------

    def _install_builtins(self) -> None:
        self.route("/article", lambda r: Reply(body=ARTICLE_HTML))
        self.route("/slow", lambda r: Reply(body=ARTICLE_HTML, delay_s=float(r.query.get("delay", "2"))))
        self.route("/drip", self._drip)
        self.route("/redirect/loop", lambda r: Reply(302, "", headers={"Location": "/redirect/loop"}))
        self.route("/redirect/a", lambda r: Reply(302, "", headers={"Location": "/redirect/b"}))
        self.route("/redirect/b", lambda r: Reply(302, "", headers={"Location": "/redirect/a"}))
        self.route("/redirect/chain", self._chain)
        self.route("/redirect/to", lambda r: Reply(int(r.query.get("status", "302")), "",
                                                   headers={"Location": r.query.get("url", "/article")}))
        self.route("/redirect/endless", lambda r: Reply(302, "", headers={
            "Location": f"/redirect/endless?i={int(r.query.get('i', '0')) + 1}"}))
        self.route("/huge", self._huge)
        self.route("/gzip-bomb", self._gzip_bomb)
        self.route("/gzip", lambda r: Reply(body=gzip.compress(ARTICLE_HTML.encode()), headers={"Content-Encoding": "gzip"}))
        self.route("/deflate", lambda r: Reply(body=zlib.compress(ARTICLE_HTML.encode()), headers={"Content-Encoding": "deflate"}))
        self.route("/deflate-raw", self._deflate_raw)
        self.route("/encoded", self._encoded)
        self.route("/binary", lambda r: Reply(body=os.urandom(4096), content_type=None))
        self.route("/notype", lambda r: Reply(body=ARTICLE_HTML, content_type=None))
        self.route("/pdf", lambda r: Reply(body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", content_type="application/pdf"))
        self.route("/json", lambda r: Reply(body='{"title": "not a page"}', content_type="application/json"))
        self.route("/image", lambda r: Reply(body=b"\x89PNG\r\n\x1a\n" + os.urandom(256), content_type="image/png"))
        self.route("/status/", self._status, prefix=True)
        self.route("/cookie-redirect", self._cookie_redirect)
        self.route("/truncated", lambda r: Reply(body=ARTICLE_HTML.encode()[:100], declared_length=5000))
        self.route("/headers", lambda r: Reply(body=json.dumps(r.headers), content_type="application/json"))

    @staticmethod
    def _drip(r: Request) -> Reply:
        n = int(r.query.get("chunks", "20"))
        piece = b"<p>" + b"slow text " * 20 + b"</p>\n"
        chunks = [b"<!DOCTYPE html><html><body>"] + [piece] * n + [b"</body></html>"]
        return Reply(chunks=chunks, chunk_delay_s=float(r.query.get("interval", "0.2")))

    @staticmethod
    def _chain(r: Request) -> Reply:
        n = int(r.query.get("n", "3"))
        to = r.query.get("to", "/article")
        status = int(r.query.get("status", "302"))
        if n <= 0:
            return Reply(status, "", headers={"Location": to})
        return Reply(status, "", headers={"Location": f"/redirect/chain?n={n - 1}&to={quote(to)}&status={status}"})

    @staticmethod
    def _huge(r: Request) -> Reply:
        total = int(r.query.get("bytes", "10000000"))
        with_length = r.query.get("length", "1") == "1"
        line = b"<p>" + b"filler " * 140 + b"</p>\n"
        head = b"<!DOCTYPE html><html><body>"

        def gen():
            sent = 0
            yield head
            sent += len(head)
            while sent < total:
                piece = line[: total - sent]
                sent += len(piece)
                yield piece

        if with_length:
            body = b"".join(gen())
            return Reply(body=body)
        return Reply(chunks=gen())

    _bombs: dict[int, bytes] = {}

    @classmethod
    def _gzip_bomb(cls, r: Request) -> Reply:
        mb = int(r.query.get("mb", "50"))
        if mb not in cls._bombs:
            cls._bombs[mb] = gzip.compress(b"\0" * (mb * 1_000_000), compresslevel=9)
        return Reply(body=cls._bombs[mb], headers={"Content-Encoding": "gzip"})

    @staticmethod
    def _deflate_raw(r: Request) -> Reply:
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return Reply(body=c.compress(ARTICLE_HTML.encode()) + c.flush(), headers={"Content-Encoding": "deflate"})

    @staticmethod
    def _encoded(r: Request) -> Reply:
        enc = r.query.get("enc", "utf-8")
        text = r.query.get("text", "Caf\u00e9 cr\u00e8me, na\u00efve fa\u00e7ade")
        meta = r.query.get("meta", "")
        header = r.query.get("header", "")
        meta_tag = f'<meta charset="{meta}">' if meta else ""
        html = (f"<!DOCTYPE html><html><head>{meta_tag}<title>{text}</title></head>"
                f"<body><article><p>{text}</p></article></body></html>")
        body = html.encode(enc)
        if r.query.get("bom") == "1":
            boms = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
            body = boms[enc.lower()] + body
        ctype = f"text/html; charset={header}" if header else "text/html"
        return Reply(body=body, content_type=ctype)

    @staticmethod
    def _status(r: Request) -> Reply:
        code = int(r.path.rsplit("/", 1)[1])
        hdrs = {}
        if "retry_after" in r.query:
            hdrs["Retry-After"] = r.query["retry_after"]
        if code in (301, 302, 303, 307, 308):
            hdrs["Location"] = r.query.get("to", "/article")
        return Reply(code, f"status {code}", "text/plain", hdrs)

    @staticmethod
    def _cookie_redirect(r: Request) -> Reply:
        if "seen=1" in r.headers.get("cookie", ""):
            return Reply(body=ARTICLE_HTML)
        return Reply(302, "", headers={"Location": "/cookie-redirect", "Set-Cookie": "seen=1; Path=/"})


@pytest.fixture
def local_server():
    """A started :class:`LocalServer` on 127.0.0.1, stopped after the test."""
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()
