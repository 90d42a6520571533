"""The one guarded HTTP client every stage uses to fetch feeds and pages (httpx underneath).

What :meth:`GuardedClient.get` guarantees, hop by hop:

- **SSRF guard** (:mod:`pipeline.fetch.ssrf`): only http/https; the host is resolved and refused when
  it is loopback, private, link-local, multicast, reserved, unspecified or a cloud metadata
  address; checked before the first request and before every redirect, and again at connect
  time on the address actually connected to (DNS rebinding). ``settings.fetch_allow_hosts``
  is the allowlist.
- **Redirects** are followed by hand (at most ``settings.fetch_max_redirects``, default 5; a
  cycle back to a URL already visited is a loop unless the redirect set a cookie), so the
  guard sees every hop and the caller sees each ``(status, location)`` (a feed poller stores
  a 301's new URL).
- **Timeouts**: connect (``fetch_connect_timeout_s``), between two reads
  (``fetch_read_timeout_s``) and a wall-clock cap over all hops and the body
  (``fetch_total_timeout_s``, checked between reads, so the worst case is total + read).
- **Body cap**: ``fetch_max_bytes`` (default 5 MB) on both the bytes received and the bytes
  after gzip/deflate decoding, streamed and cut off; a ``Content-Length`` above it is refused
  before reading. A decoded body that overflows the cap while decoding at more than
  ``fetch_bomb_ratio`` (default 100) bytes per received byte is a ``decompression_bomb``.
  Ordinary HTML compresses 5-10x with gzip, a run of zeros about 1000x (zlib's maximum), so
  100 separates the two with a wide margin.
- **Articles** (``kind="article"``): only ``text/html`` and ``application/xhtml+xml``; a
  missing or ``application/octet-stream`` type is sniffed from the first bytes.
- **Status**: 2xx and 304 are results; 410 is ``gone``; 429 and 503 are ``rate_limited`` with
  ``retry_after_s`` from ``Retry-After`` (seconds or an HTTP date, RFC 9110 section 10.2.3);
  other 4xx/5xx are ``http_error`` (transient for 5xx, 408 and 425).

Every failure is a :class:`~pipeline.errors.FetchError` whose ``reason`` is one of: ``blocked``,
``bad_url``, ``timeout``, ``connect_error``, ``too_large``, ``not_html``, ``http_error``,
``gone``, ``rate_limited``, ``redirect_loop``, ``decompression_bomb``, ``bad_encoding`` (an
unsupported or corrupt Content-Encoding; :func:`decode_html` uses it for undecodable text) and
``host_busy`` (from the politeness limiter).

A client is meant for one thread (Celery's prefork workers each build their own); it keeps
no cookies between two calls of ``get``.
"""
from __future__ import annotations

import codecs
import contextlib
import functools
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.errors import FetchError
from pipeline.logs import get_logger
from pipeline.retry import parse_retry_after
from pipeline.settings import Settings
from pipeline.fetch.ssrf import Allowlist, GuardedBackend, check_url

log = get_logger(__name__)

