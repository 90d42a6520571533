"""Scoring enrichment against hand-labelled gold articles (``*.gold.json``).

A gold file has the shape of ``../shared/seeds/*.gold.json``::

    {"title": "...", "text": "...",
     "gold": {"persons": ["Mike Pompeo", ...],
              "organizations": ["Radio Formula", ...],
              "organization_aliases": {"European Union": ["EU"]},
              "locations": [{"name": "Mexico City", "aliases": [], "country_code": "MX",
                             "kind": "city", "lat": 19.43, "lon": -99.13, "admin1": "..."}],
              "quotes": [{"text": "...", "speaker": "Mike Pompeo" | null,
                          "speaker_type": "person" | "organization" | null}],
              "excluded_quoted_spans": ["scare quote", "Title Of A Work"]},
     "topics": ["migration", ...], "meta": {"notes": "..."}}

A predicted document is the enriched-document contract (docs/contract.md) (``persons``,
``organizations``, ``locations``, ``quotes``, ``topics``), as produced by
``pipeline.enrich.enrich_text``. Every function here is pure: no model, no I/O except
:func:`load_gold` / :func:`load_gold_dir`.

Matching rules (one-to-one; each gold item and each predicted item is used at most once):

* **Names** are normalised by :func:`normalize_name`: Unicode accents removed, case folded,
  curly apostrophes made straight, a trailing possessive ``'s``/``'`` dropped, leading
  titles and honorifics dropped (``Gov.``, ``Mr``, ``Dr``, ``President`` ..., see
  :data:`TITLES`), trailing post-nominals dropped (``KC``, ``Jr``, see :data:`POST_NOMINALS`),
  a leading ``the`` dropped, punctuation other than letters/digits
  turned into spaces, whitespace collapsed. "Gov. Greg Abbott's" -> "greg abbott".
* **Persons**: a predicted person matches a gold person when their normalised names are
  equal. A surname alone ("Pompeo") does not match the full name ("Mike Pompeo"): the
  contract asks for the fullest form, so a short form left unmerged is a false positive.
  Predicted entries with the same normalised name are counted once.
* **Organizations**: a predicted organization matches a gold organization when its
  normalised name equals the gold name or one of its ``organization_aliases``. A second
  predicted entry that matches an already matched gold organization ("EU" beside
  "European Union") is a false positive (``unmerged_alias``): the issue asks for them to be
  merged.
* **Locations**: a predicted location matches a gold location when its ``name`` or any of
  its ``surface_forms`` equals (normalised) the gold ``name`` or one of its ``aliases``;
  matches by ``name`` are assigned before matches by surface form. A second predicted
  entry for an already matched gold place is a false positive (``duplicate``).
* **Distance** (share within 161 km): over matched gold places, the great-circle distance
  between gold and predicted coordinates by the haversine formula
  ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with the mean Earth radius
  R = 6371.0088 km (IUGG). A place counts as correct when ``d <= 161 km`` (100 miles, the
  threshold of the Mordecai geoparser evaluations cited in issue 4). Gold places of kind
  ``country`` count as correct when the predicted ``country_code`` equals the gold one
  (country centroids are a convention, not a truth). Gold places of kind ``state``/
  ``admin1``/``province``/``region`` with a country code count the same way (within 161 km,
  or the same country code): the centroid of a large division differs by hundreds of km
  between sources, and a name match inside the right country is the right division (two
  same-named divisions in one country are rare; Georgia the US state against Georgia the
  country differ in code). Places without a country code (continents, mountain ranges)
  are scored by distance only. A matched place without predicted coordinates is
  not within. ``within_161km_all`` also reports the share over all gold places (unmatched
  ones count as not within).
* **Quotes**: texts are compared as token multisets (tokens are runs of letters/digits
  after :func:`normalize_quote`, so quote marks, straight or curly, apostrophes,
  newlines between the paragraphs of a multi-paragraph quote and trailing punctuation do
  not matter). The overlap score is the Dice coefficient ``2|G∩P| / (|G|+|P|)``; a pair
  matches when it is at least :data:`QUOTE_MATCH_DICE` (0.8). Pairs are assigned greedily
  from the highest score. So a predicted quote may miss a word or two of a long gold quote
  or carry one extra word, but a quote cut in half, or two gold quotes merged into one,
  does not match. Each span between quote marks is its own gold quote (a quote split
  around "he said" is two gold quotes). A predicted quote that matches an entry of
  ``excluded_quoted_spans`` (a scare quote or a title of a work) is a false positive
  (``excluded_span``).
* **Speaker accuracy**: over matched quotes, the share whose predicted ``speaker`` equals
  the gold speaker after :func:`normalize_name`; an organization speaker may also be given
  by any of its gold aliases; a gold speaker of null is correct only when the predicted
  speaker is null or empty.
* **Topics**: per-label true/false positives and negatives per document; ``topics`` F1 is
  micro-averaged over every label, and :data:`TOPIC_LABELS_REPORTED` are also reported alone.

Everything is micro-averaged over the set: counts are summed over documents before
precision, recall and F1 are computed. Precision of zero predictions and recall of zero
gold items are 1.0 (nothing to get wrong); F1 is 0.0 when precision and recall are both 0.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from pipeline.errors import GoldFormatError
from pipeline.geo import haversine_km

#: Places within this many km of the truth count as correct: 100 miles, the threshold used in
#: the Mordecai geoparser evaluations (Halterman 2017, 2023) that issue 4 cites.
WITHIN_KM = 161.0
#: Minimum Dice overlap of token multisets for a predicted quote to match a gold quote.
QUOTE_MATCH_DICE = 0.8
#: Topic labels reported on their own (issue 4 gives them a target).
TOPIC_LABELS_REPORTED = ("migration", "border-crossing")
#: Gold location kinds treated as countries / first-order divisions by the distance rule.
COUNTRY_KINDS = frozenset({"country"})
ADMIN1_KINDS = frozenset({"state", "admin1", "province", "region"})

#: Targets of issue 4, keyed like :attr:`EvalReport.figures`.
TARGETS: dict[str, float] = {
    "persons_f1": 0.90,
    "organizations_f1": 0.80,
    "locations_f1": 0.88,
    "quotes_f1": 0.92,
    "speaker_accuracy": 0.90,
    "within_161km": 0.90,
    "topic_migration_f1": 0.90,
    "topic_border-crossing_f1": 0.90,
}
#: Off-the-shelf figures of issue 4 (spaCy small, textacy, most-populous gazetteer).
BASELINES: dict[str, float] = {
    "persons_f1": 0.70,
    "organizations_f1": 0.63,
    "locations_f1": 0.86,
    "quotes_f1": 0.84,
    "speaker_accuracy": 0.16,
    "within_161km": 0.57,
}

#: Titles and honorifics dropped from the front of a name by :func:`normalize_name`
#: (compared without their trailing period, case folded).
TITLES = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend fr father sister
    gov governor lt sen senator rep representative congressman congresswoman
    president vice pres premier prime minister chancellor mayor deputy secretary
    gen general col colonel maj major capt captain sgt sergeant cmdr commander adm admiral
    judge justice chief inspector detective det supt superintendent officer constable
    king queen prince princess sheikh pope bishop archbishop cardinal rabbi imam
    coach mp mep amb ambassador attorney former late st
    """.split()
)
#: Post-nominal letters dropped from the end of a name by :func:`normalize_name`.
POST_NOMINALS = frozenset("kc qc mp mep jr sr ii iii phd md obe mbe cbe dbe kbe".split())

