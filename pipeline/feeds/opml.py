"""Read and write OPML 1.0/2.0 subscription lists.

Reading: every ``<outline>`` with an ``xmlUrl`` attribute is a feed, at any depth. Its
categories are the titles of the outlines that contain it (outermost first, joined with
``/``), plus the comma-separated paths in its own ``category`` attribute (OPML 2.0,
http://opml.org/spec2.opml, "category" is a comma-separated list of slash-delimited paths).
The same feed URL listed twice is kept once (first title wins, categories merged).

The file is parsed with the standard library's expat after refusing any DOCTYPE entity
declarations that could expand into a bomb or reach outside (the same rules as feeds, see
:func:`pipeline.feeds.parse.check_entities`).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pipeline.errors import FeedError

#: Largest OPML file read, bytes (tens of thousands of feeds fit in a few MB).
MAX_OPML_BYTES = 50_000_000


@dataclass
class OpmlFeed:
    """One feed of an OPML file: ``url`` (xmlUrl), ``title`` (title or text attribute),
    ``html_url`` (htmlUrl, the site), ``categories`` (paths like ``News/Americas``)."""

    url: str
    title: str = ""
    html_url: str = ""
    categories: list[str] = field(default_factory=list)


def parse_opml(content: bytes) -> list[OpmlFeed]:
    """Parse OPML bytes into feeds in document order.

    Raises :class:`FeedError` with reason ``too_large``, ``entity_bomb``, ``xml_error``
    (not well-formed) or ``not_opml`` (root element is not ``<opml>``).
    """
    from pipeline.feeds.parse import _decode_head, _skip_prolog, check_entities

    if len(content) > MAX_OPML_BYTES:
        raise FeedError(f"OPML larger than {MAX_OPML_BYTES} bytes", reason="too_large")
    subset, _ = _skip_prolog(_decode_head(content))
    if subset:
        check_entities(subset)
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise FeedError(f"OPML is not well-formed XML: {exc}", reason="xml_error") from exc
    if root.tag.split("}")[-1].lower() != "opml":
        raise FeedError(f"root element <{root.tag}> is not <opml>", reason="not_opml")
    body = next((c for c in root if c.tag.split("}")[-1].lower() == "body"), root)

    out: dict[str, OpmlFeed] = {}

    def walk(node: ET.Element, path: list[str]) -> None:
        for child in node:
            if child.tag.split("}")[-1].lower() != "outline":
                continue
            attrs = {k.lower(): v for k, v in child.attrib.items()}
            title = (attrs.get("title") or attrs.get("text") or "").strip()
            url = (attrs.get("xmlurl") or "").strip()
            if url:
                cats = []
                if path:
                    cats.append("/".join(path))
                for c in (attrs.get("category") or "").split(","):
                    c = c.strip().strip("/")
                    if c and c not in cats:
                        cats.append(c)
                if url in out:
                    for c in cats:
                        if c not in out[url].categories:
                            out[url].categories.append(c)
                else:
                    out[url] = OpmlFeed(url=url, title=title, html_url=(attrs.get("htmlurl") or "").strip(),
                                        categories=cats)
                walk(child, path)  # feeds nested under a feed are rare but legal
            else:
                walk(child, path + [title] if title else path)

    walk(body, [])
    return list(out.values())


def read_opml(path: str | Path) -> list[OpmlFeed]:
    """Read an OPML file from disk; see :func:`parse_opml` for errors (plus ``OSError``)."""
    return parse_opml(Path(path).read_bytes())


def write_opml(feeds: Iterable[OpmlFeed], title: str = "Wirewatch feeds") -> bytes:
    """Serialise feeds as OPML 2.0 (UTF-8 bytes).

    Feeds are grouped under nested outlines by their first category (``A/B`` becomes an
    outline ``A`` holding an outline ``B``); every category is also kept in the feed's
    ``category`` attribute, so :func:`parse_opml` reads back the same categories.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[tuple[str, ...], ET.Element] = {(): body}

    def group(path: tuple[str, ...]) -> ET.Element:
        if path not in groups:
            parent = group(path[:-1])
            groups[path] = ET.SubElement(parent, "outline", text=path[-1], title=path[-1])
        return groups[path]

    for f in feeds:
        first = tuple(p for p in f.categories[0].split("/") if p) if f.categories else ()
        attrs = {"type": "rss", "text": f.title or f.url, "title": f.title or f.url, "xmlUrl": f.url}
        if f.html_url:
            attrs["htmlUrl"] = f.html_url
        extra = [c for c in f.categories[1:]]
        if extra:
            attrs["category"] = ",".join(extra)
        ET.SubElement(group(first), "outline", attrs)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
