"""Topic classification by weighted cue density, with a taxonomy in ``config/topics.yaml``.

An article gets the topics it is *about*: for each topic, weighted cue hits per 100 words of
body (each cue counted at most ``per_cue_cap`` times; short bodies count as ``min_words``
long), plus ``title_weight`` x the weights of cues found in the title, must reach the topic's
``threshold``, and at least ``min_distinct`` different cues must match (or, for a story dense in
few cues, two cues and ``dense_factor`` x the threshold: a doctors' strike says "strike" often),
of which at least ``min_strong`` are strong (weight >= 2: "soldiers" and "army" beside a border
fence do not make a war story without "shelling" or "airstrike"). Finally a topic whose score, in
units of its own threshold, is below ``dominance`` x that of the article's strongest topic is a
side mention and is dropped (the smuggling gangs of a small-boats story are not a crime story;
floods that spread cholera do not make a disaster story). ``dominance`` is a taxonomy-wide setting
(0.3 in the shipped file, set on tests/gold where side topics scored 0.21-0.29 and the weakest
topic an article was about scored 0.35). A single "migrants" in
a sports report therefore does not make it a migration story. The file's header documents the
cue syntax; :func:`load_taxonomy` validates it.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import ConfigError

#: The taxonomy shipped with Wirewatch: ``config/topics.yaml`` at the repository root.
DEFAULT_TOPICS_FILE = Path(__file__).resolve().parents[2] / "config" / "topics.yaml"

_DEFAULTS = {"title_weight": 1.5, "per_cue_cap": 3, "min_words": 150, "threshold": 3.0, "min_distinct": 2,
             "min_strong": 0, "dense_factor": 2.0}
#: Share of its own threshold a broad topic must score for one of its subtopics to be assigned.
SUBTOPIC_PARENT_SHARE = 0.5
#: Weight from which a cue counts as strong (see ``min_strong``).
STRONG_WEIGHT = 2.0
_WORD_RE = re.compile(r"\w+(?:['\u2019]\w+)*")
_ASCII_WORD_RE = re.compile(r"[a-z0-9_]+")
_RUN_RE = re.compile(r"\w+")
#: The only characters whose lower case is not one character of the same word/non-word class, or
#: that a case-insensitive pattern matches against an ASCII letter without lower-casing to it
#: (checked over all of Unicode for Python's ``re`` and ``str.lower``; K, the Kelvin sign,
#: lower-cases to "k" and needs no exception).
_CASE_ODD = frozenset("\u0130\u0131\u017f")
_GAP = r"(?:\W+\w+){0,3}"


@dataclass(frozen=True)
class Cue:
    """One weighted cue: its source text, compiled pattern and weight."""

    text: str
    pattern: re.Pattern
    weight: float
    #: A substring every match contains (lower case unless the cue is case-sensitive): a fast
    #: ``in`` test skips the regular expression for the many cues an article lacks.
    literal: str = ""
    case_sensitive: bool = False
    #: True when every match starts with ``literal`` as a whole word (a case-insensitive cue whose
    #: first word is plain ASCII letters/digits without ``*``): then the cue can only match a text
    #: whose lower-case words include ``literal`` (see :func:`_text_words`).
    whole_word: bool = False
    #: True when every match starts with ``literal`` itself (case-sensitive cues) or with its
    #: letters in either case (case-insensitive cues with an ASCII literal); :func:`_count` then
    #: tries the pattern only where ``literal`` occurs.
    anchored: bool = False


@dataclass(frozen=True)
class Topic:
    """A topic: ``name``, ``description``, ``cues``, ``threshold`` (score units: weighted hits
    per 100 words), ``implies`` (topics an article about this one is also about, e.g. an
    election story is a politics story), ``min_distinct`` (different cues required),
    ``title_weight``, ``per_cue_cap``, ``min_words``, ``min_strong`` (strong cues required) and
    ``dense_factor`` (multiple of the threshold that lets two distinct cues suffice)."""

    name: str
    description: str
    cues: tuple[Cue, ...]
    threshold: float
    implies: tuple[str, ...]
    min_distinct: int
    title_weight: float
    per_cue_cap: int
    min_words: int
    min_strong: int = 0
    dense_factor: float = 2.0
    #: Cues of which at least one must appear (title or body), e.g. people for border-crossing:
    #: trucks crossing a bridge are trade, not a crossing story. Empty: no such condition.
    requires: tuple[Cue, ...] = ()
    #: Broader topics this one refines ("cholera" of "health"). A subtopic implies them, like
    #: ``implies``, and never sets the article's strongest score for the ``dominance`` rule: one
    #: dense word ("cholera" five times) must not push the article's other broad topics out.
    subtopic_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """All topics of one taxonomy file, in file order."""

    path: Path
    topics: tuple[Topic, ...]
    #: A topic below this share of the strongest topic's score (both in threshold units) is dropped.
    dominance: float = 0.0

    @property
    def names(self) -> list[str]:
        """Topic names in file order."""
        return [t.name for t in self.topics]


def compile_cue(text: str) -> re.Pattern:
    """Compile one cue (see the syntax in config/topics.yaml) into a regular expression.

    Raises ``ValueError`` for an empty cue.
    """
    flags = re.IGNORECASE
    raw = text.strip()
    if raw.startswith("="):
        flags = 0
        raw = raw[1:].strip()
    words = raw.split()
    if not words:
        raise ValueError("empty cue")
    parts = []
    for w in words:
        if w == "...":
            parts.append(_GAP)
            continue
        star = w.endswith("*")
        core = re.escape(w.rstrip("*"))
        parts.append(core + (r"\w*" if star else ""))
    body = ""
    for i, p in enumerate(parts):
        if i == 0:
            body = p
        elif p == _GAP:
            body += p
        else:
            body += r"\W+" + p
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", flags)


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(f"topics file {path}: {what}", reason="topics_file")


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read and validate a taxonomy YAML file.

    Raises :class:`pipeline.errors.ConfigError` (reason ``topics_file``) naming the file and the
    problem when it is missing, not YAML, has no ``topics`` mapping, or a topic lacks a
    description or terms, or has a non-numeric weight/threshold or an invalid cue.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "not found") from None
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise _fail(path, f"is not valid YAML ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), dict) or not raw["topics"]:
        raise _fail(path, "needs a non-empty 'topics' mapping")
    defaults = dict(_DEFAULTS)
    if raw.get("defaults") is not None:
        if not isinstance(raw["defaults"], dict):
            raise _fail(path, "'defaults' must be a mapping")
        defaults.update(raw["defaults"])
    dominance = raw.get("dominance", 0.0)
    if not isinstance(dominance, (int, float)) or isinstance(dominance, bool) or not 0 <= dominance < 1:
        raise _fail(path, "'dominance' must be a number in [0, 1)")
    topics = []
    for name, spec in raw["topics"].items():
        if not isinstance(spec, dict):
            raise _fail(path, f"topic {name!r} must be a mapping")
        desc = spec.get("description")
        if not isinstance(desc, str) or not desc.strip():
            raise _fail(path, f"topic {name!r} needs a description")
        terms = spec.get("terms")
        if not isinstance(terms, dict) or not terms:
            raise _fail(path, f"topic {name!r} needs a 'terms' mapping of cue: weight")
        cues = []
        for cue, weight in terms.items():
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
                raise _fail(path, f"topic {name!r}: weight of {cue!r} must be a positive number")
            try:
                text = str(cue).strip()
                sensitive = text.startswith("=")
                first = text.lstrip("=").split()[0].rstrip("*") if text.lstrip("=").split() else ""
                literal = first if sensitive else first.lower()
                whole = (not sensitive and not text.lstrip("=").split()[0].endswith("*")
                         and _ASCII_WORD_RE.fullmatch(literal) is not None)
                anchored = bool(literal) and text.lstrip("=").split()[0] != "..." and (sensitive or literal.isascii())
                cues.append(Cue(text, compile_cue(text), float(weight), literal=literal,
                                case_sensitive=sensitive, whole_word=whole, anchored=anchored))
            except (ValueError, re.error) as exc:
                raise _fail(path, f"topic {name!r}: bad cue {cue!r} ({exc})") from exc
        required = spec.get("requires") or []
        if not isinstance(required, list) or not all(isinstance(x, str) and x.strip() for x in required):
            raise _fail(path, f"topic {name!r}: 'requires' must be a list of cues")
        try:
            requires = tuple(Cue(x, compile_cue(x), 1.0) for x in required)
        except (ValueError, re.error) as exc:
            raise _fail(path, f"topic {name!r}: bad required cue ({exc})") from exc
        implies = spec.get("implies") or []
        if not isinstance(implies, list) or not all(isinstance(x, str) for x in implies):
            raise _fail(path, f"topic {name!r}: 'implies' must be a list of topic names")
        parents = spec.get("subtopic_of") or []
        if not isinstance(parents, list) or not all(isinstance(x, str) for x in parents):
            raise _fail(path, f"topic {name!r}: 'subtopic_of' must be a list of topic names")
        opts = {k: spec.get(k, defaults[k]) for k in _DEFAULTS}
        for k, v in opts.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise _fail(path, f"topic {name!r}: {k} must be a non-negative number")
        topics.append(Topic(
            name=str(name), description=" ".join(desc.split()), cues=tuple(cues),
            implies=tuple(dict.fromkeys([*implies, *parents])), subtopic_of=tuple(parents),
            threshold=float(opts["threshold"]), min_distinct=int(opts["min_distinct"]),
            title_weight=float(opts["title_weight"]), per_cue_cap=int(opts["per_cue_cap"]),
            min_words=int(opts["min_words"]), min_strong=int(opts["min_strong"]),
            dense_factor=float(opts["dense_factor"]), requires=requires,
        ))
    names = {t.name for t in topics}
    for t in topics:
        unknown = [x for x in t.implies if x not in names]
        if unknown:
            raise _fail(path, f"topic {t.name!r} implies unknown topic(s) {unknown}")
        if t.name in t.subtopic_of:
            raise _fail(path, f"topic {t.name!r} cannot be a subtopic of itself")
    return Taxonomy(path=path, topics=tuple(topics), dominance=float(dominance))


_CACHE: dict[Path, tuple[float, Taxonomy]] = {}
_LOCK = threading.Lock()


def get_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """The taxonomy at ``path`` (None: :data:`DEFAULT_TOPICS_FILE`), read once and re-read when
    the file's modification time changes. Raises ConfigError like :func:`load_taxonomy`."""
    p = Path(path) if path else DEFAULT_TOPICS_FILE
    try:
        mtime = p.stat().st_mtime
    except OSError:
        mtime = -1.0
    with _LOCK:
        hit = _CACHE.get(p)
        if hit and hit[0] == mtime:
            return hit[1]
    tax = load_taxonomy(p)
    with _LOCK:
        _CACHE[p] = (mtime, tax)
    return tax