_QUOTE_CHARS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


# ----------------------------------------------------------------------------- normalising
def _fold(text: str) -> str:
    text = "".join(_QUOTE_CHARS.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.casefold()


def normalize_name(name: str | None) -> str:
    """Normalise a person, organization or place name for comparison (rules in the module doc).

    Returns "" for None or an empty name. Titles are only dropped while at least one other
    word remains ("President" alone stays "president").
    """
    if not name:
        return ""
    text = _fold(name).strip()
    text = re.sub(r"'s?$", "", text)
    words = [w for w in re.split(r"[^\w]+", text.replace("'", "")) if w]
    while len(words) > 1 and words[0] in TITLES:
        words = words[1:]
    while len(words) > 1 and words[-1] in POST_NOMINALS:
        words = words[:-1]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def normalize_quote(text: str | None) -> list[str]:
    """Tokens of a quote for matching: case folded, accents removed, runs of letters/digits.

    Quote marks (straight or curly), apostrophes, punctuation and whitespace (including
    paragraph breaks) are separators, so "Mexico’s" and "Mexico's" give the same tokens.
    """
    if not text:
        return []
    return _WORD.findall(_fold(text).replace("'", ""))





# ----------------------------------------------------------------------------- gold records
@dataclass
class GoldRecord:
    """One gold article. ``locations`` and ``quotes`` keep the gold file's dicts.

    ``organization_aliases`` maps a gold organization's name to its aliases.
    """

    name: str
    text: str
    title: str = ""
    persons: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    organization_aliases: dict[str, list[str]] = field(default_factory=dict)
    locations: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    excluded_quoted_spans: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


def _require(cond: bool, name: str, what: str) -> None:
    if not cond:
        raise GoldFormatError(f"{name}: {what}")


def gold_from_dict(data: Mapping[str, Any], name: str = "<gold>") -> GoldRecord:
    """Validate a parsed gold file and return a :class:`GoldRecord`.

    ``organization_aliases`` may map full name -> [aliases] (the documented form) or
    alias -> full name; both are normalised to the first form.
    Raises :class:`~pipeline.errors.GoldFormatError` naming the file and the problem.
    """
    _require(isinstance(data, Mapping), name, "top level is not an object")
    text = data.get("text")
    _require(isinstance(text, str) and text.strip() != "", name, "'text' missing or empty")
    gold = data.get("gold")
    _require(isinstance(gold, Mapping), name, "'gold' missing or not an object")
    persons = gold.get("persons", [])
    _require(isinstance(persons, list) and all(isinstance(p, str) for p in persons), name, "'gold.persons' must be a list of strings")
    orgs = gold.get("organizations", [])
    _require(isinstance(orgs, list) and all(isinstance(o, str) for o in orgs), name, "'gold.organizations' must be a list of strings")
    raw_aliases = gold.get("organization_aliases") or {}
    _require(isinstance(raw_aliases, Mapping), name, "'gold.organization_aliases' must be an object")
    aliases: dict[str, list[str]] = {}
    for key, value in raw_aliases.items():
        if isinstance(value, str):
            aliases.setdefault(value, []).append(key)
        else:
            _require(isinstance(value, list) and all(isinstance(v, str) for v in value), name,
                     f"organization_aliases[{key!r}] must be a list of strings")
            aliases.setdefault(key, []).extend(value)
    locs = gold.get("locations", [])
    _require(isinstance(locs, list), name, "'gold.locations' must be a list")
    for i, loc in enumerate(locs):
        _require(isinstance(loc, Mapping) and isinstance(loc.get("name"), str), name, f"location {i} needs a 'name'")
        for key in ("lat", "lon"):
            v = loc.get(key)
            _require(v is None or isinstance(v, (int, float)), name, f"location {loc.get('name')!r}: '{key}' must be a number")
        _require(isinstance(loc.get("aliases", []), list), name, f"location {loc.get('name')!r}: 'aliases' must be a list")
    quotes = gold.get("quotes", [])
    _require(isinstance(quotes, list), name, "'gold.quotes' must be a list")
    for i, q in enumerate(quotes):
        _require(isinstance(q, Mapping) and isinstance(q.get("text"), str) and q["text"].strip() != "", name, f"quote {i} needs a non-empty 'text'")
        _require(q.get("speaker") is None or isinstance(q.get("speaker"), str), name, f"quote {i}: 'speaker' must be a string or null")
    excluded = gold.get("excluded_quoted_spans", [])
    _require(isinstance(excluded, list) and all(isinstance(e, str) for e in excluded), name, "'gold.excluded_quoted_spans' must be a list of strings")
    topics = data.get("topics", gold.get("topics", []))
    _require(isinstance(topics, list) and all(isinstance(t, str) for t in topics), name, "'topics' must be a list of strings")
    return GoldRecord(
        name=name, text=text, title=str(data.get("title") or ""),
        persons=list(persons), organizations=list(orgs), organization_aliases=aliases,
        locations=[dict(loc) for loc in locs], quotes=[dict(q) for q in quotes],
        excluded_quoted_spans=list(excluded), topics=list(topics),
    )


def load_gold(path: Path | str) -> GoldRecord:
    """Read and validate one ``*.gold.json`` file. Raises ``GoldFormatError`` (reason ``gold_format``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldFormatError(f"{path}: cannot read JSON: {exc}") from exc
    return gold_from_dict(data, name=path.name)


def load_gold_dir(directory: Path | str) -> list[GoldRecord]:
    """Load every ``*.gold.json`` in ``directory`` (not recursive), sorted by file name.

    Raises ``GoldFormatError`` when the directory is missing, holds no gold file, or a file
    is malformed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise GoldFormatError(f"{directory}: not a directory", reason="gold_missing")
    paths = sorted(directory.glob("*.gold.json"))
    if not paths:
        raise GoldFormatError(f"{directory}: no *.gold.json files", reason="gold_missing")
    return [load_gold(p) for p in paths]


# ----------------------------------------------------------------------------- counts
@dataclass
class Counts:
    """True positives, false positives and false negatives, with P/R/F1 derived."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        """Add ``other``'s counts into this one (micro-averaging)."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; 0.0 when both are 0."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """``{"tp", "fp", "fn", "precision", "recall", "f1"}`` with figures rounded to 4 places."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Ratio:
    """``hits`` out of ``total``; ``value`` is 1.0 when ``total`` is 0."""

    hits: int = 0
    total: int = 0

    def add(self, other: "Ratio") -> None:
        """Add ``other`` into this one."""
        self.hits += other.hits
        self.total += other.total

    @property
    def value(self) -> float:
        """hits / total, or 1.0 for an empty ratio."""
        return self.hits / self.total if self.total else 1.0

    def to_dict(self) -> dict[str, float | int]:
        """``{"hits", "total", "value"}``."""
        return {"hits": self.hits, "total": self.total, "value": round(self.value, 4)}


FIELDS = ("persons", "organizations", "locations", "quotes", "topics")


@dataclass
class DocScore:
    """Scores of one document: counts per field, per topic label, ratios and the misses.

    Each miss is a dict ``{"doc", "field", "kind", "gold", "predicted", "detail"}`` with
    ``kind`` one of ``false_negative``, ``false_positive``, ``unmerged_alias``,
    ``duplicate``, ``excluded_span``, ``wrong_speaker``, ``far_place``, ``no_coordinates``.
    """

    doc: str
    fields: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELDS})
    topic_labels: dict[str, Counts] = field(default_factory=dict)
    speaker: Ratio = field(default_factory=Ratio)
    within: Ratio = field(default_factory=Ratio)
    within_all: Ratio = field(default_factory=Ratio)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def miss(self, fld: str, kind: str, gold: Any = None, predicted: Any = None, detail: str = "") -> None:
        """Record one miss."""
        self.misses.append({"doc": self.doc, "field": fld, "kind": kind, "gold": gold,
                            "predicted": predicted, "detail": detail})


