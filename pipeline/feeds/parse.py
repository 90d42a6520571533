"""Parse feed bytes we fetched into article references.

feedparser does the parsing, but only ever on bytes handed to it in a ``BytesIO``: it never
fetches a URL and never opens a local path (feedparser's own docs warn that a plain string
may trigger network or file access). Before feedparser sees the bytes we refuse two kinds of
hostile or wrong input:

* XML entity bombs and external entities (``entity_bomb``): a DOCTYPE whose internal subset
  declares entities that reference other entities ("billion laughs"), parameter entities,
  external entities (``SYSTEM``/``PUBLIC``), or more than :data:`MAX_ENTITY_DECLS` entities
  or :data:`MAX_ENTITY_VALUE_CHARS` characters of entity text. Flat, short internal entities
  (``<!ENTITY id "tag:example.com,">``, used by real feeds and by feedparser's own tests)
  are let through: their expansion is bounded by the document's own size. A prolog that
  runs past the first :data:`SNIFF_BYTES` (padding to hide a DTD) is refused too.
* An HTML page served where a feed was expected (``not_a_feed``): the first element of the
  document is ``<html>``/``<head>``/``<body>``, or feedparser recognises no feed format and
  finds no entries.

A feed that is not well-formed ("bozo") still yields whatever entries feedparser recovered;
the bozo flag and a classified ``bozo_reason`` travel with the result.
"""
from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import io
import re
import xml.sax
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import FeedError
from pipeline.feeds.dates import EntryDate, iso_utc, resolve_entry_date
from pipeline.fetch.http import decode_utf8_lenient
from pipeline.logs import get_logger
from pipeline.models import ArticleRef
from pipeline.sanitize import FIELD_LIMITS, cap, strip_controls

log = get_logger(__name__)

#: Entity declarations accepted in a DOCTYPE before the document is refused as ``entity_bomb``.
MAX_ENTITY_DECLS = 32
#: Total characters of entity replacement text accepted (all declarations together).
MAX_ENTITY_VALUE_CHARS = 4096
#: Bytes inspected when sniffing the prolog (XML declaration, comments, DOCTYPE, first element).
SNIFF_BYTES = 256 * 1024
#: Longest plain-text summary kept per entry, characters (a fallback body, not an archive).
MAX_SUMMARY_CHARS = 20_000
#: Entries read from one document; the rest are counted as skipped. News feeds list 10-100;
#: a feed listing more is an archive or hostile, and its newest entries come first.
MAX_ENTRIES = 1000

#: Seconds per ``sy:updatePeriod`` value. Source: RSS 1.0 Syndication module
#: (http://web.resource.org/rss/1.0/modules/syndication/): hourly, daily, weekly, monthly, yearly;
#: month and year taken as 30 and 365 days.
SY_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86_400,
    "weekly": 7 * 86_400,
    "monthly": 30 * 86_400,
    "yearly": 365 * 86_400,
}

_HTML_ROOTS = {"html", "head", "body"}
#: Root elements of the formats feedparser reads (RSS 0.9x/2.0, RSS 1.0 RDF, Atom, CDF).
FEED_ROOTS = {"rss", "rdf", "feed", "channel"}
_TAG_RE = re.compile(r"<[^>]*>")
_WS_RE = re.compile(r"\s+")
_ENTITY_DECL_RE = re.compile(
    r"<!ENTITY\s+(%\s+)?([^\s\"'>]+)\s+(?:(SYSTEM|PUBLIC)\b|(\"[^\"]*\"|'[^']*'))", re.IGNORECASE
)
_ENTITY_REF_RE = re.compile(r"[&%][A-Za-z_:][\w.:-]*;")