Kind = Literal["feed", "article", "any"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Statuses whose retry may succeed (RFC 9110: 408 Request Timeout, 425 Too Early; 5xx).
TRANSIENT_STATUSES = frozenset({408, 425, 500, 502, 504})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Types that say nothing about the body; an article with one of them is sniffed.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
ACCEPT = {
    "article": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml;q=0.9,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "any": "*/*",
}


@dataclass
class HttpResponse:
    """A fetched response.

    ``url`` is the final URL after redirects; ``status`` a 2xx, or a 3xx that is not followed
    (304 Not Modified is a result, not an error); ``headers`` has lower-cased names (repeated
    headers joined with ", "); ``content`` is the body after gzip/deflate decoding, at most
    ``fetch_max_bytes``; ``redirects`` lists ``(status, location)`` of each redirect followed;
    ``elapsed_s`` is wall-clock seconds over all hops; ``received_bytes`` counts bytes as sent
    on the wire (before decoding).
    """

    url: str
    status: int
    headers: dict[str, str]
    content: bytes
    redirects: list[tuple[int, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    received_bytes: int = 0

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of Content-Type, or None."""
        return _charset_param(self.headers.get("content-type", ""))

    @property
    def permanent_redirect(self) -> str | None:
        """The new URL when every redirect followed was permanent (301/308), else None."""
        if self.redirects and all(s in (301, 308) for s, _ in self.redirects):
            return self.redirects[-1][1]
        return None


@functools.lru_cache(maxsize=1)
def _ssl_context():
    """One verifying TLS context per process (loading the CA bundle takes tens of ms)."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's HTTP transport whose connections go through :class:`~pipeline.fetch.ssrf.GuardedBackend`.

    No proxies from the environment (a proxy would make the address check meaningless).
    The connection pool is rebuilt with the guarded network backend: httpx does not expose that
    parameter, so this replaces the ``_pool`` attribute httpx's own ``__init__`` sets.
    """

    def __init__(self, allow: Allowlist, *, max_connections: int = 20):
        import httpcore

        ctx = _ssl_context()
        super().__init__(verify=ctx, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ctx,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow),
        )


class GuardedClient:
    """The guarded HTTP client (see the module docstring for every rule).

    ``transport`` replaces the network transport (tests may pass ``httpx.MockTransport``; the
    URL check still runs, the connect-time check then does not). ``limiter`` is a
    :class:`pipeline.fetch.politeness.Limiter` (e.g. ``RedisHostLimiter``) applied to every hop; None means no politeness.
    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None, limiter=None):
        self.settings = settings
        self.allow = Allowlist.parse(settings.fetch_allow_hosts)
        self.limiter = limiter
        self._client = httpx.Client(
            transport=transport or GuardedTransport(self.allow),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent_header, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> "GuardedClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def _timeout(self, deadline: float, url: str) -> httpx.Timeout:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"total timeout of {self.settings.fetch_total_timeout_s:g}s", reason="timeout",
                             transient=True, url=url)
        s = self.settings
        return httpx.Timeout(connect=min(s.fetch_connect_timeout_s, left), read=min(s.fetch_read_timeout_s, left),
                             write=min(s.fetch_read_timeout_s, left), pool=min(s.fetch_connect_timeout_s, left))

    def get(self, url: str, *, headers: dict[str, str] | None = None, kind: Kind = "any") -> HttpResponse:
        """GET ``url`` under every guard and return the final response.

        ``headers`` are added to each hop (e.g. ``If-None-Match``); ``kind`` picks the Accept
        header and, for ``"article"``, refuses non-HTML bodies. Raises :class:`FetchError`
        (reasons in the module docstring).
        """
        start = time.monotonic()
        deadline = start + self.settings.fetch_total_timeout_s
        req_headers = {"Accept": ACCEPT.get(kind, "*/*")}
        req_headers.update(headers or {})
        redirects: list[tuple[int, str]] = []
        seen = {url}
        current = url
        self._client.cookies.clear()
        try:
            while True:
                check_url(current, self.allow, timeout_s=self.settings.fetch_connect_timeout_s)
                host = urlsplit(current).hostname or ""
                slot = self.limiter.slot(host) if self.limiter is not None else contextlib.nullcontext()
                with slot:
                    resp = self._send(current, req_headers, deadline)
                    try:
                        location = resp.headers.get("location")
                        if resp.status_code in REDIRECT_STATUSES and location:
                            nxt = self._next_hop(current, location, resp, redirects, seen)
                            current = nxt
                            continue
                        self._check_status(resp, current, host)
                        if kind == "article":
                            self._check_article_type(resp, current)
                        content, received = self._read_body(resp, current, deadline)
                    finally:
                        resp.close()
                out = HttpResponse(
                    url=current,
                    status=resp.status_code,
                    headers=_flat_headers(resp.headers),
                    content=content,
                    redirects=redirects,
                    elapsed_s=time.monotonic() - start,
                    received_bytes=received,
                )
                if kind == "article" and out.media_type in UNKNOWN_TYPES and out.status != 304 and not looks_like_html(content):
                    raise FetchError("not HTML: no Content-Type and the body does not look like HTML", reason="not_html",
                                     url=current, status=out.status)
                log.debug("http_get", url=url, final_url=current, status=out.status, bytes=len(content),
                          elapsed_s=round(out.elapsed_s, 3))
                return out
        finally:
            self._client.cookies.clear()

    # -- one hop ----------------------------------------------------------------------------

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        try:
            request = self._client.build_request("GET", url, headers=headers, timeout=self._timeout(deadline, url))
            return self._client.send(request, stream=True)
        except FetchError as exc:
            exc.url = exc.url or url
            raise
        except httpx.TimeoutException as exc:
            raise FetchError(f"{type(exc).__name__}: {url}", reason="timeout", transient=True, url=url) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FetchError(f"bad URL {url!r}: {exc}", reason="bad_url", url=url) from exc
        except httpx.TransportError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}", reason="connect_error", transient=True, url=url) from exc

    def _next_hop(self, current: str, location: str, resp: httpx.Response, redirects: list, seen: set) -> str:
        nxt = urljoin(current, location.strip())
        redirects.append((resp.status_code, nxt))
        if len(redirects) > self.settings.fetch_max_redirects:
            raise FetchError(f"more than {self.settings.fetch_max_redirects} redirects (last to {nxt})",
                             reason="redirect_loop", url=current, status=resp.status_code)
        sets_cookie = "set-cookie" in resp.headers
        if nxt in seen and not sets_cookie:
            raise FetchError(f"redirect cycle back to {nxt}", reason="redirect_loop", url=current,
                             status=resp.status_code)
        seen.add(nxt)
        return nxt

    def _check_status(self, resp: httpx.Response, url: str, host: str) -> None:
        status = resp.status_code
        if status < 400:
            return
        if status == 410:
            raise FetchError(f"410 Gone: {url}", reason="gone", status=status, url=url)
        if status in (429, 503):
            retry = parse_retry_after(resp.headers.get("retry-after"))
            if retry is not None and self.limiter is not None:
                self.limiter.defer(host, retry)
            wait = f", retry after {retry:g}s" if retry is not None else ""
            raise FetchError(f"{status} from {host}{wait}", reason="rate_limited", transient=True, status=status,
                             retry_after_s=retry, url=url)
        raise FetchError(f"HTTP {status}: {url}", reason="http_error", transient=status in TRANSIENT_STATUSES or status >= 500,
                         status=status, url=url)

    @staticmethod
    def _check_article_type(resp: httpx.Response, url: str) -> None:
        if resp.status_code == 304:
            return
        media = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media in HTML_TYPES or media in UNKNOWN_TYPES:
            return
        raise FetchError(f"not HTML: Content-Type {media}", reason="not_html", status=resp.status_code, url=url)

    def _read_body(self, resp: httpx.Response, url: str, deadline: float) -> tuple[bytes, int]:
        cap = self.settings.fetch_max_bytes
        declared = resp.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"Content-Length {declared} > cap {cap}", reason="too_large", url=url, status=resp.status_code)
        coding = resp.headers.get("content-encoding", "identity").strip().lower()
        decoder = _BodyDecoder(coding, url)
        parts: list[bytes] = []
        received = decoded = 0
        try:
            for chunk in resp.iter_raw():  # no chunk_size: a size would buffer until it is reached
                received += len(chunk)
                if received > cap:
                    raise FetchError(f"body over the cap of {cap} bytes", reason="too_large", url=url,
                                     status=resp.status_code)
                out = decoder.feed(chunk, cap - decoded + 1)
                decoded += len(out)
                if decoded > cap:
                    ratio = decoded / max(decoder.consumed, 1)
                    if decoder.compressed and ratio >= self.settings.fetch_bomb_ratio:
                        raise FetchError(f"{coding} body expands past {cap} bytes from {decoder.consumed} bytes "
                                         f"(ratio {ratio:.0f})", reason="decompression_bomb", url=url,
                                         status=resp.status_code)
                    raise FetchError(f"decoded body over the cap of {cap} bytes", reason="too_large", url=url,
                                     status=resp.status_code)
                parts.append(out)
                if time.monotonic() > deadline:
                    raise FetchError(f"total timeout of {self.settings.fetch_total_timeout_s:g}s while reading the body",
                                     reason="timeout", transient=True, url=url)
        except httpx.TimeoutException as exc:
            raise FetchError(f"{type(exc).__name__} while reading the body", reason="timeout", transient=True,
                             url=url) from exc
        except httpx.TransportError as exc:
            raise FetchError(f"{type(exc).__name__} while reading the body: {exc}", reason="connect_error",
                             transient=True, url=url) from exc
        return b"".join(parts), received