def _text_words(text: str, text_lower: str) -> frozenset[str] | None:
    """The distinct ``\\w+`` runs of ``text_lower``, or None when ``text`` holds one of
    :data:`_CASE_ODD`. A whole-word cue (:attr:`Cue.whole_word`) whose literal is not among them
    cannot match ``text``: a match is the literal's letters in either case between non-word
    characters, which lower-cases to the literal between non-word characters."""
    if not _CASE_ODD.isdisjoint(text):
        return None
    return frozenset(_RUN_RE.findall(text_lower))


def _count(cue: Cue, text: str, text_lower: str | None, cap: int) -> int:
    """Matches of ``cue`` in ``text`` (as ``len(cue.pattern.findall(text))``), counting stopped
    at ``max(cap, 1)``: callers only use ``min(count, cap)`` and whether it is zero.

    An anchored cue (:attr:`Cue.anchored`) is tried only at the occurrences of its literal (in
    ``text``, or in ``text_lower`` for a case-insensitive cue; ``text_lower`` is None when
    ``text`` holds a :data:`_CASE_ODD` character, and then every position is tried): every match
    starts at one, so taking the first match at or after the previous one's end gives
    ``findall``'s matches, and skips the regular expression's attempt at every other position.
    """
    n = 0
    stop = max(cap, 1)
    pattern = cue.pattern
    hay = text if cue.case_sensitive else text_lower
    if not cue.anchored or hay is None:
        for _ in pattern.finditer(text):
            n += 1
            if n >= stop:
                break
        return n
    find, match, lit = hay.find, pattern.match, cue.literal
    pos = 0
    while n < stop:
        p = find(lit, pos)
        if p < 0:
            break
        m = match(text, p)
        if m is None:
            pos = p + 1
            continue
        n += 1
        pos = max(m.end(), p + 1)
    return n


