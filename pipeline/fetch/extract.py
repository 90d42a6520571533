"""Main-text extraction and URL canonicalization.

:func:`extract_article` turns a decoded HTML page into an :class:`Extracted` record: main text
(trafilatura), title, authors, published date, language and canonical URL.

Where each field comes from, in order of preference:

- **body**: trafilatura's main text (comments, navigation and boilerplate dropped; tables
  kept). No text, or fewer than :data:`MIN_BODY_CHARS` characters, raises
  :class:`~pipeline.errors.ExtractionError` ``no_main_text``.
- **title**: never the site's name (:func:`choose_title`). The first of ``og:title``,
  ``twitter:title``, JSON-LD ``headline``; an ``<h1>`` that is not the logo; the ``<title>``
  element; trafilatura's title, that is not one of the site's names
  (:func:`site_names`: ``og:site_name``, ``application-name``, JSON-LD publisher/WebSite name,
  a logo ``<h1>`` linking to the home page, an end part of ``<title>`` that repeats one of
  them or the host name). The site's name is removed where it stands before or after the
  headline with a separator (" | ", " - ", " — ", " – ", " :: ", " · ", or ": " after it);
  a colon inside the headline is part of it. Nothing left: empty (the feed's title stands in).
- **authors**: trafilatura's author metadata (``meta name=author``, JSON-LD, bylines), split
  on ``;`` / `` and ``, "By " removed.
- **published_at**: structured markup only, never free text, so a copyright-footer year
  ("(c) 2019") is never taken for a date: ``article:published_time``, JSON-LD
  ``datePublished``, ``itemprop=datePublished``, ``<time datetime>`` inside the article,
  ``DC.date.issued``/``date``/``pubdate`` meta; then htmldate without its extensive
  free-text search (``extensive_search=False``: markup and URL only). A bare year or
  year-month is refused. Result: ISO-8601 (``YYYY-MM-DD`` or a full timestamp as written).
- **language**: py3langid (the langid.py model, 97 languages) over the main text when it is
  at least :data:`LANGID_MIN_CHARS` characters and the classifier is at least
  :data:`LANGID_MIN_CONFIDENCE` sure; otherwise the page's ``<html lang>`` / ``og:locale`` /
  ``content-language`` meta (primary subtag, lower-cased); otherwise the classifier's answer
  anyway; None when nothing is known. Declared languages are checked second because page
  templates often declare ``en`` on every page whatever its text.
- **canonical_url**: ``<link rel=canonical>``, then ``og:url``, resolved against the page URL
  and passed through :func:`canonicalize_url`; the page URL itself when neither exists or when
  the declared one is unusable (not http/https, or a site's home page declared for an article
  page, a common template mistake). A declared canonical on another **registrable domain**
  (public suffix + one label, from the Public Suffix List shipped by ``publicsuffixlist``)
  than the page's own is not trusted: a page on host A could otherwise take the document id of
  B's article (overwriting it) or make ``source.domain`` say B. Then ``canonical_url`` is the
  page URL and the declared one is kept only in ``declared_canonical_url``; canonicals within
  the same site (``m.example.co.uk`` -> ``www.example.co.uk``) are followed as before.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from pipeline.errors import ExtractionError
from pipeline.language import detect_language
from pipeline.logs import get_logger

log = get_logger(__name__)

#: Bodies shorter than this (characters) count as "no main text".
MIN_BODY_CHARS = 40
#: Shortest text the language classifier is trusted on, characters.
LANGID_MIN_CHARS = 120
#: Lowest normalised probability at which py3langid's answer beats the declared language.
LANGID_MIN_CONFIDENCE = 0.9
#: Characters of the main text the identifier reads here (more than enrich's default: the
#: confidence threshold above is checked on it).
LANGID_SAMPLE_CHARS = 5000


@dataclass
class Extracted:
    """What was extracted from one page. ``url`` is the page URL as fetched (canonicalized);
    ``published_at`` ISO-8601 or None; ``language`` an ISO 639-1 code or None."""

    url: str
    canonical_url: str
    title: str
    body: str
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    declared_canonical_url: str | None = None

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of all fields."""
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# URL canonicalization
# ---------------------------------------------------------------------------------------------