class _BodyDecoder:
    """Incremental gzip/deflate decoding with a bound on each call's output."""

    def __init__(self, coding: str, url: str):
        self.url = url
        codings = [c.strip() for c in coding.split(",") if c.strip() and c.strip() != "identity"]
        if len(codings) > 1:
            raise FetchError(f"unsupported Content-Encoding {coding!r}", reason="bad_encoding", url=url)
        self.coding = codings[0] if codings else "identity"
        if self.coding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {coding!r}", reason="bad_encoding", url=url)
        self.compressed = self.coding != "identity"
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.coding in ("gzip", "x-gzip") else None
        self._pending = b""
        #: Compressed bytes decoded so far (input the decoder actually used).
        self.consumed = 0

    def feed(self, chunk: bytes, max_out: int) -> bytes:
        """Decode ``chunk``; return at most ``max_out`` bytes (more input left means over the cap)."""
        if not self.compressed:
            return chunk
        if self._d is None:  # deflate: a zlib stream (RFC 1950) or, from some servers, raw deflate
            self._pending += chunk
            if len(self._pending) < 2:
                return b""
            b0, b1 = self._pending[0], self._pending[1]
            zlib_header = (b0 & 0x0F) == 8 and ((b0 << 8) | b1) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            chunk, self._pending = self._pending, b""
        try:
            out = self._d.decompress(chunk, max_out)
            # A gzip body may hold several members (RFC 1952 section 2.2).
            while self._d.eof and self._d.unused_data and len(out) < max_out and self.coding != "deflate":
                rest = self._d.unused_data
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += self._d.decompress(rest, max_out - len(out))
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.coding} body: {exc}", reason="bad_encoding", url=self.url) from exc
        # Input left over means the output limit stopped decoding: only what was used counts.
        self.consumed += len(chunk) - len(self._d.unconsumed_tail)
        return out