# ----------------------------------------------------------------------------- helpers
def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def as_document(predicted: Any) -> dict[str, Any]:
    """Turn what ``enrich_text`` returned into a plain dict (dict, pydantic model or dataclass)."""
    if isinstance(predicted, Mapping):
        return dict(predicted)
    for attr in ("model_dump", "to_dict", "dict"):
        fn = getattr(predicted, attr, None)
        if callable(fn):
            return dict(fn())
    if hasattr(predicted, "__dict__"):
        return dict(vars(predicted))
    raise TypeError(f"cannot read a predicted document of type {type(predicted).__name__}")


def _names(items: Iterable[Any]) -> list[str]:
    out = []
    for it in items or []:
        name = it if isinstance(it, str) else _get(it, "name")
        if name:
            out.append(str(name))
    return out


# ----------------------------------------------------------------------------- fields
def score_persons(gold: GoldRecord, predicted: Sequence[Any], ds: DocScore) -> Counts:
    """Count persons by normalised name (rules in the module doc); misses go into ``ds``."""
    c = Counts()
    gold_keys = {}
    for g in gold.persons:
        gold_keys.setdefault(normalize_name(g), g)
    seen: set[str] = set()
    matched: set[str] = set()
    for name in _names(predicted):
        key = normalize_name(name)
        if key in seen or not key:
            continue
        seen.add(key)
        if key in gold_keys and key not in matched:
            matched.add(key)
            c.tp += 1
        else:
            c.fp += 1
            ds.miss("persons", "false_positive", predicted=name)
    for key, g in gold_keys.items():
        if key not in matched:
            c.fn += 1
            ds.miss("persons", "false_negative", gold=g)
    return c


