"""Text from feeds and pages is hostile until cleaned: control characters, bidi overrides, length caps.

Two dangers, one module:

- **Terminal and header injection.** A feed title can carry ``ESC [2J`` (clear the screen),
  ``ESC ]0;...BEL`` (set the terminal's window title), NUL, or a right-to-left override
  (U+202E) that makes ``moc.evil`` read as ``live.com``. :func:`strip_controls` removes, from
  every text field at ingestion: whole ECMA-48 escape sequences (CSI ``ESC [ ... final byte``,
  OSC/DCS/APC/PM/SOS strings ended by BEL or ``ESC \\``, and two-character ``ESC x``), every
  other C0 and C1 control character (Unicode category ``Cc``) except tab and newline, and the
  bidirectional formatting characters of Unicode Standard Annex #9 (LRE, RLE, PDF, LRO, RLO,
  LRI, RLI, FSI, PDI, LRM, RLM, ALM). :func:`escape_controls` is the second line of defence
  for output (tables, e-mail headers): it shows any that remain as ``\\x1b`` / ``\\u202e``.
- **Oversized fields.** A 1 MB feed title breaks the search engine's highlighter (which
  re-analyses at most ``index.highlight.max_analyzed_offset`` = 1,000,000 characters of a field
  by default, in Elasticsearch 7.x+ and OpenSearch alike) and every search that matches it.
  :data:`FIELD_LIMITS` caps each text field of an article well below that; a cut is reported
  (:func:`clean_article` returns ``{field: original length}``) so the caller can log and count
  it (reason ``field_too_long``) and the document records ``truncated_fields``.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

#: Caps per text field, in characters (the figures are documented in the README, "Security").
#: Titles: headline style guides stop near 100 characters; 1,000 keeps any real headline whole.
#: Bodies: the longest news features are ~20,000 words (~130,000 characters); 500,000 keeps
#: half of the highlighter's 1,000,000-character default analysis limit as margin.
#: (A feed entry's summary, the body's stand-in, is already cut to 20,000 characters by
#: :data:`pipeline.feeds.parse.MAX_SUMMARY_CHARS`; URLs are keywords, never highlighted.)
FIELD_LIMITS: dict[str, int] = {
    "title": 1_000,
    "body": 500_000,
    "author": 200,
}
#: Most author names kept per article.
MAX_AUTHORS = 20

#: Bidirectional formatting characters (UAX #9, table 1: explicit embeddings, overrides,
#: isolates, and the implicit marks LRM, RLM and ALM).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

# ECMA-48: CSI = ESC [ (or the C1 byte 0x9B), parameters 0x30-0x3F, intermediates 0x20-0x2F,
# final 0x40-0x7E. OSC/DCS/SOS/PM/APC = ESC ] P X ^ _ (or C1 0x9D 0x90 0x98 0x9E 0x9F),
# ended by BEL or ST (ESC \ or C1 0x9C); an unterminated one runs to the end of the text.
_ESCAPE_SEQ = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x7e]?"
)


def _is_control(ch: str) -> bool:
    return ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in "\t\n")


def strip_controls(text: str, *, single_line: bool = False) -> str:
    """``text`` without escape sequences, control characters (but tab/newline) and bidi controls.

    ``\\r\\n`` and lone ``\\r`` become ``\\n`` first. ``single_line=True`` also turns tabs and
    newlines into single spaces (titles, names, header values). Never raises; ``""`` for None.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPE_SEQ.sub("", text)
    if any(_is_control(ch) for ch in text):
        text = "".join(ch for ch in text if not _is_control(ch))
    if single_line:
        text = re.sub(r"\s*[\t\n]\s*", " ", text)
    return text


def escape_controls(text: str) -> str:
    """``text`` with every control or bidi character shown as a Python-style escape
    (``"\\x1b"``, ``"\\u202e"``), for output that a person reads (tables, mail headers)."""
    if not text or not any(_is_control(ch) for ch in text):
        return text or ""
    return "".join((f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") if _is_control(ch) else ch
                   for ch in text)


def cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters (at the last white space in the final 10%
    when there is one, so a word is not split) and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ", int(limit * 0.9))
    return (cut[:space] if space > 0 else cut).rstrip(), True


def clean_field(text: str | None, field: str, *, single_line: bool = False) -> tuple[str, int | None]:
    """Strip controls from and cap one field (limit :data:`FIELD_LIMITS` [field]).

    Returns ``(clean text, original length when it was cut else None)``.
    """
    clean = strip_controls(text or "", single_line=single_line)
    clean, was_cut = cap(clean, FIELD_LIMITS[field])
    return clean, (len(text or "") if was_cut else None)


def clean_article(article: Any) -> dict[str, int]:
    """Clean an :class:`pipeline.models.Article` in place: title (single line), body, authors.

    Control and bidi characters are stripped from each field; each is capped at
    :data:`FIELD_LIMITS`, and at most :data:`MAX_AUTHORS` authors are kept. Returns
    ``{field: original length}`` for every field that was cut (``authors``: the original count).
    """
    cut: dict[str, int] = {}
    article.title, n = clean_field(article.title, "title", single_line=True)
    if n is not None:
        cut["title"] = n
    article.body, n = clean_field(article.body, "body")
    if n is not None:
        cut["body"] = n
    authors: list[str] = []
    for name in article.authors or []:
        clean, n = clean_field(str(name), "author", single_line=True)
        if n is not None:
            cut["authors"] = max(cut.get("authors", 0), n)
        if clean and clean not in authors:
            authors.append(clean)
    if len(authors) > MAX_AUTHORS:
        cut["authors"] = max(cut.get("authors", 0), len(authors))
        authors = authors[:MAX_AUTHORS]
    article.authors = authors
    return cut


__all__ = ["FIELD_LIMITS", "MAX_AUTHORS", "BIDI_CONTROLS", "strip_controls", "escape_controls", "cap", "clean_field",
           "clean_article"]