#: Query parameters that only track where a click came from. Exact names, compared
#: case-insensitively. Sources: Google Analytics (utm_*, _ga, _gl, gclid, gclsrc, dclid, gbraid,
#: wbraid), Meta (fbclid, igshid), Microsoft (msclkid, ocid), Yandex (yclid), Mailchimp (mc_cid,
#: mc_eid), Adobe/Omniture (s_cid, cmpid, icid), AT Internet (xtor, at_medium, at_campaign ...),
#: comScore (ns_*), Webtrends (wt.mc_id), HubSpot (_hsenc, _hsmi), Marketo (mkt_tok), and the
#: news outlets' own campaign tags (CMP at the Guardian, ftag at the FT, smid at the NYT,
#: ref_src at Twitter/X, guccounter at Yahoo).
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid", "ttclid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "s_cid", "cmpid", "icid", "ocid", "cmp", "ftag",
    "smid", "smtyp", "ref_src", "ref_url", "xtor", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
    "wt.mc_id", "wt.mc_ev", "guccounter", "guce_referrer", "guce_referrer_sig", "__twitter_impression",
    "soc_src", "soc_trk", "sr_share", "mbid", "taid", "cid_source", "spm", "share_source", "rss_source",
})
#: Prefixes of tracking parameters (``utm_source``, ``utm_medium``, ``pk_campaign`` (Matomo) ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hmb_", "oly_")
DEFAULT_PORTS = {"http": 80, "https": 443}
_PCT = re.compile(r"%[0-9a-fA-F]{2}")


