"""Route the prefix, wildcard, fuzzy and regular-expression terms of a query string to unstemmed
sub-fields, so that ``crossing*`` finds "crossing" although ``title``/``body`` are stemmed.

Why: the engines stem the words of a stemmed field at index time ("crossing" is stored as
"cross"), and stem the plain words of a query the same way, but they only lowercase/fold the
terms of multi-term queries (prefix ``crossing*``, wildcard ``cr?ssing``, fuzzy ``crosing~``,
regexp ``/cross.*/``): Lucene's query parsers never run a stemmer over them, so ``crossing*``
looks for stored terms starting with "crossing" and finds none. Every stemmed text field has an
unstemmed ``exact`` sibling (:func:`pipeline.index.mappings.exact_fields`), and this module rewrites
the query string so those terms go there: ``body:crossing*`` becomes ``body.exact:crossing*``,
an unqualified ``crossing*`` becomes ``(title.exact:crossing*^2 OR body.exact:crossing*)`` over
the query's default fields. Plain words and phrases stay on the stemmed fields.

The query string is parsed with luqum (a parser of the Lucene/Elasticsearch query-string
grammar). A query without such terms, or one luqum cannot parse, is returned unchanged, so the
engine still reports its own error for invalid syntax.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from luqum.exceptions import ParseError
from luqum.parser import parser
from luqum.tree import Boost, Fuzzy, Group, Item, OrOperation, Range, Regex, SearchField, Word

_UNESCAPED_WILDCARD = re.compile(r"(?<!\\)(?:\\\\)*[*?]")


def is_multiterm(node: Item) -> bool:
    """True for a term the engines do not stem: a word with an unescaped ``*``/``?`` (but not a
    lone ``*``, which means "anything"), a fuzzy term, or a regular expression."""
    if isinstance(node, (Fuzzy, Regex)):
        return True
    if isinstance(node, Word):
        return node.value != "*" and bool(_UNESCAPED_WILDCARD.search(node.value))
    return False


def _parse_default(fields: Sequence[str]) -> list[tuple[str, str | None]]:
    """``["title^2", "body"]`` -> ``[("title", "2"), ("body", None)]``."""
    out = []
    for f in fields:
        name, _, boost = f.partition("^")
        out.append((name, boost or None))
    return out


def _moved(new: Item, old: Item) -> Item:
    """Give ``new`` the whitespace around ``old`` (luqum keeps it in head/tail)."""
    new.head, new.tail = old.head, old.tail
    old.head, old.tail = "", ""
    return new


def _route(node: Item, field: str | None, exact: Mapping[str, str], defaults: list[tuple[str, str | None]]) -> Item:
    if isinstance(node, Range):  # range bounds are not terms to match ("[a TO *]")
        return node
    if isinstance(node, SearchField):
        inner = node.expr.expr if isinstance(node.expr, Boost) else node.expr
        target = exact.get(node.name)
        if target and is_multiterm(inner):
            node.name = target
            return node
        node.expr = _route(node.expr, node.name, exact, defaults)
        return node
    if is_multiterm(node):
        if field is not None:
            return _moved(SearchField(exact[field], node), node) if field in exact else node
        alternatives: list[Item] = []
        for name, boost in defaults:
            if name not in exact:
                continue
            item: Item = SearchField(exact[name], _copy(node))
            alternatives.append(Boost(item, boost) if boost else item)
        if not alternatives:
            return node
        for i, alt in enumerate(alternatives):
            alt.head = "" if i == 0 else " "
            alt.tail = " " if i < len(alternatives) - 1 else ""
        return _moved(Group(OrOperation(*alternatives)), node)
    children = list(node.children)
    if children:
        node.children = [_route(c, field, exact, defaults) for c in children]
    return node


def _copy(node: Item) -> Item:
    """A fresh copy of a term without surrounding whitespace."""
    import copy

    dup = copy.deepcopy(node)
    dup.head, dup.tail = "", ""
    return dup


def route_multiterm(query: str, exact: Mapping[str, str], default_fields: Sequence[str]) -> str:
    """``query`` with every prefix/wildcard/fuzzy/regexp term sent to the unstemmed field.

    ``exact`` maps a stemmed field to its unstemmed sibling (``{"body": "body.exact", ...}``);
    ``default_fields`` are the query's ``fields`` (with ``^boost``), used for unqualified terms.
    Terms in fields without an unstemmed sibling (keywords, dates) are left alone. Returns the
    query unchanged when it has no such term or cannot be parsed.
    """
    if not _UNESCAPED_WILDCARD.search(query) and "~" not in query and "/" not in query:
        return query
    try:
        tree = parser.parse(query)
    except (ParseError, TypeError, ValueError):
        return query
    routed = _route(tree, None, exact, _parse_default(default_fields))
    return str(routed)