def _flat_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# ---------------------------------------------------------------------------------------------
# Text decoding
# ---------------------------------------------------------------------------------------------

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+\-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:+\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:+\-]+)["']""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Labels that mean windows-1252 on the web (WHATWG Encoding Standard, "windows-1252" labels),
#: plus labels Python does not know.
_LABEL_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "iso_8859-1": "cp1252", "windows-1252": "cp1252", "x-cp1252": "cp1252",
    "utf8mb4": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-sjis": "shift_jis", "x-user-defined": "cp1252",
}
#: How many bytes of the document are searched for a <meta charset> (the HTML standard says 1024;
#: real pages put scripts and comments first, so we look further).
META_SNIFF_BYTES = 4096


def _charset_param(content_type: str) -> str | None:
    m = _CHARSET_PARAM.search(content_type or "")
    return m.group(1) if m else None


def normalize_charset(label: str | None) -> str | None:
    """Map a charset label to a Python codec name, or None when it is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _LABEL_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def looks_like_html(body: bytes) -> bool:
    """Sniff the first bytes for an HTML document (doctype, ``<html``, ``<head``, ``<body``)."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return True
    if head.startswith(b"<?xml") and b"<html" in body[:2048].lower():
        return True
    return b"<html" in head or b"<body" in head


#: Control characters other than tab, line feed, form feed and carriage return, and U+FFFD.
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")


def looks_binary(text: str) -> bool:
    """True when more than 2% of the first 20,000 characters are control characters or
    U+FFFD replacement characters: the "text" is really binary data."""
    if not text:
        return False
    sample = text[:20000]
    controls = len(_BINARY_CHARS.findall(sample))
    return controls / len(sample) > 0.02


def decode_html(resp: HttpResponse | bytes, content_type: str | None = None) -> str:
    """Decode a fetched page (or raw bytes) to text.

    Order (the HTML standard's, with one deliberate exception): a byte-order mark wins; then
    the Content-Type ``charset``; then ``<meta charset>`` / ``http-equiv`` in the first
    :data:`META_SNIFF_BYTES`; then an XML declaration; then detection with charset_normalizer;
    UTF-8 last. A declared charset that does not decode the bytes strictly is skipped (servers
    lie), except declared UTF-8 that is UTF-8 but for a few invalid bytes: those are replaced
    (:func:`decode_utf8_lenient`, logged as ``page_encoding_repaired``). Exception: when the declared charset is a single-byte one (ISO-8859-1 and friends)
    but the bytes are valid UTF-8 with non-ASCII sequences, UTF-8 is used: servers often send
    ``charset=iso-8859-1`` by default for UTF-8 pages, and Latin-1 text that is also valid
    multi-byte UTF-8 practically never occurs. Labels are mapped as the WHATWG Encoding
    Standard does (``iso-8859-1`` and ``us-ascii`` mean windows-1252).

    Raises :class:`FetchError` ``bad_encoding`` when nothing decodes the bytes to text (binary
    data, or bytes no candidate decodes without errors).
    """
    if isinstance(resp, HttpResponse):
        body, ctype, url = resp.content, resp.headers.get("content-type", ""), resp.url
    else:
        body, ctype, url = resp, content_type or "", None
    if not body:
        return ""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return _strict(body[len(bom):], enc, url)

    candidates: list[str] = []
    header = normalize_charset(_charset_param(ctype))
    if header:
        candidates.append(header)
    head = body[:META_SNIFF_BYTES]
    m = _META_CHARSET.search(head)
    if m:
        meta = normalize_charset(m.group(1).decode("ascii", "ignore"))
        # A page decoded as UTF-16 cannot carry an ASCII meta tag; the standard maps it to UTF-8.
        if meta and meta.startswith("utf-16"):
            meta = "utf-8"
        if meta:
            candidates.append(meta)
    m = _XML_DECL.search(head)
    if m:
        xml = normalize_charset(m.group(1).decode("ascii", "ignore"))
        if xml:
            candidates.append(xml)

    utf8_text = None
    try:
        utf8_text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass

    for enc in candidates:
        if utf8_text is not None and _single_byte(enc) and not body.isascii():
            return _checked(utf8_text, url)
        if enc == "utf-8" and utf8_text is not None:
            return _checked(utf8_text, url)
        if enc == "utf-8":
            # declared UTF-8 with a few invalid bytes: replace those, not the whole decoding
            lenient = decode_utf8_lenient(body)
            if lenient is not None:
                log.warning("page_encoding_repaired", url=url, reason="encoding_replaced",
                            bad_sequences=lenient[1], first_offset=lenient[2])
                return _checked(lenient[0], url)
        try:
            return _checked(body.decode(enc), url)
        except UnicodeDecodeError:
            log.debug("charset_mismatch", url=url, declared=enc)
            continue
    if utf8_text is not None:
        return _checked(utf8_text, url)
    detected = _detect(body)
    if detected is not None:
        return _checked(detected, url)
    if candidates:  # declared but not strictly decodable, and detection found nothing better
        return _checked(body.decode(candidates[0], errors="replace"), url)
    raise FetchError("cannot determine the text encoding", reason="bad_encoding", url=url)