def _org_keys(gold: GoldRecord) -> dict[str, str]:
    """Map every normalised form (name and aliases) to its gold organization's name."""
    keys: dict[str, str] = {}
    for org in gold.organizations:
        keys.setdefault(normalize_name(org), org)
        for alias in gold.organization_aliases.get(org, []):
            keys.setdefault(normalize_name(alias), org)
    return keys


def score_organizations(gold: GoldRecord, predicted: Sequence[Any], ds: DocScore) -> Counts:
    """Count organizations by normalised name or gold alias (rules in the module doc)."""
    c = Counts()
    keys = _org_keys(gold)
    matched: set[str] = set()
    seen: set[str] = set()
    for name in _names(predicted):
        key = normalize_name(name)
        if key in seen or not key:
            continue
        seen.add(key)
        org = keys.get(key)
        if org is None:
            c.fp += 1
            ds.miss("organizations", "false_positive", predicted=name)
        elif org in matched:
            c.fp += 1
            ds.miss("organizations", "unmerged_alias", gold=org, predicted=name,
                    detail="an alias of an organization already listed under another name")
        else:
            matched.add(org)
            c.tp += 1
    for org in dict.fromkeys(gold.organizations):
        if org not in matched:
            c.fn += 1
            ds.miss("organizations", "false_negative", gold=org)
    return c