def is_tracking_param(name: str) -> bool:
    """True when the query parameter ``name`` is a known tracking parameter."""
    n = name.lower()
    return n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Return the canonical form of ``url`` (resolved against ``base`` when given).

    Rules, applied in order:

    1. Surrounding white space is stripped; a relative URL is resolved against ``base``.
    2. Scheme and host are lower-cased; a trailing dot on the host and any ``user:pass@`` are
       dropped; the default port (80 for http, 443 for https) is dropped.
    3. An empty path becomes ``/``; ``.`` and ``..`` segments are resolved; percent-escapes
       are upper-cased (``%2f`` -> ``%2F``) and escapes of unreserved characters
       (letters, digits, ``-._~``) decoded (RFC 3986 section 6.2.2).
    4. Tracking parameters (:data:`TRACKING_PARAMS`, :data:`TRACKING_PREFIXES`) are removed;
       other parameters keep their order and values; an empty query is dropped.
    5. The fragment is dropped.

    Non-http(s) URLs are returned stripped but otherwise untouched.
    """
    url = (url or "").strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return url
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalize_path(parts.path)
    query = _clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_escapes(s: str) -> str:
    def fix(m: re.Match) -> str:
        ch = chr(int(m.group(0)[1:], 16))
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            return ch
        return m.group(0).upper()

    return _PCT.sub(fix, s)


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    segments: list[str] = []
    for seg in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if seg == ".":
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    trailing = path.endswith(("/.", "/..")) and segments and segments[-1] != ""
    out = "/" + "/".join(segments)
    if trailing:
        out += "/"
    return _normalize_escapes(out)


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0].replace("+", " "))
        if is_tracking_param(name):
            continue
        kept.append(_normalize_escapes(pair))
    return "&".join(kept)


# ---------------------------------------------------------------------------------------------
# Page metadata read with lxml
# ---------------------------------------------------------------------------------------------

_DATE_META = (
    "article:published_time", "og:article:published_time", "datepublished", "dc.date.issued", "dcterms.issued",
    "dc.date", "dcterms.date", "date", "pubdate", "publishdate", "publish-date", "parsely-pub-date",
    "sailthru.date", "article.published", "published-date", "cxenseparse:recs:publishtime",
)
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\s*$")


def _parse_html(html: str):
    import lxml.html

    try:
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - lxml raises several types on junk
        return None


def _meta(tree, *names: str) -> str | None:
    wanted = {n.lower() for n in names}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key in wanted:
            content = (el.get("content") or "").strip()
            if content:
                return content
    return None


def _jsonld_objects(tree):
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        stack = [data]
        while stack:
            obj = stack.pop()
            if isinstance(obj, list):
                stack.extend(obj)
            elif isinstance(obj, dict):
                yield obj
                if "@graph" in obj:
                    stack.append(obj["@graph"])


def normalize_date(value: str | None) -> str | None:
    """Return ``value`` as an ISO-8601 date or timestamp, or None when it is not a full date.

    Accepts ISO-8601 dates and timestamps (``2024-03-05``, ``2024-03-05T14:30:00Z``,
    ``2024-03-05 14:30:00+01:00``) and RFC 2822 dates (``Tue, 05 Mar 2024 14:30:00 GMT``).
    A bare year or year-month is refused.
    """
    if not value:
        return None
    value = value.strip()
    m = _ISO_DATE.match(value)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            datetime(y, mo, d)
        except ValueError:
            return None
        if m.group(4):
            text = value.replace(" ", "T", 1)
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
            except ValueError:
                return f"{y:04d}-{mo:02d}-{d:02d}"
        return f"{y:04d}-{mo:02d}-{d:02d}"
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _structured_date(tree) -> str | None:
    value = _meta(tree, *_DATE_META)
    found = normalize_date(value)
    if found:
        return found
    for obj in _jsonld_objects(tree):
        found = normalize_date(obj.get("datePublished") if isinstance(obj.get("datePublished"), str) else None)
        if found:
            return found
    for el in tree.xpath('//*[@itemprop="datePublished"]'):
        found = normalize_date(el.get("datetime") or el.get("content") or (el.text or ""))
        if found:
            return found
    for el in tree.xpath("//article//time[@datetime] | //time[@pubdate][@datetime]"):
        found = normalize_date(el.get("datetime"))
        if found:
            return found
    return None


def _htmldate(tree, url: str | None) -> str | None:
    try:
        from htmldate import find_date

        found = find_date(tree, extensive_search=False, original_date=True, url=url)
    except Exception:  # noqa: BLE001 - a date is optional
        return None
    return normalize_date(found)


def _declared_canonical(tree, page_url: str) -> str | None:
    candidates = []
    for el in tree.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if "canonical" in rels and el.get("href"):
            candidates.append(el.get("href"))
    og = _meta(tree, "og:url")
    if og:
        candidates.append(og)
    page = urlsplit(page_url)
    for href in candidates:
        c = canonicalize_url(href, base=page_url)
        parts = urlsplit(c)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            continue
        if parts.path in ("", "/") and not parts.query and page.path not in ("", "/"):
            continue  # a home page declared as canonical for an article: a template mistake
        return c
    return None


@lru_cache(maxsize=1)
def _public_suffix_list():
    """The Public Suffix List as shipped inside the ``publicsuffixlist`` package (no network)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(host: str | None) -> str:
    """The registrable domain ("eTLD+1") of a host name, lower-cased: ``news.bbc.co.uk`` -> ``bbc.co.uk``.

    Rules: the Public Suffix List (https://publicsuffix.org/, ICANN and private sections, the
    snapshot bundled with the ``publicsuffixlist`` package). A host that is itself a public
    suffix, an IP address or ``localhost`` is its own registrable domain. ``""`` for no host.
    """
    h = (host or "").strip().lower().strip("[]").rstrip(".")
    if not h:
        return ""
    if re.fullmatch(r"[0-9.]+", h) or ":" in h:
        return h  # IP literal
    return _public_suffix_list().privatesuffix(h) or h


def same_site(url_a: str, url_b: str) -> bool:
    """True when both URLs' hosts share one registrable domain (:func:`registrable_domain`)."""
    a, b = registrable_domain(urlsplit(url_a).hostname), registrable_domain(urlsplit(url_b).hostname)
    return bool(a) and a == b


def _declared_language(tree) -> str | None:
    root_lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    for value in (root_lang, _meta(tree, "og:locale", "content-language", "language", "dc.language")):
        if value:
            code = re.split(r"[-_]", value.strip().lower())[0]
            if re.fullmatch(r"[a-z]{2,3}", code):
                return code
    for el in tree.iter("meta"):
        if (el.get("http-equiv") or "").lower() == "content-language" and el.get("content"):
            code = re.split(r"[-_,]", el.get("content").strip().lower())[0]
            if re.fullmatch(r"[a-z]{2,3}", code):
                return code
    return None


@lru_cache(maxsize=1)
def choose_language(text: str, declared: str | None) -> str | None:
    """Pick the article language (rules in the module docstring)."""
    lang, prob = detect_language(text, sample_chars=LANGID_SAMPLE_CHARS)
    if lang and len(text) >= LANGID_MIN_CHARS and prob >= LANGID_MIN_CONFIDENCE:
        return lang
    return declared or lang