def decode_utf8_lenient(body: bytes) -> tuple[str, int, int] | None:
    """Decode UTF-8 that has a few invalid bytes: ``(text, bad_sequences, first_bad_offset)``,
    each maximal invalid sequence replaced by one U+FFFD (Python's ``errors="replace"``, as the
    WHATWG Encoding Standard's UTF-8 decoder does), or None when ``body`` is valid UTF-8 or is
    not mostly UTF-8: fewer well-formed non-ASCII characters than invalid sequences, which is
    what text in another encoding (windows-1252, Shift_JIS ...) looks like when read as UTF-8.
    """
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        first = exc.start
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode("utf-8"))
    valid = sum(1 for ch in text if ord(ch) > 127) - text.count("\ufffd")
    if bad <= 0 or valid < bad:
        return None
    return text, bad, first


_SINGLE_BYTE = re.compile(r"^(cp125\d|cp8\d\d|cp437|iso8859-\d+|koi8-\w|mac-[\w-]+|latin-1|ascii|tis-620)$")


def _single_byte(enc: str) -> bool:
    try:
        return bool(_SINGLE_BYTE.match(codecs.lookup(enc).name))
    except LookupError:
        return False


#: Encodings detection chooses among: the common web encodings (W3Techs' usage survey lists
#: these as the ones above a hundredth of a percent). A shortlist avoids exotic code pages
#: (cp1006, mac_iceland ...) that charset_normalizer otherwise picks for short Latin texts.
DETECT_ENCODINGS = ["utf_8", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
                    "iso8859_2", "koi8_r", "cp874", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr"]


def _detect(body: bytes) -> str | None:
    """Detect the encoding of ``body`` with charset_normalizer over :data:`DETECT_ENCODINGS`.

    When the winner ties with windows-1252 (same chaos and coherence scores), or is a
    single-byte code page recognised with no language coherence (a short text: every Latin
    code page decodes it "cleanly"), windows-1252 is used instead when it decodes the bytes
    strictly: it is the web's default legacy encoding (WHATWG Encoding
    Standard) and the likeliest for an undeclared Western page.
    """
    try:
        from charset_normalizer import from_bytes

        results = list(from_bytes(body, cp_isolation=DETECT_ENCODINGS))
    except Exception:  # noqa: BLE001 - detection is best effort
        results = []
    if not results or not results[0].encoding:
        return None
    best = results[0]
    for other in results[1:]:  # a tie with windows-1252 goes to windows-1252
        if other.encoding == "cp1252" and other.chaos <= best.chaos and other.coherence >= best.coherence:
            best = other
    if best.coherence < 0.1 and _single_byte(best.encoding):
        try:
            return body.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return str(best)


def _strict(body: bytes, enc: str, url: str | None) -> str:
    try:
        return _checked(body.decode(enc), url)
    except UnicodeDecodeError as exc:
        raise FetchError(f"bytes are not valid {enc} despite its byte-order mark", reason="bad_encoding", url=url) from exc


def _checked(text: str, url: str | None) -> str:
    if looks_binary(text):
        raise FetchError("body is binary, not text", reason="bad_encoding", url=url)
    return text