def _place_ok(g: Mapping[str, Any], p: Any) -> tuple[bool | None, float | None]:
    """(correct?, distance km) for a matched gold/predicted place; None when gold has no point."""
    glat, glon = g.get("lat"), g.get("lon")
    plat, plon = _get(p, "lat"), _get(p, "lon")
    kind = str(g.get("kind") or "").lower()
    gcc = str(g.get("country_code") or "").upper()
    pcc = str(_get(p, "country_code") or "").upper()
    dist = None
    if None not in (glat, glon, plat, plon):
        dist = haversine_km(float(glat), float(glon), float(plat), float(plon))
    if kind in COUNTRY_KINDS and gcc:
        return (pcc == gcc), dist
    if glat is None or glon is None:
        return None, dist
    if dist is None:
        return (kind in ADMIN1_KINDS and bool(gcc) and pcc == gcc), None
    if dist <= WITHIN_KM:
        return True, dist
    if kind in ADMIN1_KINDS and gcc and pcc == gcc:
        return True, dist
    return False, dist


def score_locations(gold: GoldRecord, predicted: Sequence[Any], ds: DocScore) -> Counts:
    """Count locations matched by name, aliases and surface forms, and score their distance.

    Updates ``ds.within`` (over matched gold places with coordinates) and ``ds.within_all``
    (over all gold places with coordinates); rules in the module doc.
    """
    c = Counts()
    gold_forms: list[set[str]] = []
    for g in gold.locations:
        forms = {normalize_name(g["name"])} | {normalize_name(a) for a in g.get("aliases", []) or []}
        gold_forms.append({f for f in forms if f})
    preds = [p for p in predicted or [] if _get(p, "name")]
    pred_names = [normalize_name(_get(p, "name")) for p in preds]
    pred_surfaces = [{normalize_name(s) for s in (_get(p, "surface_forms") or [])} - {""} for p in preds]
    g_match: dict[int, int] = {}
    p_match: dict[int, int] = {}
    for by_surface in (False, True):
        for pi, p in enumerate(preds):
            if pi in p_match:
                continue
            forms = pred_surfaces[pi] if by_surface else {pred_names[pi]}
            for gi, gforms in enumerate(gold_forms):
                if gi not in g_match and forms & gforms:
                    g_match[gi], p_match[pi] = pi, gi
                    break
    for pi, p in enumerate(preds):
        if pi in p_match:
            continue
        forms = {pred_names[pi]} | pred_surfaces[pi]
        dup = next((gi for gi, gf in enumerate(gold_forms) if forms & gf), None)
        c.fp += 1
        if dup is not None:
            ds.miss("locations", "duplicate", gold=gold.locations[dup]["name"], predicted=_get(p, "name"),
                    detail="a second entry for a place already matched")
        else:
            ds.miss("locations", "false_positive", predicted=_get(p, "name"))
    for gi, g in enumerate(gold.locations):
        has_point = g.get("lat") is not None and g.get("lon") is not None or str(g.get("kind") or "").lower() in COUNTRY_KINDS
        if gi not in g_match:
            c.fn += 1
            ds.miss("locations", "false_negative", gold=g["name"])
            if has_point:
                ds.within_all.total += 1
            continue
        c.tp += 1
        p = preds[g_match[gi]]
        ok, dist = _place_ok(g, p)
        if ok is None:
            continue
        ds.within.total += 1
        ds.within_all.total += 1
        if ok:
            ds.within.hits += 1
            ds.within_all.hits += 1
        elif dist is None and _get(p, "lat") is None:
            ds.miss("locations", "no_coordinates", gold=g["name"], predicted=_get(p, "name"))
        else:
            detail = f"{dist:.0f} km from the truth" if dist is not None else "wrong country"
            pred_desc = f"{_get(p, 'name')} ({_get(p, 'country_code')}, {_get(p, 'lat')}, {_get(p, 'lon')})"
            ds.miss("locations", "far_place", gold=f"{g['name']} ({g.get('country_code')}, {g.get('lat')}, {g.get('lon')})",
                    predicted=pred_desc, detail=detail)
    return c