_SPLIT_AUTHORS = re.compile(r"\s*(?:;|\band\b|&|\|)\s*", re.I)


def split_authors(value: str | None) -> list[str]:
    """Split an author string (``"By A. Writer; B. Other and C. Third"``) into names."""
    if not value:
        return []
    out: list[str] = []
    for part in _SPLIT_AUTHORS.split(value):
        name = re.sub(r"^\s*by\s+", "", part.strip(), flags=re.I).strip(" ,.")
        if name and name.lower() not in {n.lower() for n in out} and len(name) <= 100:
            out.append(name)
    return out


#: Separators between a headline and the site's name in ``<title>`` and ``og:title``.
TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " · ", " / ")


def _fold_name(text: str | None) -> str:
    """A name compared loosely: case-folded, letters and digits only, without a leading "the"."""
    t = re.sub(r"[\W_]+", " ", (text or "").casefold()).strip()
    if t.startswith("the "):
        t = t[4:]
    return t.replace(" ", "")


def _text_of(el) -> str:
    return re.sub(r"\s+", " ", el.text_content() or "").strip()


def _title_parts(title: str) -> list[str]:
    parts = [title]
    for sep in TITLE_SEPARATORS:
        parts = [p for part in parts for p in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


def _host_names(url: str) -> set[str]:
    labels = [lab for lab in (urlsplit(url).hostname or "").lower().split(".") if lab and lab != "www"]
    folded = {_fold_name(lab) for lab in labels[:-1] or labels}
    if len(labels) >= 2:
        folded.add(_fold_name("".join(labels)))  # "Example.com" as a name
    return {f for f in folded if len(f) >= 3}


_LOGO_MARK = re.compile(r"logo|brand|masthead|site[-_]?(?:title|name)", re.IGNORECASE)


def _is_logo_h1(el, page_url: str) -> bool:
    """An ``<h1>`` that is the masthead, not a headline: it links to the site's home page, or
    it (or an ancestor) has a class/id naming a logo, brand, masthead or site title, or it
    stands in a page ``<header>`` (one outside ``<article>`` and ``<main>``)."""
    in_page_header = False
    for node in [el, *el.iterancestors()]:
        if _LOGO_MARK.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
        if node.tag in ("article", "main"):
            in_page_header = False
            break
        if node.tag == "header":
            in_page_header = True
    if in_page_header:
        return True
    for a in el.iter("a"):
        href = (a.get("href") or "").strip()
        if href:
            target = urlsplit(urljoin(page_url, href))
            if target.path in ("", "/") and not target.query:
                return True
    return False


def site_names(tree, page_url: str, trafilatura_site: str | None = None) -> set[str]:
    """The names the page gives its site, folded (:func:`_fold_name`).

    Declared: ``og:site_name``, ``application-name``, ``apple-mobile-web-app-title``, JSON-LD
    ``publisher.name`` and ``WebSite.name``, trafilatura's site name. Found: the text of a
    logo ``<h1>`` (:func:`_is_logo_h1`), and an end part of ``<title>`` (split at
    :data:`TITLE_SEPARATORS`) equal to one of those names or to the host name.
    """
    names: set[str] = set()
    for value in (_meta(tree, "og:site_name"), _meta(tree, "application-name"),
                  _meta(tree, "apple-mobile-web-app-title"), trafilatura_site):
        if value:
            names.add(_fold_name(value))
    for obj in _jsonld_objects(tree):
        pub = obj.get("publisher")
        if isinstance(pub, dict) and isinstance(pub.get("name"), str):
            names.add(_fold_name(pub["name"]))
        kind = obj.get("@type")
        if (kind == "WebSite" or isinstance(kind, list) and "WebSite" in kind) and isinstance(obj.get("name"), str):
            names.add(_fold_name(obj["name"]))
    for el in tree.iter("h1"):
        text = _fold_name(_text_of(el))
        if text and _is_logo_h1(el, page_url):
            names.add(text)
    title_el = tree.find(".//title")
    parts = _title_parts(_text_of(title_el)) if title_el is not None else []
    if len(parts) >= 2:
        hosts = _host_names(page_url)
        for end in (parts[0], parts[-1]):
            f = _fold_name(end)
            if f and (f in names or f in hosts):
                names.add(f)
    names.discard("")
    return names


def strip_site_name(title: str | None, names: set[str]) -> str:
    """``title`` without a leading or trailing site name (rules: module docstring); white space
    collapsed. A title that is nothing but a site name gives ``""``."""
    title = re.sub(r"\s+", " ", (title or "")).strip()
    if not title or not names:
        return title
    changed = True
    while changed and title:
        changed = False
        if _fold_name(title) in names:
            return ""
        for sep in TITLE_SEPARATORS:
            head, _, tail = title.rpartition(sep)
            if head and _fold_name(tail) in names:
                title, changed = head.strip(), True
                break
            first, _, rest = title.partition(sep)
            if rest and _fold_name(first) in names:
                title, changed = rest.strip(), True
                break
        else:
            first, _, rest = title.partition(": ")
            if rest and _fold_name(first) in names:
                title, changed = rest.strip(), True
    return title


def choose_title(tree, page_url: str, trafilatura_title: str | None, names: set[str]) -> str:
    """The headline of the page, never one of its site ``names`` (order: module docstring).

    Returns ``""`` when every candidate is a site name or empty.
    """
    candidates: list[str | None] = [_meta(tree, "og:title"), _meta(tree, "twitter:title")]
    for obj in _jsonld_objects(tree):
        if isinstance(obj.get("headline"), str):
            candidates.append(obj["headline"])
    h1s = [el for el in tree.iter("h1") if not _is_logo_h1(el, page_url)]
    in_article = [el for el in h1s if any(a.tag in ("article", "main") for a in el.iterancestors())]
    candidates.extend(_text_of(el) for el in (in_article or h1s))
    title_el = tree.find(".//title")
    if title_el is not None:
        candidates.append(_text_of(title_el))
    candidates.append(trafilatura_title)
    for cand in candidates:
        cleaned = strip_site_name(cand, names)
        if cleaned:
            return cleaned
    return ""


def extract_article(html: str, url: str) -> Extracted:
    """Extract the main text and metadata of a page (sources of each field: module docstring).

    ``html`` is the decoded page (see :func:`pipeline.fetch.http.decode_html`), ``url`` the URL it
    was fetched from (used to resolve relative links and as the canonical URL's fallback).
    Raises :class:`ExtractionError` ``no_main_text`` when there is no main text, or
    ``extraction_failed`` when the page cannot be parsed at all.
    """
    import trafilatura

    page_url = canonicalize_url(url)
    tree = _parse_html(html) if html and html.strip() else None
    if tree is None:
        raise ExtractionError(f"page at {url} is empty or not parsable HTML", reason="extraction_failed")
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - trafilatura raises many kinds on odd pages
        raise ExtractionError(f"trafilatura failed on {url}: {exc}", reason="extraction_failed") from exc
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < MIN_BODY_CHARS:
        raise ExtractionError(f"no main text found at {url}", reason="no_main_text")

    site = _meta(tree, "og:site_name") or (getattr(doc, "sitename", None) or None)
    title = choose_title(tree, url, getattr(doc, "title", None),
                         site_names(tree, url, getattr(doc, "sitename", None)))
    # trafilatura repeats the <h1> title as the first line of the text; keep the body clean.
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and len(rest.strip()) >= MIN_BODY_CHARS:
        text = rest.strip()
    published = _structured_date(tree) or _htmldate(tree, url)
    declared = _declared_canonical(tree, url)
    canonical = page_url
    if declared and same_site(declared, page_url):
        canonical = declared
    elif declared:
        log.info("canonical_cross_site", url=page_url, declared=declared,
                 reason="declared canonical on another registrable domain; the page URL decides the id")
    return Extracted(
        url=page_url,
        canonical_url=canonical,
        declared_canonical_url=declared if declared and declared != canonical else None,
        title=title,
        body=text,
        authors=split_authors(getattr(doc, "author", None)),
        published_at=published,
        language=choose_language(text, _declared_language(tree)),
        site_name=site if site and site != urlsplit(url).hostname else None,
        description=(getattr(doc, "description", None) or None),
    )


__all__ = ["Extracted", "extract_article", "canonicalize_url", "registrable_domain", "same_site", "choose_title",
           "site_names", "strip_site_name", "is_tracking_param", "normalize_date", "choose_language", "split_authors",
           "TRACKING_PARAMS", "TRACKING_PREFIXES"]