def score_topics(title: str, body: str, taxonomy: Taxonomy) -> dict[str, dict]:
    """Per-topic scores: ``{name: {"score": float, "distinct": int, "strong": int, "cues": [cue, ...],
    "side": bool, "assigned": bool}}`` (``side``: passed its own tests but was dropped as a side
    mention by the taxonomy's ``dominance`` rule). Useful to explain or tune the classification."""
    title = title or ""
    body = body or ""
    words = len(_WORD_RE.findall(body))
    body_lower, title_lower = body.lower(), title.lower()
    body_words, title_words = _text_words(body, body_lower), _text_words(title, title_lower)
    body_folded = body_lower if body_words is not None else None
    out = {}
    for t in taxonomy.topics:
        norm = max(words, t.min_words) / 100.0
        body_sum = title_sum = 0.0
        matched = []
        strong = 0
        for cue in t.cues:
            if cue.case_sensitive:
                in_body_text, in_title_text = cue.literal in body, cue.literal in title
            elif cue.whole_word:
                in_body_text = cue.literal in body_words if body_words is not None else cue.literal in body_lower
                in_title_text = cue.literal in title_words if title_words is not None else cue.literal in title_lower
            else:
                in_body_text, in_title_text = cue.literal in body_lower, cue.literal in title_lower
            n = _count(cue, body, body_folded, t.per_cue_cap) if in_body_text else 0
            in_title = in_title_text and cue.pattern.search(title) is not None
            if n:
                body_sum += cue.weight * min(n, t.per_cue_cap)
            if in_title:
                title_sum += cue.weight
            if n or in_title:
                matched.append(cue.text)
                strong += cue.weight >= STRONG_WEIGHT
        score = body_sum / norm + t.title_weight * title_sum
        distinct = len(matched)
        enough = distinct >= t.min_distinct or (distinct >= 2 and score >= t.dense_factor * t.threshold)
        if t.requires and not any(c.pattern.search(body) or c.pattern.search(title) for c in t.requires):
            enough = False
        out[t.name] = {
            "score": round(score, 3),
            "distinct": distinct,
            "strong": strong,
            "cues": matched,
            "side": False,
            "assigned": score >= t.threshold and enough and strong >= t.min_strong,
        }
    if taxonomy.dominance > 0:
        by_name = {t.name: t for t in taxonomy.topics}
        units = {t.name: out[t.name]["score"] / t.threshold for t in taxonomy.topics if t.threshold > 0}
        rel = {n: r for n, r in units.items() if out[n]["assigned"]}
        top = max((r for n, r in rel.items() if not by_name[n].subtopic_of), default=0.0) \
            or max(rel.values(), default=0.0)
        for name, r in rel.items():
            t = by_name[name]
            if not t.subtopic_of:
                side = r < taxonomy.dominance * top
            else:
                # A subtopic is judged within its broader topic: that topic must have evidence of its
                # own (half its threshold: "quarterly results" must not make an election's vote count)
                # and not be a side mention of the article, and the subtopic must not be a side mention
                # among its siblings.
                parent = max(units.get(p, 0.0) for p in t.subtopic_of)
                siblings = max(rel[o.name] for o in taxonomy.topics
                               if o.name in rel and set(o.subtopic_of) & set(t.subtopic_of))
                side = (parent < max(SUBTOPIC_PARENT_SHARE, taxonomy.dominance * top)
                        or r < taxonomy.dominance * siblings)
            if side:
                out[name]["assigned"] = False
                out[name]["side"] = True
    return out


def classify_topics(title: str, body: str, settings=None) -> list[str]:
    """Topics an article is about, in taxonomy order (e.g. ``["migration", "border-crossing"]``).

    ``settings.topics_file`` (a :class:`pipeline.settings.Settings`; None or a missing field
    means the shipped ``config/topics.yaml``) selects the taxonomy. Raises ConfigError
    (reason ``topics_file``) when the taxonomy file is missing or malformed.
    """
    path = getattr(settings, "topics_file", None) if settings is not None else None
    tax = get_taxonomy(path)
    scores = score_topics(title, body, tax)
    chosen = {name for name in tax.names if scores[name]["assigned"]}
    for t in tax.topics:
        if t.name in chosen:
            chosen.update(t.implies)
    return [name for name in tax.names if name in chosen]