@dataclass
class ParsedFeed:
    """What one feed document yields.

    ``entries`` are :class:`ArticleRef` in document order; ``title``/``link`` describe the
    feed; ``version`` is feedparser's format name (``rss20``, ``atom10``, ... or ``""``);
    ``ttl_s`` is RSS ``<ttl>`` converted from minutes to seconds; ``update_period_s`` is the
    ``sy:updatePeriod`` length divided by ``sy:updateFrequency`` (seconds between updates),
    whose raw values are ``sy_update_period``/``sy_update_frequency``;
    ``bozo`` says the document was not well-formed (or otherwise odd) and ``bozo_reason``
    classifies why (``xml_error``, ``encoding_override``, ``encoding_unknown``,
    ``non_xml_content_type``, ``undeclared_namespace``, ``bozo``); ``skipped_entries``
    counts entries with neither a usable link nor a permalink guid, and ``dropped`` every
    entry not in ``entries`` by reason (``no_link``, ``duplicate_entry``: the same guid, link
    and title twice in the document, ``over_limit``: past :data:`MAX_ENTRIES`, ``unreadable``:
    an entry that raised); ``published_ts`` holds the entries' publication times as epoch
    seconds (for the entries-per-day estimate); ``encoding_warning`` says that invalid bytes of
    a UTF-8 feed were replaced (:func:`repair_utf8`), else None.
    """

    feed_url: str
    feed_id: str
    title: str = ""
    link: str = ""
    version: str = ""
    entries: list[ArticleRef] = field(default_factory=list)
    ttl_s: int | None = None
    update_period_s: float | None = None
    sy_update_period: str | None = None
    sy_update_frequency: int | None = None
    bozo: bool = False
    bozo_reason: str | None = None
    skipped_entries: int = 0
    published_ts: list[float] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    encoding_warning: str | None = None

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` entries left out for ``reason``."""
        if n > 0:
            self.dropped[reason] = self.dropped.get(reason, 0) + n

    @property
    def min_interval_s(self) -> float | None:
        """The shortest poll interval the feed itself asks for (max of ttl and sy), or None."""
        hints = [h for h in (self.ttl_s, self.update_period_s) if h]
        return float(max(hints)) if hints else None


# --------------------------------------------------------------------------------------------
# prolog sniffing: entity bombs and HTML pages
# --------------------------------------------------------------------------------------------

def _decode_head(content: bytes) -> str:
    """Decode the first :data:`SNIFF_BYTES` for sniffing: UTF-16/32 by BOM, else latin-1.

    Latin-1 never fails and keeps ASCII markup intact in every ASCII-compatible encoding.
    """
    head = content[:SNIFF_BYTES]
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                     (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(enc, errors="replace")
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    # UTF-16 without BOM: every other byte NUL in the first characters
    if len(head) >= 4 and head[0] == 0 and head[2] == 0:
        return head.decode("utf-16-be", errors="replace")
    if len(head) >= 4 and head[1] == 0 and head[3] == 0:
        return head.decode("utf-16-le", errors="replace")
    return head.decode("latin-1")


def _skip_prolog(text: str) -> tuple[str | None, str]:
    """Walk the prolog; return (internal DTD subset or None, text from the first element on).

    When ``text`` ends inside a prolog construct (comment, PI, DOCTYPE), the rest is ``""``.
    """
    i, n = 0, len(text)
    subset: str | None = None
    while i < n:
        while i < n and text[i] in " \t\r\n\ufeff":
            i += 1
        if text.startswith("<?", i):
            j = text.find("?>", i)
            i = n if j < 0 else j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i)
            i = n if j < 0 else j + 3
        elif text[i:i + 9].upper() == "<!DOCTYPE":
            # the internal subset is between '[' and ']' (before the closing '>')
            j, depth, quote = i + 9, 0, ""
            start = None
            while j < n:
                c = text[j]
                if quote:
                    if c == quote:
                        quote = ""
                elif c in "\"'":
                    quote = c
                elif c == "[":
                    depth += 1
                    if start is None:
                        start = j + 1
                elif c == "]":
                    depth -= 1
                    if depth <= 0 and start is not None:
                        subset = text[start:j]
                elif c == ">" and depth <= 0:
                    break
                j += 1
            if start is not None and subset is None:
                subset = text[start:j]  # unterminated subset: inspect what is there
            i = j + 1
        else:
            break
    return subset, text[i:]


def check_entities(subset: str) -> None:
    """Refuse a DOCTYPE internal subset that could expand into a bomb or reach outside.

    Raises :class:`FeedError` (reason ``entity_bomb``) for parameter entities, external
    entities, an entity whose text references another entity, more than
    :data:`MAX_ENTITY_DECLS` declarations or more than :data:`MAX_ENTITY_VALUE_CHARS`
    characters of replacement text. Returns None when the subset is harmless.
    """
    decl_count = len(re.findall(r"<!ENTITY", subset, re.IGNORECASE))
    if decl_count == 0:
        return
    if decl_count > MAX_ENTITY_DECLS:
        raise FeedError(f"{decl_count} entity declarations in the DOCTYPE", reason="entity_bomb")
    total = 0
    matched = 0
    for m in _ENTITY_DECL_RE.finditer(subset):
        matched += 1
        is_param, name, external, value = m.group(1), m.group(2), m.group(3), m.group(4)
        if is_param:
            raise FeedError(f"parameter entity %{name} in the DOCTYPE", reason="entity_bomb")
        if external:
            raise FeedError(f"external entity {name} in the DOCTYPE", reason="entity_bomb")
        body = value[1:-1]
        if _ENTITY_REF_RE.search(body):
            raise FeedError(f"entity {name} references another entity", reason="entity_bomb")
        total += len(body)
    if matched < decl_count:
        raise FeedError("entity declaration that cannot be checked", reason="entity_bomb")
    if total > MAX_ENTITY_VALUE_CHARS:
        raise FeedError(f"{total} characters of entity text", reason="entity_bomb")


def sniff(content: bytes) -> str | None:
    """Check the prolog of ``content``; return the first element's name (lower-case) or None.

    Raises :class:`FeedError` with reason ``empty`` (no bytes or only whitespace),
    ``entity_bomb`` (see :func:`check_entities`) or ``not_a_feed`` (an HTML root element).
    """
    if not content or not content.strip():
        raise FeedError("empty document", reason="empty")
    text = _decode_head(content)
    subset, rest = _skip_prolog(text)
    if len(content) > SNIFF_BYTES and not rest.strip():
        # the prolog runs past the sniff window: padding meant to hide what follows
        if re.search(r"<!DOCTYPE", text, re.IGNORECASE):
            raise FeedError(f"DOCTYPE longer than {SNIFF_BYTES} bytes", reason="entity_bomb")
        raise FeedError(f"no element in the first {SNIFF_BYTES} bytes", reason="not_a_feed")
    if subset:
        check_entities(subset)
    m = re.match(r"<([A-Za-z_][\w.:-]*)", rest)
    root = m.group(1).lower() if m else None
    if root is None:
        if not rest.strip():
            raise FeedError("no element, only a prolog or comments", reason="empty")
        if rest.lstrip().startswith("{"):
            return "{json}"
        raise FeedError("neither XML nor JSON", reason="not_a_feed")
    if root is not None and root.split(":")[-1] in _HTML_ROOTS:
        raise FeedError(f"an HTML page (<{root}>) where a feed was expected", reason="not_a_feed")
    return root


# --------------------------------------------------------------------------------------------
# feedparser result -> ParsedFeed
# --------------------------------------------------------------------------------------------

class _EncodingDetected(Exception):
    """Bozo marker: the encoding was detected by charset-normalizer after feedparser guessed."""


def _charset_param(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return m.group(1) if m else None


def _detect_charset(content: bytes) -> str | None:
    """Best charset for ``content`` by charset-normalizer (None when it has no answer)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency, but detection is optional
        return None
    best = from_bytes(content[:SNIFF_BYTES]).best()
    return best.encoding if best is not None else None


def _feedparser(feedparser, content: bytes, headers: dict[str, str]):
    try:
        return feedparser.parse(io.BytesIO(content), response_headers=headers)
    except Exception as exc:  # noqa: BLE001 - feedparser bugs on odd input must not escape
        raise FeedError(f"feedparser failed: {type(exc).__name__}: {exc}", reason="parser_crash") from exc


def classify_bozo(exc: BaseException | None) -> str | None:
    """Map feedparser's ``bozo_exception`` to a reason code (None when there is none).

    ``encoding_detected`` means feedparser found no usable charset and charset-normalizer's
    detection was used instead.
    """
    if exc is None:
        return None
    if isinstance(exc, _EncodingDetected):
        return "encoding_detected"
    name = type(exc).__name__
    if isinstance(exc, xml.sax.SAXException):
        return "xml_error"
    return {
        "CharacterEncodingOverride": "encoding_override",
        "CharacterEncodingUnknown": "encoding_unknown",
        "NonXMLContentType": "non_xml_content_type",
        "UndeclaredNamespace": "undeclared_namespace",
    }.get(name, "bozo")


def html_to_text(value: str) -> str:
    """Plain text from an HTML fragment: tags dropped, entities decoded, control and bidi
    characters stripped (:func:`pipeline.sanitize.strip_controls`), whitespace collapsed."""
    if not value:
        return ""
    text = strip_controls(html.unescape(_TAG_RE.sub(" ", value)))
    return _WS_RE.sub(" ", text).strip()


def _feed_title(value: Any, feed_url: str) -> str:
    """The feed's own title as plain text, capped at ``FIELD_LIMITS["title"]`` (a cut is logged)."""
    title, was_cut = cap(html_to_text(str(value or "")), FIELD_LIMITS["title"])
    if was_cut:
        log.warning("feed_title_truncated", feed_url=feed_url, reason="field_too_long")
    return title


def _int_or_none(value: Any) -> int | None:
    try:
        v = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def _update_period_s(feed: Any) -> float | None:
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period not in SY_PERIOD_SECONDS:
        return None
    freq = _int_or_none(feed.get("sy_updatefrequency")) or 1  # the module's default frequency is 1
    return SY_PERIOD_SECONDS[period] / freq


def _struct_to_epoch(st: Any) -> float | None:
    if not st:
        return None
    try:
        return float(calendar.timegm(st))
    except (TypeError, ValueError, OverflowError):
        return None


def _iso(ts: float | None) -> str | None:
    return iso_utc(ts)


# --------------------------------------------------------------------------------------------
# a UTF-8 feed with a few invalid bytes
# --------------------------------------------------------------------------------------------

_XML_DECL_ENCODING_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")


@dataclass
class EncodingRepair:
    """Invalid bytes replaced in a feed declared UTF-8: ``bad_sequences`` (each maximal invalid
    byte sequence became one U+FFFD), ``first_offset`` (byte offset of the first)."""

    bad_sequences: int
    first_offset: int

    def warning(self) -> str:
        """A one-line description for logs and ``wirewatch feeds parse``."""
        return (f"declared UTF-8 but {self.bad_sequences} invalid byte sequence(s) (first at byte "
                f"{self.first_offset}) replaced with U+FFFD; the other text decoded as UTF-8")


def _is_utf8_name(name: str | None) -> bool:
    return (name or "").strip().lower().replace("_", "-") in ("utf-8", "utf8")


def repair_utf8(content: bytes, content_type: str | None) -> tuple[bytes, EncodingRepair | None]:
    """Decode a feed that says it is UTF-8 as UTF-8, replacing only invalid bytes.

    Applies when every declaration present names UTF-8 (the ``charset`` of ``content_type``
    and the XML declaration's ``encoding``; with neither, XML's default is UTF-8, XML 1.0
    section 4.3.3), the bytes are not valid UTF-8, and at least as many well-formed non-ASCII
    characters as invalid sequences surround them: a genuine UTF-8 text with a stray byte.
    Text in another encoding that is mislabelled (windows-1252, Shift_JIS without declaration)
    forms almost no valid multi-byte sequence and is left to feedparser's own fallback.

    Returns ``(bytes to parse, repair or None)``: the re-encoded text (each invalid sequence
    one U+FFFD, as Python's ``errors="replace"`` and the WHATWG Encoding Standard decode it)
    when repaired, else ``content`` unchanged. Never raises.
    """
    if not content or content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content, None
    header_charset = _charset_param(content_type or "")
    m = _XML_DECL_ENCODING_RE.match(content[:512])
    declared = [d for d in (header_charset, m.group(1).decode("ascii") if m else None) if d]
    if declared and not all(_is_utf8_name(d) for d in declared):
        return content, None
    lenient = decode_utf8_lenient(content)
    if lenient is None:
        return content, None
    text, bad, first = lenient
    return text.encode("utf-8"), EncodingRepair(bad_sequences=bad, first_offset=first)


# --------------------------------------------------------------------------------------------
# entries
# --------------------------------------------------------------------------------------------

@dataclass
class _Candidate:
    """One entry as read, before its identity within the document is settled."""

    link: str
    raw_guid: str
    title: str
    summary: str
    date: EntryDate
    raw_date: str


def _entry_candidate(entry: Any, feed_url: str) -> _Candidate | None:
    link = str(entry.get("link") or "").strip()
    guid = str(entry.get("id") or "").strip()
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    if not link.startswith(("http://", "https://")):
        return None
    title = html_to_text(str(entry.get("title") or ""))  # capped, and the cut counted, by the fetch stage
    summary_src = entry.get("summary") or ""
    if not summary_src and entry.get("content"):
        try:
            summary_src = entry["content"][0].get("value", "")
        except (IndexError, AttributeError, KeyError, TypeError):
            summary_src = ""
    summary = html_to_text(str(summary_src))[:MAX_SUMMARY_CHARS]
    if entry.get("published_parsed") or entry.get("published"):
        raw_date, parsed = entry.get("published"), entry.get("published_parsed")
    else:
        raw_date, parsed = entry.get("updated"), entry.get("updated_parsed")
    date = resolve_entry_date(str(raw_date or ""), parsed, feed_url)
    return _Candidate(link=link, raw_guid=guid, title=title, summary=summary, date=date, raw_date=str(raw_date or ""))


def _title_key(title: str) -> str:
    return " ".join(title.casefold().split())


def _identity_digest(c: _Candidate) -> str:
    return guid_key(f"{_title_key(c.title)}\x1f{c.date.iso or c.raw_date}")


def _item_key(c: _Candidate) -> tuple[str, str, str]:
    """What tells two entries apart as items: guid, title and text (case and spacing folded)."""
    return c.raw_guid, _title_key(c.title), _title_key(c.summary)


def _assign_identities(cands: list[_Candidate]) -> list[tuple[_Candidate, str, bool]]:
    """``(candidate, guid, shared_link)`` for each candidate, in order.

    ``shared_link``: the entry's link is also the link of another item of the document (one
    that differs in guid, title or text), so the linked page is not about this entry alone.
    Identity: the feed's guid; when a later entry repeats a guid with another link or title
    (the feed's guids are not unique), that entry's identity is the guid plus a digest of its
    title and date, so the first keeps the plain guid across polls. Without a guid: the link,
    or for a shared link the link plus the digest of title and date. Two different items that
    still get one identity (same title and time, other text) are told apart by their text.
    Entries repeating guid, title and text keep one identity (the caller drops and counts the
    repeats).
    """
    keys_by_link: dict[str, set[tuple[str, str, str]]] = {}
    for c in cands:
        keys_by_link.setdefault(c.link, set()).add(_item_key(c))
    first_variant: dict[str, tuple[str, str]] = {}
    used: dict[str, tuple[str, str, str]] = {}
    out = []
    for c in cands:
        key = _item_key(c)
        shared = len(keys_by_link[c.link]) > 1
        variant = (c.link, _title_key(c.title))
        if c.raw_guid:
            known = first_variant.setdefault(c.raw_guid, variant)
            guid = c.raw_guid if known == variant else f"{c.raw_guid}#{_identity_digest(c)}"
        else:
            guid = f"{c.link}#{_identity_digest(c)}" if shared else c.link
        if used.setdefault(guid, key) != key:
            guid = f"{guid}~{guid_key(key[2])[:8]}"
        out.append((c, guid, shared))
    return out


def parse_feed(content: bytes, *, feed_url: str, feed_id: str, headers: dict | None = None) -> ParsedFeed:
    """Parse the bytes of one feed (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF) into a :class:`ParsedFeed`.

    ``headers`` are the HTTP response headers (lower-case keys); their ``content-type``
    charset informs decoding and ``content-location`` the base for relative links (the
    feed URL otherwise). Entries without an absolute http(s) link or permalink guid are
    skipped and counted. Each entry's identity (``guid``) and ``shared_link`` follow
    :func:`_assign_identities`; an entry repeating another's identity is dropped and counted
    (``dropped``), all logged. Dates: :func:`pipeline.feeds.dates.resolve_entry_date`; a UTF-8
    feed with invalid bytes: :func:`repair_utf8`.

    Raises :class:`FeedError` with reason ``empty``, ``entity_bomb``, ``not_a_feed`` or
    ``xml_error`` (not well-formed and nothing recovered), ``json_error`` when the document yields nothing
    usable. A recognised feed with zero entries is a valid result, not an error.
    """
    import feedparser  # imported here: a heavy import the CLI only needs for `parse`

    root = sniff(content)
    if root == "{json}":
        return parse_json_feed(content, feed_url=feed_url, feed_id=feed_id)
    resp_headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    resp_headers.setdefault("content-location", feed_url)
    # Without a content type feedparser flags every document as non-XML; for local files and
    # servers that send none, assume application/xml, whose charset rules (RFC 3023) follow the
    # document's own XML declaration.
    resp_headers.setdefault("content-type", "application/xml")
    # A UTF-8 feed with a stray invalid byte: feedparser would decode all of it as
    # windows-1252 (or the detector would pick another charset): replace only the bad bytes.
    content, repair = repair_utf8(content, resp_headers.get("content-type"))
    d = _feedparser(feedparser, content, resp_headers)
    if repair is None and d.get("bozo") \
            and classify_bozo(d.get("bozo_exception")) in ("encoding_override", "encoding_unknown") \
            and not _charset_param(resp_headers.get("content-type", "")):
        # no charset anywhere, or a wrong one: feedparser fell back to a guess; detect instead
        detected = _detect_charset(content)
        if detected and detected.lower() != str(d.get("encoding") or "").lower():
            retry = dict(resp_headers, **{"content-type": f"application/xml; charset={detected}"})
            d2 = _feedparser(feedparser, content, retry)
            if d2.get("entries") or d2.get("feed"):
                d = d2
                d["bozo"], d["bozo_exception"] = True, _EncodingDetected(detected)

    exc = d.get("bozo_exception") if d.get("bozo") else None
    bozo_reason = classify_bozo(exc)
    version = d.get("version") or ""
    feed = d.get("feed") or {}
    raw_entries = d.get("entries") or []

    if not version and not raw_entries:
        local_root = root.split(":")[-1]
        if bozo_reason == "xml_error" and not feed and local_root not in FEED_ROOTS:
            raise FeedError(f"not well-formed and nothing recovered: {exc}", reason="xml_error")
        if local_root not in FEED_ROOTS and not feed.get("title") and not feed.get("link"):
            raise FeedError(f"no feed format recognised (root <{root}>)", reason="not_a_feed")

    result = ParsedFeed(
        feed_url=feed_url,
        feed_id=feed_id,
        title=_feed_title(feed.get("title"), feed_url),
        link=str(feed.get("link") or ""),
        version=version,
        ttl_s=(_int_or_none(feed.get("ttl")) or 0) * 60 or None,
        update_period_s=_update_period_s(feed),
        sy_update_period=(str(feed.get("sy_updateperiod") or "").strip().lower() or None),
        sy_update_frequency=_int_or_none(feed.get("sy_updatefrequency")),
        bozo=bool(d.get("bozo")),
        bozo_reason=bozo_reason,
        encoding_warning=repair.warning() if repair else None,
    )
    if len(raw_entries) > MAX_ENTRIES:
        result.skipped_entries += len(raw_entries) - MAX_ENTRIES
        result.drop("over_limit", len(raw_entries) - MAX_ENTRIES)
        raw_entries = raw_entries[:MAX_ENTRIES]
    cands: list[_Candidate] = []
    for entry in raw_entries:
        try:
            cand = _entry_candidate(entry, feed_url)
        except Exception:  # noqa: BLE001 - one odd entry must not lose the others
            result.skipped_entries += 1
            result.drop("unreadable")
            continue
        if cand is None:
            result.skipped_entries += 1
            result.drop("no_link")
            continue
        cands.append(cand)
    seen: set[str] = set()
    for cand, guid, shared in _assign_identities(cands):
        if guid in seen:
            result.drop("duplicate_entry")
            continue
        seen.add(guid)
        warnings = []
        if cand.date.warning:
            warnings.append(cand.date.warning)
        if repair and "\ufffd" in f"{cand.title}{cand.summary}{cand.link}":
            warnings.append("encoding_replaced")
        result.entries.append(ArticleRef(
            feed_id=feed_id, feed_url=feed_url, link=cand.link, guid=guid, title=cand.title,
            published=cand.date.iso, summary=cand.summary, shared_link=shared,
            published_unknown_zone=cand.date.unknown_zone(), warnings=warnings))
        if cand.date.ts is not None:
            result.published_ts.append(cand.date.ts)
    if result.dropped:
        log.info("feed_entries_dropped", feed_id=feed_id, url=feed_url, **result.dropped)
    if repair:
        log.warning("feed_encoding_repaired", feed_id=feed_id, url=feed_url, reason="encoding_replaced",
                    bad_sequences=repair.bad_sequences, first_offset=repair.first_offset)
    unknown = [r.published_unknown_zone["zone"] for r in result.entries if r.published_unknown_zone]
    if unknown:
        log.warning("feed_unknown_time_zone", feed_id=feed_id, url=feed_url, reason="unknown_zone",
                    entries=len(unknown), zones=sorted(set(unknown)))
    if result.bozo:
        log.debug("feed_bozo", feed_id=feed_id, reason=bozo_reason, entries=len(result.entries))
    return result


def parse_json_feed(content: bytes, *, feed_url: str, feed_id: str) -> ParsedFeed:
    """Parse a JSON Feed 1.0/1.1 document (https://jsonfeed.org/version/1.1) into a ParsedFeed.

    Items use ``url`` (else ``external_url``, else an http(s) ``id``) as the link, ``id`` as
    the guid, ``summary``/``content_text``/``content_html`` as the summary and
    ``date_published`` (else ``date_modified``) as the date. Raises :class:`FeedError`
    ``not_a_feed`` for JSON that is not a JSON Feed (no ``version`` naming jsonfeed.org, or
    no ``items`` list) and ``json_error`` for broken JSON.
    """
    import json
    from datetime import datetime
    from urllib.parse import urljoin

    try:
        doc = json.loads(content.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"JSON that does not parse: {exc}", reason="json_error") from exc
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")) \
            or not isinstance(doc.get("items"), list):
        raise FeedError("JSON, but not a JSON Feed", reason="not_a_feed")
    result = ParsedFeed(feed_url=feed_url, feed_id=feed_id, title=_feed_title(doc.get("title"), feed_url),
                        link=str(doc.get("home_page_url") or ""), version="json1")
    seen: set[str] = set()
    items = doc["items"]
    if len(items) > MAX_ENTRIES:
        result.skipped_entries += len(items) - MAX_ENTRIES
        result.drop("over_limit", len(items) - MAX_ENTRIES)
        items = items[:MAX_ENTRIES]
    for item in items:
        if not isinstance(item, dict):
            result.skipped_entries += 1
            result.drop("unreadable")
            continue
        guid = str(item.get("id") or "").strip()
        link = str(item.get("url") or item.get("external_url") or "").strip()
        if link:
            link = urljoin(feed_url, link)
        elif guid.startswith(("http://", "https://")):
            link = guid
        if not link.startswith(("http://", "https://")):
            result.skipped_entries += 1
            result.drop("no_link")
            continue
        guid = guid or link
        if guid in seen:
            result.drop("duplicate_entry")
            continue
        seen.add(guid)
        ts = None
        for key in ("date_published", "date_modified"):
            raw = item.get(key)
            if raw:
                try:
                    ts = datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
                    break
                except ValueError:
                    continue
        summary = item.get("summary") or item.get("content_text") or html_to_text(str(item.get("content_html") or ""))
        summary = strip_controls(str(summary))
        result.entries.append(ArticleRef(feed_id=feed_id, feed_url=feed_url, link=link, guid=guid,
                                         title=html_to_text(str(item.get("title") or "")), published=_iso(ts),
                                         summary=str(summary)[:MAX_SUMMARY_CHARS]))
        if ts is not None:
            result.published_ts.append(ts)
    if result.dropped:
        log.info("feed_entries_dropped", feed_id=feed_id, url=feed_url, **result.dropped)
    return result


def guid_key(guid: str) -> str:
    """A short fixed-size key for a guid (first 16 hex digits of its SHA-1), for seen-sets."""
    return hashlib.sha1(guid.encode("utf-8", "surrogatepass")).hexdigest()[:16]