def _dice(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    overlap = sum((Counter(a) & Counter(b)).values())
    return 2 * overlap / (len(a) + len(b))


def _speaker_ok(gold: GoldRecord, gold_speaker: str | None, pred_speaker: str | None) -> bool:
    g, p = normalize_name(gold_speaker), normalize_name(pred_speaker)
    if not g:
        return not p
    if g == p:
        return True
    for org in gold.organizations:
        forms = {normalize_name(org)} | {normalize_name(a) for a in gold.organization_aliases.get(org, [])}
        if g in forms and p in forms:
            return True
    return False


def score_quotes(gold: GoldRecord, predicted: Sequence[Any], ds: DocScore) -> Counts:
    """Count quotes matched by token overlap and score speakers (rules in the module doc).

    Updates ``ds.speaker`` over matched quotes.
    """
    c = Counts()
    gtoks = [normalize_quote(q["text"]) for q in gold.quotes]
    preds = [p for p in predicted or [] if _get(p, "text")]
    ptoks = [normalize_quote(_get(p, "text")) for p in preds]
    pairs = []
    for gi, gt in enumerate(gtoks):
        for pi, pt in enumerate(ptoks):
            d = _dice(gt, pt)
            if d >= QUOTE_MATCH_DICE:
                pairs.append((d, -gi, -pi, gi, pi))
    pairs.sort(reverse=True)
    g_match: dict[int, int] = {}
    p_match: set[int] = set()
    for _d, _a, _b, gi, pi in pairs:
        if gi in g_match or pi in p_match:
            continue
        g_match[gi] = pi
        p_match.add(pi)
    excluded = [normalize_quote(e) for e in gold.excluded_quoted_spans]
    for pi, p in enumerate(preds):
        if pi in p_match:
            continue
        c.fp += 1
        if any(_dice(ptoks[pi], e) >= QUOTE_MATCH_DICE for e in excluded):
            ds.miss("quotes", "excluded_span", predicted=_get(p, "text"),
                    detail="a scare quote or title of a work listed in excluded_quoted_spans")
        else:
            ds.miss("quotes", "false_positive", predicted=_get(p, "text"), detail=f"speaker {_get(p, 'speaker')!r}")
    for gi, q in enumerate(gold.quotes):
        if gi not in g_match:
            c.fn += 1
            ds.miss("quotes", "false_negative", gold=q["text"], detail=f"speaker {q.get('speaker')!r}")
            continue
        c.tp += 1
        p = preds[g_match[gi]]
        ds.speaker.total += 1
        if _speaker_ok(gold, q.get("speaker"), _get(p, "speaker")):
            ds.speaker.hits += 1
        else:
            ds.miss("quotes", "wrong_speaker", gold=q.get("speaker"), predicted=_get(p, "speaker"),
                    detail=q["text"][:80])
    return c


def score_topics(gold: GoldRecord, predicted: Sequence[str], ds: DocScore) -> Counts:
    """Count topic labels (sets per document); fills ``ds.topic_labels`` per label."""
    c = Counts()
    g, p = set(gold.topics), {str(t) for t in predicted or []}
    for label in g | p:
        lc = ds.topic_labels.setdefault(label, Counts())
        if label in g and label in p:
            lc.tp += 1
        elif label in p:
            lc.fp += 1
            ds.miss("topics", "false_positive", predicted=label)
        else:
            lc.fn += 1
            ds.miss("topics", "false_negative", gold=label)
        c.add(Counts(int(label in g and label in p), int(label in p and label not in g), int(label in g and label not in p)))
    return c


def score_document(gold: GoldRecord, predicted: Any) -> DocScore:
    """Score one predicted contract document against its gold record.

    ``predicted`` is a dict (or model) with ``persons``, ``organizations``, ``locations``,
    ``quotes`` and ``topics`` as in docs/contract.md; missing fields count as empty.
    """
    doc = as_document(predicted)
    ds = DocScore(doc=gold.name)
    ds.fields["persons"] = score_persons(gold, doc.get("persons") or [], ds)
    ds.fields["organizations"] = score_organizations(gold, doc.get("organizations") or [], ds)
    ds.fields["locations"] = score_locations(gold, doc.get("locations") or [], ds)
    ds.fields["quotes"] = score_quotes(gold, doc.get("quotes") or [], ds)
    ds.fields["topics"] = score_topics(gold, doc.get("topics") or [], ds)
    return ds


# ----------------------------------------------------------------------------- the set
@dataclass
class EvalReport:
    """Micro-averaged scores over a set of documents, with every miss."""

    documents: int = 0
    fields: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELDS})
    topic_labels: dict[str, Counts] = field(default_factory=dict)
    speaker: Ratio = field(default_factory=Ratio)
    within: Ratio = field(default_factory=Ratio)
    within_all: Ratio = field(default_factory=Ratio)
    misses: list[dict[str, Any]] = field(default_factory=list)
    per_document: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ds: DocScore) -> None:
        """Fold one document's scores into the totals."""
        self.documents += 1
        for f, cnt in ds.fields.items():
            self.fields.setdefault(f, Counts()).add(cnt)
        for label, cnt in ds.topic_labels.items():
            self.topic_labels.setdefault(label, Counts()).add(cnt)
        self.speaker.add(ds.speaker)
        self.within.add(ds.within)
        self.within_all.add(ds.within_all)
        self.misses.extend(ds.misses)
        self.per_document.append({"doc": ds.doc, **{f"{f}_f1": round(c.f1, 4) for f, c in ds.fields.items()},
                                  "speaker_accuracy": round(ds.speaker.value, 4), "within_161km": round(ds.within.value, 4),
                                  "misses": len(ds.misses)})

    @property
    def figures(self) -> dict[str, float]:
        """Headline figures keyed like :data:`TARGETS` (plus ``topics_f1`` and ``within_161km_all``)."""
        out = {f"{f}_f1": c.f1 for f, c in self.fields.items() if f != "topics"}
        out["speaker_accuracy"] = self.speaker.value
        out["within_161km"] = self.within.value
        out["within_161km_all"] = self.within_all.value
        out["topics_f1"] = self.fields["topics"].f1
        for label in TOPIC_LABELS_REPORTED:
            out[f"topic_{label}_f1"] = self.topic_labels.get(label, Counts()).f1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: ``documents``, ``figures``, ``targets``, ``baselines``, ``fields``,
        ``topic_labels``, ``speaker_accuracy``, ``within_161km``, ``within_161km_all``,
        ``per_document`` and ``misses``."""
        figs = self.figures
        return {
            "documents": self.documents,
            "figures": {k: round(v, 4) for k, v in figs.items()},
            "targets": dict(TARGETS),
            "baselines": dict(BASELINES),
            "targets_met": {k: figs[k] >= t for k, t in TARGETS.items() if k in figs},
            "fields": {f: c.to_dict() for f, c in self.fields.items()},
            "topic_labels": {k: self.topic_labels[k].to_dict() for k in sorted(self.topic_labels)},
            "speaker_accuracy": self.speaker.to_dict(),
            "within_161km": self.within.to_dict(),
            "within_161km_all": self.within_all.to_dict(),
            "per_document": self.per_document,
            "misses": self.misses,
        }


def score_set(pairs: Iterable[tuple[GoldRecord, Any]]) -> EvalReport:
    """Micro-average :func:`score_document` over ``(gold, predicted)`` pairs."""
    report = EvalReport()
    for gold, predicted in pairs:
        report.add(score_document(gold, predicted))
    return report


def evaluate(records: Sequence[GoldRecord], enrich: Callable[[GoldRecord], Any],
             progress: Callable[[GoldRecord], None] | None = None) -> EvalReport:
    """Run ``enrich(record)`` on every gold record and score the results.

    ``enrich`` returns a contract document; ``progress`` is called after each record (for a
    progress bar). Exceptions from ``enrich`` propagate.
    """
    report = EvalReport()
    for rec in records:
        report.add(score_document(rec, enrich(rec)))
        if progress is not None:
            progress(rec)
    return report
