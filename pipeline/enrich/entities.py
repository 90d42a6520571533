"""Persons and organizations from one spaCy ``Doc``, merged into canonical entities.

What this adds to spaCy's NER (rules are ours, written for English news):

* **Persons**: the canonical name is the fullest form the article uses; shorter forms (the
  surname "Pompeo", the first name, "Luis Lopez" for "Luis Manuel Lopez") and possessives
  resolve to it. Titles and honorifics in front of a name ("Gov.", "President") are dropped.
  A surname the model tagged as something else ("Videgaray" as ORG) still counts as a mention
  once the full name is known. Role descriptions the article ties to a name ("Mexico's
  ambassador to Guatemala, Luis Manuel Lopez"; "Foreign Minister X") are recorded so that
  "the ambassador said" can be resolved by :mod:`pipeline.enrich.quotes`.
* **Dropped**: demonyms ("Honduran"), spans that overlap a geoparsed place (spaCy's small model
  tags border towns as PERSON), boilerplate lines ("Related Story"), bare titles.
* **Organizations**: named ones only; acronyms ("EU") and short forms merge into the full
  name when the article gives both; no persons (or their surnames) and no places. Spanish and
  Portuguese institution names run over "del"/"de" ("Casa del Caminante"); facilities named as
  institutions ("Centro de Derechos Humanos ...") count; treaties ("... Agreement (USMCA)") and
  outlets in a credit line ("distributed by Meridian Wire") do not.
* **Names given as such** ("who gave her name only as Yudith", "identified only as Karim") are
  persons whatever NER tagged them, and stand for the unnamed subject they describe.

The result is an :class:`EntityAnalysis`, which also answers the quote stage's questions
("which person is this token?", "who was the last person in subject position before
character 812?").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

from pipeline.enrich.lexicon import (
    BOILERPLATE_WORDS,
    CLUB_ROLE_NOUNS,
    COMPANY_CUE_NOUNS,
    COMPANY_PLURALS,
    DEPARTMENT_WORDS,
    DEMONYMS,
    DEMONYM_PHRASES,
    EVENT_WORDS,
    FEMALE_WORDS,
    GENERIC_ORG_WORDS,
    HONORIFICS,
    INSTITUTION_NOUNS,
    KNOWN_PLATFORMS,
    LEGAL_FORM_SUFFIXES,
    MALE_WORDS,
    NAME_PARTICLES,
    OFFICE_WORDS,
    ORG_FUNCTION_WORDS,
    ORG_PREFIXES,
    ORG_SUFFIXES,
    ORIGIN_PARTICIPLES,
    STORM_WORDS,
    PERSON_NOUNS,
    PERSON_TITLES,
    PLACE_NOUNS,
    PLACE_PREFIXES,
    PLACE_SUFFIXES,
    ROLE_NOUNS,
    SPEECH_VERBS,
    STAFF_NOUNS,
    STREET_WORDS,
    TELLING_VERBS,
    VESSEL_NOUNS,
)
from pipeline.enrich.nlp import doc_ents, doc_text, doc_tokens

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span, Token

_APOS = "'\u2019"


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` for comparisons ("Peña" -> "pena")."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return t.replace("\u2019", "'").casefold()


@lru_cache(maxsize=65536)
def _word_key(text: str) -> str:
    return re.sub(r"[^\w]+", "", fold(text))


def is_demonym(text: str, norp: frozenset[str] = frozenset()) -> bool:
    """True when ``text`` is a nationality/group word ("Honduran", "Central Americans").

    ``norp`` adds words the document's NER tagged as NORP (folded).
    """
    f = " ".join(fold(text).split())
    return f in DEMONYMS or f in DEMONYM_PHRASES or f in norp


def _appos_anchor(tok: "Token") -> "Token":
    """What an apposition really attaches to: spaCy often hangs "Mexico's ambassador to
    Guatemala, Luis Manuel Lopez," on the place; climb back to the noun it describes."""
    h = tok.head
    if h.dep_ == "pobj" and h.head.dep_ == "prep" and h.head.head.pos_ in ("NOUN", "PROPN") \
            and (h.ent_type_ in ("GPE", "LOC", "ORG", "NORP", "FAC") or h.head.head.lemma_.lower() in PERSON_NOUNS):
        return h.head.head
    return h


@dataclass
class Mention:
    """One mention of a person or organization: character span ``[start, end)`` in the text,
    the token span ``[tok_start, tok_end)``, the surface form and the canonical name."""

    start: int
    end: int
    tok_start: int
    tok_end: int
    text: str
    kind: str  # "person" | "organization"
    canonical: str = ""
    is_subject: bool = False
    is_main_subject: bool = False


@dataclass
class EntityAnalysis:
    """Persons and organizations of one document, with lookups used by the quote stage.

    ``persons``/``organizations`` are contract entries ``{"name", "mentions", "surface_forms"}``
    ordered by first appearance. ``roles`` maps a role noun (lower case lemma, "ambassador") to
    ``[(char_offset, canonical_person), ...]`` in text order.
    """

    persons: list[dict] = field(default_factory=list)
    organizations: list[dict] = field(default_factory=list)
    person_mentions: list[Mention] = field(default_factory=list)
    org_mentions: list[Mention] = field(default_factory=list)
    roles: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    org_nouns: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    gender: dict[str, str] = field(default_factory=dict)
    _tok_person: dict[int, Mention] = field(default_factory=dict, repr=False)
    _tok_org: dict[int, Mention] = field(default_factory=dict, repr=False)

    def index(self) -> None:
        """(Re)build the token lookups after mentions change."""
        self._tok_person = {i: m for m in self.person_mentions for i in range(m.tok_start, m.tok_end)}
        self._tok_org = {i: m for m in self.org_mentions for i in range(m.tok_start, m.tok_end)}

    def person_at_token(self, i: int) -> Mention | None:
        """The person mention covering token ``i``, or None."""
        return self._tok_person.get(i)

    def org_at_token(self, i: int) -> Mention | None:
        """The organization mention covering token ``i``, or None."""
        return self._tok_org.get(i)

    def role_person(self, role: str, before: int) -> str | None:
        """The canonical person the article tied to ``role`` (lemma) most recently before char
        ``before`` (or the first such tie after it when none precedes), else None."""
        ties = self.roles.get(role.lower())
        if not ties:
            return None
        prior = [name for pos, name in ties if pos < before]
        if prior:
            return prior[-1]
        return ties[0][1] if len({n for _, n in ties}) == 1 else None

    def org_for_noun(self, noun: str, before: int) -> str | None:
        """The organization the article described with ``noun`` ("the IG Metall union",
        "Volkswagen, the carmaker") most recently before char ``before``, else None."""
        ties = [name for pos, name in self.org_nouns.get(noun.lower(), []) if pos < before]
        return ties[-1] if ties else None

    def compatible(self, canonical: str | None, gender: str | None) -> bool:
        """False only when the person's known gender ("m"/"f") contradicts ``gender``."""
        if canonical is None or gender is None:
            return True
        known = self.gender.get(canonical)
        return known is None or known == gender

    def last_person(self, before: int, *, subject_only: bool = True, main_only: bool = False,
                    after: int = 0, gender: str | None = None) -> Mention | None:
        """The last person mention that ends before char ``before`` and starts at or after
        ``after``; with ``subject_only`` only mentions in subject position count, with
        ``main_only`` only subjects of a main clause."""
        for m in reversed(self.person_mentions):
            if m.end > before or m.start < after:
                continue
            if subject_only and not m.is_subject:
                continue
            if main_only and not m.is_main_subject:
                continue
            if not self.compatible(m.canonical, gender):
                continue
            return m
        return None


# ----------------------------------------------------------------------------- helpers
def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _clean_tokens(tokens: Sequence["Token"], *, titles: frozenset[str], norp: frozenset[str],
                  strip_demonyms: bool = False) -> list["Token"]:
    toks = list(tokens)
    while toks:
        t = toks[0]
        low = fold(t.text).rstrip(".")
        if t.is_punct or t.is_space or t.pos_ == "DET" or low in titles or (strip_demonyms and (is_demonym(t.text, norp) or low in ("us", "u.s", "uk"))) or low == "the":
            toks.pop(0)
            continue
        break
    while toks:
        t = toks[-1]
        if t.is_punct or t.is_space or t.text in _APOS or fold(t.text) in ("'s",) or t.tag_ == "POS":
            toks.pop()
            continue
        # a nationality word never ends a name: it starts the next noun phrase ("said on
        # Telegram Russian troops ...", tagged as one name)
        if strip_demonyms and len(toks) > 1 and is_demonym(t.text, norp) and _starts_noun_phrase(t):
            toks.pop()
            continue
        break
    return toks


def _starts_noun_phrase(t: "Token") -> bool:
    """True when a lower-case noun follows ``t`` ("Russian troops"): a nationality word there
    modifies that noun; before a verb or a comma it is a surname ("Jeff French said")."""
    doc = t.doc
    nxt = doc[t.i + 1] if t.i + 1 < len(doc) else None
    return nxt is not None and nxt.text.islower() and nxt.pos_ in ("NOUN", "ADJ")


def _strip_role_words(toks: list["Token"]) -> list["Token"]:
    """Drop leading capitalised role words ("Administrator Rachel Okoye") while two name
    words remain."""
    while len(toks) > 2 and fold(toks[0].text).rstrip(".") in PERSON_NOUNS:
        toks = toks[1:]
    # "Cook County Clerk Monica Reyes": the name is what follows the last role word
    for k in range(len(toks) - 3, 0, -1):
        low = fold(toks[k].text).rstrip(".")
        if toks[k].text[:1].isupper() and (low in PERSON_NOUNS or low in PERSON_TITLES):
            return toks[k + 1:]
    return toks


def _strip_possessive(text: str) -> str:
    return re.sub(r"(?:['\u2019]s|(?<=s)['\u2019])$", "", text).strip()


def _span_text(doc: "Doc", toks: Sequence["Token"]) -> str:
    if not toks:
        return ""
    return _strip_possessive(doc_text(doc)[toks[0].idx: toks[-1].idx + len(toks[-1].text)])


#: An acronym in the plural ("MPs", "CEOs", "NGOs").
_PLURAL_ACRONYM = re.compile(r"^[A-Z]{2,}s$")


def _valid_person_name(toks: Sequence["Token"], text: str) -> bool:
    if not toks or len(toks) > 5 or any(c.isdigit() for c in text):
        return False
    words = [t for t in toks if not t.is_punct]
    if not words:
        return False
    for t in words:
        w = t.text
        if w[0].isupper():
            continue
        if fold(w) in NAME_PARTICLES:
            continue
        return False
    if len(words) == 1 and words[0].text.isupper() and len(words[0].text) <= 5:
        return False  # "NATO", "CNN"
    if _PLURAL_ACRONYM.match(words[-1].text):
        return False  # "Labour MPs", "CEOs": a plural is a group, never one person's name
    if all(fold(t.text).rstrip(".") in BOILERPLATE_WORDS for t in words):
        return False
    if all(fold(t.text).rstrip(".") in PERSON_TITLES for t in words):
        return False
    if len(words) > 1 and fold(words[-1].text).rstrip(".") in OFFICE_WORDS:
        return False  # "Cook County Clerk"
    return True


def _key_tokens(text: str) -> tuple[str, ...]:
    return tuple(k for k in (_word_key(w) for w in re.split(r"[\s\-]+", text)) if k)


def _is_subname(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """True when ``short`` is a shorter reference to the name ``full``: its surname(s)
    (suffix), first name(s) (prefix) or first and last name of a longer name."""
    n, m = len(short), len(full)
    if n >= m or n == 0:
        return False
    if full[m - n:] == short or full[:n] == short:
        return True
    if n >= 2 and short[0] == full[0] and short[-1] == full[-1]:
        it = iter(full)
        return all(w in it for w in short)
    return False


def _titled_subject(span: "Span") -> "Token | None":
    """The subject token whose title phrase the name ends, or None: in "the High Commissioner to
    Freedonia Ana Reyes said" or "Assistant Commissioner of Dhaka City Police Omar Rahman said"
    the parser makes the title the subject and hangs the name on its "to"/"of" phrase; the name
    is still the head of that phrase (a title is a modifier of the name that follows it)."""
    r = span.root
    if r.dep_ != "pobj" or r.head.dep_ != "prep":
        return None
    noun = r.head.head
    if noun.dep_ not in ("nsubj", "nsubjpass") or noun.right_edge.i != span.end - 1:
        return None
    low = fold(noun.text).rstrip(".")
    return noun if (low in PERSON_TITLES or low in ROLE_NOUNS) and noun.text[:1].isupper() else None


def _mention_is_subject(doc: "Doc", tok_start: int, tok_end: int) -> tuple[bool, bool]:
    """(is a subject, is the subject of a main clause) for the mention's tokens."""
    span = doc[tok_start:tok_end]
    t = span.root
    titled = _titled_subject(span)
    if titled is not None:
        v = titled.head
        return True, v.dep_ == "ROOT" or (v.dep_ == "conj" and v.head.dep_ == "ROOT")
    for _ in range(4):
        if t.dep_ in ("nsubj", "nsubjpass"):
            v = t.head
            main = v.dep_ == "ROOT" or (v.dep_ == "conj" and v.head.dep_ == "ROOT")
            return True, main
        if t.dep_ in ("appos", "compound", "conj") and t.head.i != t.i:  # spaCy makes a new Token per access: compare indices
            t = _appos_anchor(t) if t.dep_ == "appos" else t.head
            continue
        break
    # the name heads a relative clause it is the subject of: "Andrea Kellner of Austria, ...,
    # who said ..." (the name itself is an object of the main clause)
    r = span.root
    if any(c.dep_ == "relcl" and any(g.dep_ in ("nsubj", "nsubjpass") and g.lower_ in ("who", "that")
                                     for g in c.children) for c in r.children):
        return True, False
    # "A volunteer at the dock, who gave only her first name, Giulia, said": a name given for an
    # unnamed subject ("a volunteer", "a nurse") is that subject
    head = doc_text(doc)[max(0, span.start_char - 80):span.start_char]
    cue = _GIVEN_NAME_CUE.search(head + span.text[:1])
    if cue is not None and cue.end() == len(head):
        for t in doc[span.sent.start:tok_start]:
            if t.dep_ in ("nsubj", "nsubjpass") and t.pos_ == "NOUN" and t.head.i >= tok_end:
                v = t.head
                return True, v.dep_ == "ROOT" or (v.dep_ == "conj" and v.head.dep_ == "ROOT")
    # a verb right after the name (and a comma) that has no subject of its own:
    # "..., Dame Carol Whitfield, said the strikes ..." parsed with "said" subjectless
    j = tok_end
    while j < len(doc) and (doc[j].is_punct or doc[j].is_space):
        j += 1
    if j < len(doc) and doc[j].pos_ == "VERB" and not any(c.dep_ in ("nsubj", "nsubjpass") for c in doc[j].children):
        return True, doc[j].dep_ == "ROOT"
    return False, False


def _is_boilerplate_line(doc: "Doc", start: int, end: int) -> bool:
    """True when the span sits alone on its line with no verb (page furniture)."""
    text = doc_text(doc)
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    le = len(text) if le < 0 else le
    line = text[ls:le].strip()
    if len(line.split()) > 4:
        return False
    span = doc.char_span(ls, le, alignment_mode="expand")
    if span is None:
        return True
    return not any(t.pos_ in ("VERB", "AUX") for t in span)


# ----------------------------------------------------------------------------- persons
def _is_name_word(t: "Token", norp: frozenset[str]) -> bool:
    """A capitalised proper noun that can be part of a person's name."""
    low = fold(t.text).rstrip(".")
    return (t.pos_ == "PROPN" and t.text[:1].isupper() and t.is_alpha or "-" in t.text and t.text[:1].isupper()) \
        and low not in PERSON_TITLES and low not in PERSON_NOUNS and not is_demonym(t.text, norp) \
        and low not in BOILERPLATE_WORDS


def _extend_left(doc: "Doc", start: int, norp: frozenset[str], loc_spans: Sequence[tuple[int, int]]) -> int:
    """Extend a name left over first names NER left out ("Alpidio" + "Armas-Quintero")."""
    j = start
    while j - 1 >= 0 and j - 1 >= start - 2:
        t = doc[j - 1]
        if t.ent_type_ or not _is_name_word(t, norp) or _overlaps(t.idx, t.idx + len(t.text), loc_spans):
            break
        j -= 1
    return j


def _extend_right(doc: "Doc", end: int, norp: frozenset[str] = frozenset()) -> int:
    """Extend a name right over particles followed by a capitalised word ("Erik" + "ten Hag"),
    or over one capitalised word NER left out."""
    j = end
    while j < len(doc) and fold(doc[j].text) in NAME_PARTICLES and doc[j].text.islower():
        j += 1
    if j > end and j < len(doc) and doc[j].text[:1].isupper() and doc[j].pos_ == "PROPN" and not doc[j].is_sent_start:
        while j + 1 < len(doc) and doc[j + 1].text[:1].isupper() and doc[j + 1].pos_ == "PROPN" and doc[j + 1].ent_type_ in ("", "PERSON"):
            j += 1
        return j + 1
    if j == end and j < len(doc) and not doc[j].ent_type_ and _is_name_word(doc[j], norp) and not doc[j].is_sent_start \
            and not (j + 1 < len(doc) and doc[j + 1].pos_ == "PROPN" and doc[j + 1].text[:1].isupper()):
        return j + 1
    return end


def _set_off(doc: "Doc", a: int, b: int) -> bool:
    """True when the tokens ``[a, b)`` between two noun phrases hold a comma, dash or colon outside
    parentheses: what English sets off an apposition with. Without one ("Electoral Commission
    (EC) chairwoman Ana Reyes") the first phrase modifies the second; it is not in apposition."""
    depth = 0
    for t in doc[a:b]:
        if t.text in "([":
            depth += 1
        elif t.text in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and t.text in (",", ";", ":", "\u2014", "\u2013", "--", "-"):
            return True
    return False


def _apposed_to(span: "Span", nouns: frozenset[str]) -> bool:
    """True for a name in apposition to one of ``nouns`` ("the disaster agency, Senapred,"),
    set off by punctuation (:func:`_set_off`)."""
    root = span.root
    doc = span.doc
    anchor = _appos_anchor(root) if root.dep_ == "appos" else None
    if anchor is not None and anchor.lemma_.lower() in nouns and anchor.i < span.start \
            and _set_off(doc, anchor.i + 1, span.start):
        return True
    return any(c.dep_ == "appos" and c.lemma_.lower() in nouns and c.i >= span.end
               and _set_off(doc, span.end, c.left_edge.i + 1) for c in root.children)


def _apposed_to_institution(span: "Span") -> bool:
    """True for a name in apposition to an institution ("the disaster agency, Senapred,")."""
    return _apposed_to(span, INSTITUTION_NOUNS | COMPANY_CUE_NOUNS)


def _looks_like_org(words: Sequence[str]) -> bool:
    return bool(words) and (fold(words[-1]).rstrip(".") in ORG_SUFFIXES or fold(" ".join(words)) in KNOWN_PLATFORMS
                            or (len(words) >= 2 and fold(words[0]) in ORG_PREFIXES))


def _cut_at_newline(toks: Sequence["Token"]) -> list["Token"]:
    """Tokens up to the first line break: an entity never runs over two lines."""
    out = []
    for t in toks:
        if (t.is_space and "\n" in t.text) or (out and "\n" in out[-1].whitespace_):
            break
        out.append(t)
    return out


def _apposed_to_age(span: "Span") -> bool:
    """True for "Wilmer Castillo, a 29-year-old bricklayer": an apposition giving an age."""
    root = span.root
    for c in root.children:
        if c.dep_ == "appos" and re.search(r"\d+-year-old", "".join(t.text_with_ws for t in c.subtree)):
            return True
    return False


def _staff_of(span: "Span") -> bool:
    """True for "analysts at Berenberg": the name is where people of STAFF_NOUNS work."""
    root = span.root
    prep = root.head
    return (root.dep_ == "pobj" and prep.lower_ in ("at", "from", "with")
            and prep.head.lemma_.lower() in STAFF_NOUNS and prep.head.tag_ in ("NNS", "NNPS"))


def _is_place_like(toks: Sequence["Token"]) -> bool:
    if len(toks) < 2:
        return False
    return fold(toks[0].text).rstrip(".") in PLACE_PREFIXES or fold(toks[-1].text) in PLACE_SUFFIXES


def _in_dateline(doc: "Doc", toks: Sequence["Token"]) -> bool:
    """True for a name in parentheses in the dateline at the start of the text."""
    i, j = toks[0].i, toks[-1].i
    return (0 < i <= 8 and doc[i - 1].text == "(" and j + 1 < len(doc) and doc[j + 1].text == ")"
            and all(not t.is_space or "\n" not in t.text for t in doc[:i]))


#: Last words of a name that make it a law, treaty or agreement, not an organization
#: ("United States-Mexico-Canada Agreement (USMCA)", "Schengen Borders Code"). Our own list.
LAW_WORDS = frozenset("agreement treaty accord accords pact act bill code protocol compact charter".split())

#: A credit line at the end of a story: "This story was distributed by Meridian Wire.",
#: "Valley Courier staff contributed reporting." Outlets named there are not in the story.
_CREDIT_LINE = re.compile(
    r"\b(?:distributed by|contributed(?: local| additional)? reporting|contributed to this (?:report|story)|"
    r"this (?:story|report|article) (?:was|has been) (?:written|distributed|produced|edited|updated))\b", re.I)


def _is_law_name(doc: "Doc", toks: Sequence["Token"]) -> bool:
    """True for a treaty/law ("... Agreement") or its acronym in parentheses right after it."""
    if fold(toks[-1].text) in LAW_WORDS and len(toks) >= 2:
        return True
    i = toks[0].i
    return i >= 2 and doc[i - 1].text == "(" and fold(doc[i - 2].text) in LAW_WORDS and doc[i - 2].text[:1].isupper()


def _in_credit_line(doc: "Doc", toks: Sequence["Token"]) -> bool:
    """True for a name inside a sentence that credits the story ("distributed by", "staff
    contributed reporting")."""
    sent = toks[0].sent
    return bool(_CREDIT_LINE.search(doc_text(doc)[sent.start_char:sent.end_char]))  # == sent.text


def _place_context_tokens(doc: "Doc", i: int) -> bool:
    """True for a name after "the village of", "the island of" ..."""
    return i >= 2 and doc[i - 1].lower_ == "of" and doc[i - 2].lemma_.lower() in PLACE_NOUNS


def _origin_modifier(doc: "Doc", toks: Sequence["Token"]) -> bool:
    """True for "Dunedin" in "Dunedin-raised Mr Robertson": a name joined by a hyphen to a
    participle of origin or seat (:data:`ORIGIN_PARTICIPLES`) names a place, not a person."""
    j = toks[-1].i + 1
    return (j + 1 < len(doc) and doc[j].text == "-" and not toks[-1].whitespace_ and not doc[j].whitespace_
            and doc[j + 1].lower_ in ORIGIN_PARTICIPLES)


def _coordinated_with_place(doc: "Doc", span: "Span", loc_spans: Sequence[tuple[int, int]]) -> bool:
    """True for "Volnova" in "the cities of Mariupol and Volnova": a name in a list whose first
    member is a geoparsed place, or which follows "the <place noun> of", is a place too (the
    members of a coordination are of one kind)."""
    root = span.root
    if root.dep_ != "conj" or span.start == 0 or doc[span.start - 1].lower_ not in ("and", "or", ","):
        return False
    first = root.head
    while first.dep_ == "conj" and first.head.i < first.i:
        first = first.head
    if any(t.pos_ in ("VERB", "AUX") for t in doc[first.i:span.start]):
        return False  # two clauses, not one list
    return _overlaps(first.idx, first.idx + len(first.text), loc_spans) or _place_context_tokens(doc, first.left_edge.i)


def _after_place_particles(doc: "Doc", i: int, loc_spans: Sequence[tuple[int, int]]) -> bool:
    """True for "Oder" in "Frankfurt an der Oder": only particles between a place and the name."""
    j = i - 1
    while j >= 0 and doc[j].text.islower() and (fold(doc[j].text) in NAME_PARTICLES or doc[j].lower_ in ("an", "am", "upon", "on")):
        j -= 1
    if j == i - 1 or j < 0:
        return False
    t = doc[j]
    return _overlaps(t.idx, t.idx + len(t.text), loc_spans)


def _common_sentence_start(doc: "Doc", toks: Sequence["Token"], is_common, person: bool = False) -> bool:
    """A lone capitalised common word at the start of a sentence ("Turnout in Kano ...").

    For a person (``person=True``) a word of the lemmatizer's index is enough: news introduces
    people by full name, so a lone sentence-initial dictionary word is rarely one; for an
    organization the tagger must also read it as a common noun ("Liverpool" is in the index).
    """
    if len(toks) != 1:
        return False
    t = toks[0]
    prev = doc[t.i - 1] if t.i > 0 else None
    if not (t.is_sent_start or (prev is not None and prev.is_sent_start and prev.is_punct)
            or (prev is not None and prev.text in ("\u2014", "\u2013", "-", "--", "'", '"', "\u2018", "\u201c"))):
        return False
    low = t.text.lower()
    nxt = doc[t.i + 1] if t.i + 1 < len(doc) else None
    if nxt is not None and nxt.text.islower() and nxt.lemma_.lower() in CLUB_ROLE_NOUNS:
        return False  # "Liverpool manager ..."
    # WordNet also lists many places and people in lower case ("liverpool"), so the index
    # only counts when the tagger, too, reads the word as a common noun
    if is_common is not None and (t.tag_ in ("NN", "NNS", "NNPS") or person):
        forms = {low, t.lemma_.lower(), low[:-1] if low.endswith("s") else low, low[:-2] if low.endswith("es") else low}
        if any(is_common(f) for f in forms):
            return True
    return re.search(r"(?<![\w'])" + re.escape(low) + r"(?![\w])", doc_text(doc)) is not None


#: Words that introduce a person's name as such ("who gave her name only as", "identified only
#: as", "who gave only his first name,"): what follows is a person whatever NER tagged it.
_GIVEN_NAME_CUE = re.compile(
    r"\b(?:(?:gave|give|gives|giving|provided)\s+(?:only\s+)?(?:his|her|their)\s+(?:first\s+|last\s+)?name"
    r"(?:\s+only)?(?:\s+as|,)|identified\s+(?:only\s+)?(?:by\s+(?:his|her|their)\s+(?:first\s+)?name\s+)?as"
    r"|(?:first|last)\s+name\s+is)\s+(?=[A-ZÀ-Þ])")


def _cue_for_person(doc: "Doc", i: int, norp: frozenset[str]) -> bool:
    """True when the token before ``i`` marks a following name as a person: a person noun
    ("spokeswoman"), a demonym ("the Belgian"), an honorific ("Mr")."""
    if i == 0:
        return False
    prev = doc[i - 1]
    low = fold(prev.text).rstrip(".")
    if prev.text.islower() and (low in PERSON_NOUNS or prev.lemma_.lower() in PERSON_NOUNS):
        return True
    if low in HONORIFICS:
        return True
    return prev.ent_type_ == "NORP" and is_demonym(prev.text, norp) and i >= 2 and doc[i - 2].lower_ == "the"


def _trailing_name(ent: "Span", norp: frozenset[str]) -> int | None:
    """Start token of a person's name at the end of an ORG entity, or None.

    An organization's name ends at its head noun (:data:`AGENCY_SUFFIXES`: "Police", "Union") or at
    a possessive; two or three capitalised name words right after it cannot continue the name,
    so they are a person the organization is attached to as a title is ("Dhaka City Police Omar
    Rahman", "IG Metall's Jana Keller"), which spaCy's small model tags as one ORG.
    """
    toks = list(ent)
    for k in range(len(toks) - 3, 0, -1):
        t = toks[k]
        head_noun = fold(t.text) in AGENCY_SUFFIXES and t.text[:1].isupper()
        possessive = t.tag_ == "POS" or t.text in ("'s", "\u2019s")
        if not (head_noun or possessive):
            continue
        rest = toks[k + 1:]
        if 2 <= len(rest) <= 3 and all(_is_name_word(x, norp) and fold(x.text) not in ORG_SUFFIXES
                                       and fold(x.text) not in AGENCY_SUFFIXES for x in rest):
            return rest[0].i
        return None
    return None


def _after_institution_noun(doc: "Doc", i: int) -> bool:
    """True when token ``i`` follows a lower-case institution noun with no punctuation between
    ("the district police Anil Rahman"): the institution stands before the name as a title does,
    so the name is its officer, not the institution's own name (that would be capitalised)."""
    if i == 0:
        return False
    prev = doc[i - 1]
    lemma = prev.lemma_.lower()
    # a business noun ("the firm Hallam Brandt") introduces the business's own name instead
    return prev.pos_ == "NOUN" and prev.text.islower() and lemma in INSTITUTION_NOUNS and lemma not in COMPANY_CUE_NOUNS


def _company_list_member(tok: "Token") -> bool:
    """True for a name listed after a plural business noun and "including"/"such as"/"like"
    ("companies including Adidas, Gap and Levi Strauss"): every member of such a list is what
    the noun says (:data:`COMPANY_PLURALS`)."""
    first = tok
    while first.dep_ == "conj" and first.head.i < first.i:
        first = first.head
    if first.dep_ != "pobj":
        return False
    prep = first.head
    if prep.lower_ not in ("including", "like", "as"):
        return False
    noun = prep.head
    if prep.lower_ == "as" and noun.lower_ == "such":
        noun = noun.head
    return noun.lower_ in COMPANY_PLURALS


def _told_outlet(doc: "Doc", ent: "Span", full_name_lasts: set[str]) -> bool:
    """True for "told Rudaw": a one-word name that is the listener of "tell" and never the last
    word of a full name in the article. News introduces a person by first and last name, and the
    one-word listener of "told" is the outlet the source spoke to ("told Reuters")."""
    if len(ent) != 1 or _word_key(ent.text) in full_name_lasts:
        return False
    root = ent.root
    return root.dep_ in ("dobj", "dative", "iobj") and root.head.lemma_.lower() in TELLING_VERBS


def _person_candidates(doc: "Doc", loc_spans: Sequence[tuple[int, int]], norp: frozenset[str],
                       is_common=None) -> tuple[list[Mention], list[Mention]]:
    """Persons from NER and from cues; returns (persons, organizations mislabelled as persons)."""
    spans: list[tuple[int, int, str]] = []  # token start, end, source label
    # last words of names given in full (two words or more): a one-word name among them is a
    # surname, not an outlet
    multi_word_last = {_word_key(e[-1].text) for e in doc_ents(doc) if e.label_ == "PERSON" and len(e) >= 2}
    for ent in doc_ents(doc):
        label = ent.label_
        if label == "PERSON":
            # a place or building named after a person: "Queen Elizabeth Central Hospital"
            j = ent.end
            while j < len(doc) and j < ent.end + 3 and doc[j].text[:1].isupper() and doc[j].pos_ in ("PROPN", "NOUN"):
                j += 1
            if j > ent.end and fold(doc[j - 1].text) in ORG_SUFFIXES:
                s0 = ent.start
                while s0 > 0 and doc[s0 - 1].text[:1].isupper() and fold(doc[s0 - 1].text).rstrip(".") in PERSON_TITLES:
                    s0 -= 1
                spans.append((s0, j, "FACILITY"))
                continue
            if ent.end + 1 < len(doc) and doc[ent.end].lower_ == "and" and doc[ent.end + 1].ent_type_ == "ORG" \
                    and doc[ent.end + 1].ent_iob_ == "B":
                # "Kent Fire" and "Rescue Service" -> "Kent Fire and Rescue Service"
                j = ent.end + 2
                while j < len(doc) and doc[j].ent_iob_ == "I":
                    j += 1
                if fold(doc[j - 1].text) in ORG_SUFFIXES:
                    spans.append((ent.start, j, "ORGLIKE"))
                    continue
            if ent.start >= 2 and doc[ent.start - 1].text == "," and doc[ent.start - 2].lemma_.lower() in INSTITUTION_NOUNS \
                    and doc[ent.start - 2].text.islower() and ent.root.dep_ in ("appos", "npadvmod", "conj"):
                spans.append((ent.start, ent.end, "ORGLIKE"))  # "Moran's party, Fianna Fáil,"
                continue
            if _company_list_member(ent.root) or _told_outlet(doc, ent, multi_word_last):
                spans.append((ent.start, ent.end, "ORGLIKE"))  # "companies including Adidas"; "told Rudaw"
                continue
            prev = doc[ent.start - 1] if ent.start > 0 else None
            if prev is not None and prev.text.islower() and prev.lemma_.lower() in COMPANY_CUE_NOUNS:
                spans.append((ent.start, ent.end, "ORGLIKE"))  # "auto parts maker Kessler Antriebstechnik"
                continue
            if prev is not None and prev.pos_ == "DET" and not _cue_for_person(doc, ent.start, norp):
                # "the Border Patrol", "the Schengen area", "every Patriot battery"
                if len(ent) >= 2 and all(t.text[:1].isupper() for t in ent):
                    spans.append((ent.start, ent.end, "ORGLIKE"))
                continue
            start = _extend_left(doc, ent.start, norp, loc_spans)
            spans.append((start, _extend_right(doc, ent.end, norp), label))
        elif label in ("ORG", "GPE", "NORP", "FAC", "PRODUCT", "WORK_OF_ART", "LOC", "EVENT"):
            pieces: list[list] = [[]]
            for t in ent:
                if t.text == ",":
                    pieces.append([])
                else:
                    pieces[-1].append(t)
            if len(pieces) > 1:
                # "Chihuahua, María Eugenia Campos": the piece after the comma may be a person
                for piece in pieces[1:]:
                    if 2 <= len(piece) <= 4 and all(_is_name_word(t, norp) for t in piece):
                        root = doc[piece[0].i:piece[-1].i + 1].root
                        h = root.head
                        if root.dep_ == "appos" and (h.lemma_.lower() in PERSON_NOUNS or (
                                h.dep_ == "pobj" and h.head.head.lemma_.lower() in PERSON_NOUNS)):
                            spans.append((piece[0].i, piece[-1].i + 1, label))
                continue
            split = _trailing_name(ent, norp) if label == "ORG" else None
            if split is not None:
                spans.append((split, ent.end, "PERSON"))  # "Dhaka City Police Omar Rahman"
                continue
            words = [t for t in ent if not (t.tag_ == "POS" or t.text in _APOS)]
            while words and words[-1].pos_ == "ADP":  # "Antoine Moreau of"
                words.pop()
            if 2 <= len(words) <= 4 and fold(words[0].text).rstrip(".") in HONORIFICS \
                    and all(_is_name_word(t, norp) or t.text == "." for t in words[1:]):
                # "Mrs Holt" tagged ORG: an honorific is only ever put before a person's name
                first = next(t for t in words[1:] if t.text != ".")
                spans.append((first.i, words[-1].i + 1, "PERSON"))
                continue
            if not words or not (2 <= len(words) <= 4 or (len(words) == 1 and ent.start > 0 and fold(doc[ent.start - 1].text).rstrip(".") in HONORIFICS)):
                continue
            if not all(_is_name_word(t, norp) or fold(t.text) in NAME_PARTICLES or (k == 0 and fold(t.text) in PERSON_NOUNS)
                       for k, t in enumerate(words)):
                continue
            if len(words) >= 3 and fold(words[0].text) in PERSON_NOUNS and words[0].text[:1].isupper():
                # "Linebacker Marcus Whitlow" tagged ORG: a role word and a name
                spans.append((words[1].i, words[-1].i + 1, label))
                continue
            sub = doc[words[0].i:words[-1].i + 1]
            if _cue_for_person(doc, ent.start, norp) or _apposed_to(sub, PERSON_NOUNS) or _apposed_to_age(sub) \
                    or (label == "ORG" and _after_institution_noun(doc, ent.start) and not _looks_like_org([t.text for t in words])):
                spans.append((words[0].i, words[-1].i + 1, label))
    # capitalised names NER missed entirely, after a cue ("the Belgian Jens Vermeulen")
    toks = doc_tokens(doc)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.ent_type_ or not _is_name_word(t, norp) or not _cue_for_person(doc, i, norp):
            i += 1
            continue
        j = i
        while j < len(toks) and j < i + 3 and not toks[j].ent_type_ and (_is_name_word(toks[j], norp) or (fold(toks[j].text) in NAME_PARTICLES and j > i)):
            j += 1
        if j - i >= 2:
            spans.append((i, j, ""))
        i = max(j, i + 1)

    # names an article introduces as someone's name: "who gave her name only as Yudith",
    # "who gave only her first name, Giulia,", "identified only as Karim" (NER often misses them)
    have = {i for s0, e0, _ in spans for i in range(s0, e0)}
    for mm in _GIVEN_NAME_CUE.finditer(doc_text(doc)):
        first = doc.char_span(mm.end(), mm.end() + 1, alignment_mode="expand")
        if first is None:
            continue
        i = j = first.start
        while j < len(doc) and j < i + 3 and doc[j].text[:1].isupper() and doc[j].is_alpha \
                and fold(doc[j].text) not in PERSON_TITLES:
            j += 1
        if j > i and not any(k in have for k in range(i, j)):
            spans.append((i, j, "NAMED"))
    out: list[Mention] = []
    orgs: list[Mention] = []
    for s0, e0, label in spans:
        toks = _strip_role_words(_clean_tokens(_cut_at_newline(doc[s0:e0]), titles=PERSON_TITLES, norp=norp, strip_demonyms=True))
        if toks and _in_dateline(doc, toks):
            # "SALTILLO (Meridian Wire) -": the agency credited with the story
            text = _span_text(doc, toks)
            orgs.append(Mention(toks[0].idx, toks[0].idx + len(text), toks[0].i, toks[-1].i + 1, text, "organization"))
            continue
        text = _span_text(doc, toks)
        if not toks:
            continue
        start = toks[0].idx
        end_c = start + len(text)
        if _overlaps(start, end_c, loc_spans) or _is_place_like(toks):
            continue
        if fold(toks[0].text) in STORM_WORDS:
            continue  # "Hurricane Ida": a storm's name
        if len(toks) >= 2 and fold(toks[-1].text).rstrip(".") in PERSON_TITLES and toks[-1].text[:1].isupper():
            # "RCMP Sgt" (+ "Cory Meyers"): a title precedes a name and never ends one; an acronym
            # before the title is the organization the officer belongs to
            rest = toks[:-1]
            if len(rest) == 1 and rest[0].text.isupper() and len(rest[0].text) >= 2 and rest[0].is_alpha:
                orgs.append(Mention(rest[0].idx, rest[0].idx + len(rest[0].text), rest[0].i, rest[0].i + 1,
                                    rest[0].text, "organization"))
            continue
        sub = doc[toks[0].i:toks[-1].i + 1]
        if label in ("FACILITY", "ORGLIKE"):
            toks = _clean_org_tokens(doc[s0:e0])
            if toks:
                text = _span_text(doc, toks)
                orgs.append(Mention(toks[0].idx, toks[0].idx + len(text), toks[0].i, toks[-1].i + 1, text, "organization"))
            continue
        if _place_context_tokens(doc, toks[0].i) or _after_place_particles(doc, toks[0].i, loc_spans):
            continue
        if _origin_modifier(doc, toks) or _coordinated_with_place(doc, sub, loc_spans):
            continue
        if label == "PERSON" and (_looks_like_org([t.text for t in toks]) or _apposed_to_institution(sub) or _staff_of(sub)):
            if _in_credit_line(doc, toks):
                continue  # "This story was distributed by Meridian Wire."
            orgs.append(Mention(start, end_c, toks[0].i, toks[-1].i + 1, text, "organization"))
            continue
        if not _valid_person_name(toks, text):
            continue
        if _is_boilerplate_line(doc, start, end_c):
            continue
        if len(toks) == 1 and (is_demonym(text, norp) or _common_sentence_start(doc, toks, is_common, person=True)):
            continue
        out.append(Mention(start, end_c, toks[0].i, toks[-1].i + 1, text, "person"))
    # merge a name split by NER into adjacent pieces ("Erik" "ten Hag", "Musa Sani" "Yakasai")
    out.sort(key=lambda m: (m.start, -m.end))
    merged: list[Mention] = []
    for m in out:
        if merged and merged[-1].tok_end <= m.tok_start and m.tok_start - merged[-1].tok_end <= 2 and all(
            fold(doc[i].text) in NAME_PARTICLES for i in range(merged[-1].tok_end, m.tok_start)
        ):
            prev = merged[-1]
            merged[-1] = Mention(prev.start, m.end, prev.tok_start, m.tok_end, doc_text(doc)[prev.start:m.end], "person")
            continue
        if merged and merged[-1].tok_end > m.tok_start:
            continue  # overlapping candidates: keep the first, longest
        merged.append(m)
    return merged, orgs


def _speech_subject_names(doc: "Doc", taken: set[int], loc_spans: Sequence[tuple[int, int]], norp: frozenset[str]) -> list[Mention]:
    """Names NER missed that are the subject of a speech verb ("Kwame Mensah said"): two or
    more capitalised proper nouns, not a place, not part of another entity."""
    out = []
    for t in doc_tokens(doc):
        if t.dep_ != "nsubj" or t.pos_ != "PROPN" or t.i in taken or t.ent_type_ not in ("", "PERSON", "WORK_OF_ART", "PRODUCT"):
            continue
        if t.head.lemma_.lower() not in SPEECH_VERBS:
            continue
        toks = [c for c in t.lefts if c.dep_ == "compound" and c.pos_ == "PROPN" and c.i >= t.i - 3] + [t]
        toks = _strip_role_words(_clean_tokens(toks, titles=PERSON_TITLES, norp=norp, strip_demonyms=True))
        if len(toks) < 2 or any(x.i in taken or x.ent_type_ not in ("", "PERSON", "WORK_OF_ART", "PRODUCT") for x in toks):
            continue
        if toks[-1].i - toks[0].i + 1 != len(toks):
            continue
        text = _span_text(doc, toks)
        if not _valid_person_name(toks, text) or _looks_like_org([x.text for x in toks]):
            continue
        if _overlaps(toks[0].idx, toks[0].idx + len(text), loc_spans) or _is_place_like(toks) \
                or fold(toks[-1].text).rstrip(".") in STREET_WORDS:
            continue  # "Outside Downing Street, Mrs Holt said": a place parsed as a second subject
        out.append(Mention(toks[0].idx, toks[0].idx + len(text), toks[0].i, toks[-1].i + 1, text, "person"))
    return out


def _cluster(mentions: list[Mention], is_sub=_is_subname) -> dict[str, list[Mention]]:
    """Assign ``canonical`` to each mention; return canonical -> mentions (first-seen order)."""
    keys = {id(m): _key_tokens(m.text) for m in mentions}
    distinct = {}
    for m in mentions:
        distinct.setdefault(keys[id(m)], m)
    fulls = [k for k in distinct if not any(is_sub(k, o) for o in distinct if o != k)]
    # canonical surface for each full key: its first occurrence
    canon_of_full = {k: distinct[k].text for k in fulls}
    clusters: dict[str, list[Mention]] = {}
    last_seen: dict[tuple[str, ...], int] = {}
    for m in sorted(mentions, key=lambda x: x.start):
        k = keys[id(m)]
        if k in canon_of_full:
            target = k
        else:
            cands = [f for f in fulls if is_sub(k, f)]
            if not cands:
                target = k
                canon_of_full.setdefault(k, m.text)
            elif len(cands) == 1:
                target = cands[0]
            else:
                seen = [(last_seen.get(f, -1), f) for f in cands]
                best = max(seen)
                target = best[1] if best[0] >= 0 else min(cands, key=lambda f: distinct[f].start)
        m.canonical = canon_of_full[target]
        last_seen[target] = m.start
        clusters.setdefault(m.canonical, []).append(m)
    return clusters


def _extra_mentions(doc: "Doc", mentions: Sequence[Mention], taken: set[int],
                    loc_spans: Sequence[tuple[int, int]], norp: frozenset[str]) -> list[Mention]:
    """Mentions of a known person's surname (or single name) that NER missed or mislabelled
    ("Videgaray" tagged ORG), extended to the left over first names NER also missed
    ("Marcus Rashford" tagged GPE when "Rashford" alone was a PERSON)."""
    keys: set[str] = set()
    for m in mentions:
        k = _key_tokens(m.text)
        if k and len(k[-1]) >= 3:
            keys.add(k[-1])
    if not keys:
        return []
    ent_of: dict[int, "Span"] = {}
    for ent in doc_ents(doc):
        for i in range(ent.start, ent.end):
            ent_of[i] = ent
    out = []
    for t in doc_tokens(doc):
        if t.i in taken or not t.text[:1].isupper() or t.is_stop or _word_key(t.text) not in keys:
            continue
        if t.pos_ not in ("PROPN", "NOUN", "ADJ", "X") and not t.ent_type_:
            continue
        start_i = t.i
        j = t.i - 1
        while j >= 0 and j not in taken:
            w = doc[j]
            low = fold(w.text).rstrip(".")
            if w.text[:1].isupper() and w.pos_ == "PROPN" and low not in PERSON_TITLES and not is_demonym(w.text, norp) \
                    and low not in PERSON_NOUNS and not _overlaps(w.idx, w.idx + len(w.text), loc_spans):
                start_i = j
                j -= 1
                continue
            if low in NAME_PARTICLES and w.text.islower():
                start_i = j if w.whitespace_ == "" and j + 1 < len(doc) and doc[j + 1].text == "-" else start_i
                j -= 1
                continue
            if w.text == "-" and w.whitespace_ == "" and j > 0 and fold(doc[j - 1].text) in NAME_PARTICLES \
                    and doc[j - 1].whitespace_ == "":
                start_i = j - 1  # "al-Assad"
                j -= 2
                continue
            break
        if start_i < t.i and fold(doc[start_i].text) in NAME_PARTICLES and doc[start_i].whitespace_:
            start_i = t.i
        # the mention must cover whole entities (other than people) that it touches
        ok = True
        for i in range(start_i, t.i + 1):
            ent = ent_of.get(i)
            if ent is None or ent.label_ == "PERSON":
                continue
            if ent.label_ not in ("ORG", "GPE", "NORP", "LOC", "FAC", "WORK_OF_ART", "PRODUCT", "CARDINAL"):
                ok = False
                break
            core_end = ent.end
            while core_end > ent.start and (doc[core_end - 1].tag_ == "POS" or doc[core_end - 1].text in _APOS
                                            or doc[core_end - 1].pos_ == "ADP"):
                core_end -= 1
            if ent.label_ != "CARDINAL" and (ent.start < start_i or core_end > t.i + 1):
                ok = False
                break
        if not ok:
            # fall back to the surname alone if it is not inside a longer entity
            ent = ent_of.get(t.i)
            if ent is not None and ent.label_ != "PERSON" and [x for x in ent if x.tag_ != "POS" and x.text not in _APOS] != [t]:
                continue
            start_i = t.i
        first = doc[start_i]
        if _overlaps(first.idx, t.idx + len(t.text), loc_spans):
            continue
        text = doc_text(doc)[first.idx: t.idx + len(t.text)]
        out.append(Mention(first.idx, t.idx + len(t.text), start_i, t.i + 1, text, "person"))
        taken.update(range(start_i, t.i + 1))
    return out


def _genders(doc: "Doc", mentions: Sequence[Mention]) -> dict[str, str]:
    """Gender ("m"/"f") per canonical person where the text shows it: a gendered title or role
    word just before a mention ("Mrs", "Sir", "spokeswoman"). Pronouns are not used as evidence:
    in "Judge Helen Varga told him he had ..." they refer to someone else."""
    votes: dict[str, list[int]] = {}
    for m in mentions:
        v = votes.setdefault(m.canonical, [0, 0])
        for j in range(max(0, m.tok_start - 3), m.tok_start):
            w = fold(doc[j].text).rstrip(".")
            if w in FEMALE_WORDS:
                v[1] += 2
            elif w in MALE_WORDS:
                v[0] += 2
    out = {}
    for name, (male, female) in votes.items():
        if male > female:
            out[name] = "m"
        elif female > male:
            out[name] = "f"
    return out


def _role_ties(doc: "Doc", mentions: Iterable[Mention]) -> dict[str, list[tuple[int, str]]]:
    roles: dict[str, list[tuple[int, str]]] = {}

    def add(tok: "Token", m: Mention) -> None:
        lemma = tok.lemma_.lower()
        if lemma in ROLE_NOUNS or tok.lower_ in ROLE_NOUNS:
            roles.setdefault(lemma if lemma in ROLE_NOUNS else tok.lower_, []).append((m.start, m.canonical))

    for m in mentions:
        span = doc[m.tok_start:m.tok_end]
        root = span.root
        # 1. left modifiers within the noun phrase: "US Secretary of State Mike Pompeo"
        for child in root.lefts:
            if child.i >= m.tok_start:
                continue
            if child.dep_ in ("compound", "nmod", "amod", "appos"):
                for t in child.subtree:
                    if t.i < m.tok_start and t.dep_ not in ("pobj",):
                        add(t, m)
        # also the token right before the name when spaCy did not attach it
        j = m.tok_start - 1
        while j >= 0 and doc[j].pos_ in ("PROPN", "NOUN") and doc[j].ent_type_ != "PERSON" and j >= m.tok_start - 3:
            add(doc[j], m)
            j -= 1
        # 2. the name is an apposition to a role: "Mexico's ambassador, Luis Manuel Lopez"
        if root.dep_ == "appos" and _appos_anchor(root).pos_ in ("NOUN", "PROPN"):
            add(_appos_anchor(root), m)
        # 3. a role in apposition to the name: "Luis Videgaray, the foreign minister,"
        for child in root.rights:
            if child.dep_ == "appos" and child.pos_ == "NOUN":
                add(child, m)
    for ties in roles.values():
        ties.sort()
    return roles


# ----------------------------------------------------------------------------- organizations
def _initials(words: Sequence[str], skip_function: bool) -> str:
    out = []
    for w in words:
        if not w or (skip_function and fold(w) in ORG_FUNCTION_WORDS):
            continue
        core = w.replace(".", "")
        out.append(core if core.isupper() and core.isalpha() and len(core) <= 4 else w[0])
    return "".join(out).upper()


#: Country prefixes left out of some acronyms ("U.S. Customs and Border Protection" -> "CBP").
_COUNTRY_PREFIXES = frozenset("us u.s. uk u.k. eu un".split())


def is_acronym_of(short: str, full: str) -> bool:
    """True when ``short`` ("EU", "U.N.", "VW") abbreviates the organization name ``full``.

    Rules: the letters of ``short`` (2-8 capitals, dots ignored) equal the initials of the
    capitalised words of ``full`` (with or without function words such as "of"; an all-capital
    word gives all its letters; a leading "U.S."/"UK" may be left out), or ``full`` is one word
    and the letters appear in it in order, starting with its first letter ("VW" in
    "Volkswagen").
    """
    s = short.replace(".", "").replace("&", "")
    if not (2 <= len(s) <= 8 and s.isupper() and s.isalpha()):
        return False
    words = [w for w in re.split(r"[\s\-]+", _strip_possessive(full)) if w]
    words = [re.sub(r"['\u2019]s$", "", w) for w in words]
    if len(words) >= 2:
        cands = {_initials(words, True), _initials(words, False)}
        if fold(words[0]) in _COUNTRY_PREFIXES:
            cands |= {_initials(words[1:], True), _initials(words[1:], False)}
        return s in cands
    if len(words) == 1 and len(words[0]) > len(s) + 1:
        w = fold(words[0])
        low = s.lower()
        if w[0] != low[0]:
            return False
        it = iter(w[1:])
        return all(c in it for c in low[1:])
    return False


def _is_short_form(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    n, m = len(short), len(full)
    if n >= m or n == 0:
        return False
    if all(w in GENERIC_ORG_WORDS or w in ORG_FUNCTION_WORDS for w in short):
        return False
    return any(full[i:i + n] == short for i in range(m - n + 1))


def _clean_org_tokens(toks: Sequence["Token"]) -> list["Token"]:
    toks = _cut_at_newline(list(toks))
    for k, t in enumerate(toks):
        if t.text in "([" and k > 0:
            toks = toks[:k]
            break
    while toks and (toks[0].is_punct or toks[0].is_space or toks[0].lower_ == "the"):
        toks.pop(0)
    while toks and (toks[-1].is_punct or toks[-1].is_space or toks[-1].tag_ == "POS" or toks[-1].text in _APOS
                    or toks[-1].pos_ in ("ADP", "CCONJ", "DET")):
        toks.pop()
    return toks


#: Last words that make an untagged run of capitalised words an organization ("Border Patrol").
AGENCY_SUFFIXES = frozenset(
    "patrol guard police service agency ministry department council committee commission party union "
    "association institute university hospital bank authority office court army navy corps brigade".split()
)


def _listed_companies(doc: "Doc", taken: set[int], loc_spans: Sequence[tuple[int, int]],
                      person_keys: set[str] = frozenset()) -> list[Mention]:
    """Capitalised names NER left untagged (or tagged as a place) in a list of businesses
    ("brands such as Kestrel, Plume and Ardent Wear", :func:`_company_list_member`), and a
    one-word name the model left untagged as the listener of "told" (:func:`_told_outlet`)."""
    out = []
    for t in doc_tokens(doc):
        if t.i in taken or t.pos_ != "PROPN" or not t.text[:1].isupper() or t.ent_type_ not in ("", "ORG", "PERSON", "GPE"):
            continue
        if t.dep_ != "compound" and not any(c.dep_ == "compound" for c in t.lefts) and t.ent_type_ in ("", "GPE") \
                and _word_key(t.text) not in person_keys and t.dep_ in ("dobj", "dative") \
                and t.head.lemma_.lower() in TELLING_VERBS and not _overlaps(t.idx, t.idx + len(t.text), loc_spans):
            out.append(Mention(t.idx, t.idx + len(t.text), t.i, t.i + 1, t.text, "organization"))  # "told Wirepost"
            continue
        if t.dep_ == "compound" or not _company_list_member(t):
            continue
        s0 = t.i
        while s0 - 1 >= 0 and doc[s0 - 1].dep_ == "compound" and doc[s0 - 1].head.i == t.i and doc[s0 - 1].text[:1].isupper():
            s0 -= 1
        if any(i in taken for i in range(s0, t.i + 1)):
            continue
        first = doc[s0]
        span = (first.idx, t.idx + len(t.text))
        if _overlaps(span[0], span[1], loc_spans):
            continue
        out.append(Mention(span[0], span[1], s0, t.i + 1, doc_text(doc)[span[0]:span[1]], "organization"))
    return out


#: The place of a dateline in capitals at the start of a story, before a comma, a dash or the
#: credit in parentheses ("KASTANIES/LESBOS, Greece (Reuters) -", "RUSHVILLE, NY -").
_DATELINE_PLACE = re.compile(r"^\s*([A-Z][A-Z .'/\-]{2,60}?)(?:,[^()\n\u2014\u2013]{1,40})?\s*(?:\(|\u2014|\u2013|-{1,2}\s)")

#: A dateline with its wire credit at the start of a story: "KUMASI, Ghana (Meridian Wire) —".
_DATELINE_CREDIT = re.compile(r"^[A-Z][A-Z .,'\-/]{1,60}(?:,[^()\n]{1,40})?\s*\(([A-Z][\w&.\- ]{0,40}?)\)\s*(?:-{1,2}|\u2014|\u2013)")


def _credit_and_platforms(doc: "Doc", taken: set[int]) -> list[Mention]:
    """Organizations NER left untagged: the agency credited in the dateline ("KUMASI, Ghana
    (Meridian Wire) —", the story's source) and the platforms of :data:`KNOWN_PLATFORMS`
    ("she wrote on Facebook")."""
    out = []
    text = doc_text(doc)
    mm = _DATELINE_CREDIT.match(text[:200])
    if mm:
        span = doc.char_span(mm.start(1), mm.end(1))
        if span is not None and not any(i in taken for i in range(span.start, span.end)):
            out.append(Mention(span.start_char, span.end_char, span.start, span.end, span.text, "organization"))
    for t in doc_tokens(doc):
        if t.text[:1].isupper() and fold(t.text) in KNOWN_PLATFORMS and t.i not in taken and not t.ent_type_:
            out.append(Mention(t.idx, t.idx + len(t.text), t.i, t.i + 1, t.text, "organization"))
    return out


def _untagged_orgs(doc: "Doc", taken: set[int], loc_spans: Sequence[tuple[int, int]]) -> list[Mention]:
    """Runs of 2-4 capitalised proper nouns NER left untagged that end like an agency
    ("U.S. Border Patrol agents"), with a country abbreviation right before them."""
    out = []
    toks = doc_tokens(doc)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.ent_type_ or t.i in taken or t.pos_ != "PROPN" or not t.text[:1].isupper():
            i += 1
            continue
        j = i
        while j < len(toks) and j < i + 4 and not toks[j].ent_type_ and toks[j].pos_ == "PROPN" and toks[j].text[:1].isupper() \
                and toks[j].i not in taken:
            j += 1
        if j - i >= 2 and fold(doc[j - 1].text) in AGENCY_SUFFIXES:
            s0 = i
            if i > 0 and fold(doc[i - 1].text) in _COUNTRY_PREFIXES:
                s0 = i - 1
            first, last = doc[s0], doc[j - 1]
            span = (first.idx, last.idx + len(last.text))
            if not _overlaps(span[0], span[1], loc_spans) or s0 < i:
                out.append(Mention(span[0], span[1], s0, j, doc_text(doc)[span[0]:span[1]], "organization"))
        i = max(j, i + 1)
    return out


#: Lower-case connectors inside Spanish, Portuguese, Italian and French institution names
#: ("Casa del Migrante", "Centro de Derechos Humanos", "Banco do Brasil").
ORG_NAME_CONNECTORS = frozenset("de del la las los el do da dos das di della des du".split())


def _extend_foreign_org(doc: "Doc", start: int, end: int) -> int:
    """Extend an organization that starts with a Spanish/Portuguese institution word
    (:data:`ORG_PREFIXES`: "Casa", "Centro", "Fundación") over connectors and the capitalised,
    untagged proper nouns after them: spaCy's small model often tags only "Casa" of "Casa del
    Caminante". Returns the new end token index (at most 6 tokens are added)."""
    if fold(doc[start].text) not in ORG_PREFIXES:
        return end
    j = end
    limit = min(len(doc), end + 6)
    while j < limit:
        k = j
        while k < limit and doc[k].text.islower() and fold(doc[k].text) in ORG_NAME_CONNECTORS:
            k += 1
        if k < limit and doc[k].text[:1].isupper() and doc[k].pos_ == "PROPN" and doc[k].ent_type_ in ("", "ORG") \
                and not doc[k].is_sent_start:
            j = k + 1
            continue
        break
    return j


#: Last words of a FAC entity that make it an institution, i.e. an organization ("St Mary's
#: Hospital"); buildings such as bridges, airports and stadiums stay facilities. Our own list.
FAC_ORG_SUFFIXES = frozenset("hospital clinic school academy university college institute".split())


def _extend_over_for(doc: "Doc", start: int, end: int) -> int:
    """New end token of an organization whose head noun (:data:`ORG_SUFFIXES`: "Agency",
    "Office") is followed by "for" and capitalised words ("Agency for Criminal Justice
    Co-operation", "Office for National Statistics"): spaCy's small model often stops at "for"
    and tags the rest as a second organization. The name runs over "for", capitalised words and
    hyphen-joined parts ("Co-operation"), at most 6 tokens."""
    if end + 1 >= len(doc) or doc[end].lower_ != "for" or fold(doc[end - 1].text) not in ORG_SUFFIXES:
        return end
    j = end + 1
    k = j
    while k < len(doc) and k < j + 6:
        t = doc[k]
        if t.text[:1].isupper() and t.pos_ in ("PROPN", "NOUN", "ADJ") and not t.is_sent_start:
            k += 1
        elif t.text == "-" and not doc[k - 1].whitespace_ and k + 1 < len(doc) and not t.whitespace_:
            k += 2  # "Co-operation"
        elif t.lower_ in ("and", "of") and k + 1 < len(doc) and doc[k + 1].text[:1].isupper() and k > j:
            k += 1
        else:
            break
    return k if k - j >= 1 and doc[k - 1].text[:1].isalpha() else end


def _extend_over_place_pair(doc: "Doc", start: int, end: int) -> int:
    """New end token of an organization whose name ends "of <Place>" and goes on "and <Place>"
    ("Police Federation of England and Wales"): spaCy's small model stops before "and". Both
    places are in the name, since "X of A" and "B" would repeat B's determiner or head."""
    if end + 3 < len(doc) and doc[end].lower_ == "of" and fold(doc[end - 1].text) in ORG_SUFFIXES \
            and (doc[end + 1].ent_type_ in ("GPE", "LOC") or (doc[end + 1].pos_ == "PROPN" and doc[end + 1].text[:1].isupper())):
        # "the Fire Brigades Union" + "of Scotland and Wales": NER stopped before "of"
        k = end + 2
        while k < len(doc) and doc[k].ent_iob_ == "I":
            k += 1
        if k + 1 < len(doc) and doc[k].lower_ == "and" and doc[k + 1].ent_type_ in ("GPE", "LOC"):
            return _extend_over_place_pair(doc, start, k)
        return end
    j = end - 1
    while j > start and doc[j].pos_ == "PROPN" and doc[j].text[:1].isupper() and end - j <= 3:
        j -= 1
    if j == end - 1 or j <= start or doc[j].lower_ != "of":
        return end
    if end + 1 < len(doc) and doc[end].lower_ == "and" and doc[end + 1].ent_type_ in ("GPE", "LOC") \
            and doc[end + 1].ent_iob_ == "B":
        k = end + 2
        while k < len(doc) and doc[k].ent_iob_ == "I":
            k += 1
        return k
    return end


def _institution_facility(ent: "Span") -> bool:
    """True for a FAC entity that names an institution: first word a Spanish/Portuguese
    institution word ("the Centro de Derechos Humanos Fray Matías", "Casa del Migrante") or last
    word one of :data:`FAC_ORG_SUFFIXES`."""
    words = [fold(t.text) for t in ent if t.lower_ != "the" and not t.is_punct]
    return bool(words) and len(words) >= 2 and (words[0] in ORG_PREFIXES or words[-1] in FAC_ORG_SUFFIXES)


def _org_candidates(doc: "Doc", loc_spans: Sequence[tuple[int, int]], person_spans: Sequence[tuple[int, int]],
                    person_keys: set[str], norp: frozenset[str], is_common=None) -> list[Mention]:
    out = []
    dl = _DATELINE_PLACE.match(doc_text(doc)[:200])
    dateline_end = dl.end(1) if dl else 0
    for ent in doc_ents(doc):
        if ent.label_ != "ORG" and not (ent.label_ == "FAC" and _institution_facility(ent)):
            continue
        end = ent.end
        # "His Nordkapp Racing team": NER stopped at "Nordkapp"
        while end < len(doc) and end < ent.end + 2 and not doc[end].ent_type_ and doc[end].pos_ == "PROPN" \
                and doc[end].text[:1].isupper() and fold(doc[end].text).rstrip(".") not in PERSON_TITLES \
                and fold(doc[end].text) not in PERSON_NOUNS:
            end += 1
        if end > ent.end and end < len(doc) and doc[end].text[:1].isupper() and (
                fold(doc[end].text).rstrip(".") in PERSON_TITLES or fold(doc[end].text) in PERSON_NOUNS):
            end = ent.end  # "Senate Majority Leader": the extension ran into an office title
        end = _extend_foreign_org(doc, ent.start, end)
        end = _extend_over_place_pair(doc, ent.start, end)
        end = _extend_over_for(doc, ent.start, end)
        toks = _clean_org_tokens(doc[ent.start:end])
        # a name is capitalised: lower-case words after it are a description ("the ZANU-PF
        # party", "the Ukrainian defence ministry"), not part of it
        while len(toks) > 1 and toks[-2].whitespace_ and ((toks[-1].is_alpha and toks[-1].text.islower())
                                 or (is_demonym(toks[-1].text, norp) and _starts_noun_phrase(toks[-1]))):
            # ... and a nationality word starts the next noun phrase ("on Telegram Ukrainian drones")
            toks = _clean_org_tokens(toks[:-1])
        # "Chamisa of the MDC": a known person's name and "of" before the organization
        if len(toks) > 2 and _word_key(toks[0].text) in person_keys and toks[1].lower_ == "of":
            toks = _clean_org_tokens(toks[2:])
        text = _span_text(doc, toks)
        if not toks or not any(c.isupper() for c in text) or not any(c.isalpha() for c in text):
            continue
        start = toks[0].idx
        end_c = start + len(text)
        if _overlaps(start, end_c, person_spans):
            # "Antoine Moreau of Team Veloce": keep what follows the person and "of"
            rest = [t for t in toks if not _overlaps(t.idx, t.idx + len(t.text), person_spans)]
            while rest and rest[0].pos_ in ("ADP", "DET", "PUNCT"):
                rest.pop(0)
            if rest and rest[0].i == toks[0].i and len(rest) < len(toks) \
                    and _overlaps(toks[-1].idx, toks[-1].idx + 1, person_spans):
                # "Dhaka City Police Omar Rahman": the organization before its officer's name
                rest = [t for t in rest if t.i < min(x.i for x in toks if _overlaps(x.idx, x.idx + 1, person_spans))]
                if all(fold(t.text).rstrip(".") in PERSON_TITLES or t.is_punct for t in rest):
                    continue  # "Mrs" of "Mrs Holt": a title, not an organization
            elif len(rest) < 1 or rest[0].i <= toks[0].i or not rest[0].text[:1].isupper():
                continue
            toks = _clean_org_tokens(rest)
            if not toks:
                continue
            text = _span_text(doc, toks)
            start = toks[0].idx
            end_c = start + len(text)
        nxt_tok = doc[toks[-1].i + 1] if toks[-1].i + 1 < len(doc) else None
        club = nxt_tok is not None and nxt_tok.text.islower() and nxt_tok.lemma_.lower() in CLUB_ROLE_NOUNS
        if _overlaps(start, end_c, loc_spans) and not club:
            # "Nigeria's Independent National Electoral Commission": drop the leading place
            k = 0
            while k < len(toks) and (_overlaps(toks[k].idx, toks[k].idx + len(toks[k].text), loc_spans)
                                     or (k > 0 and (toks[k].tag_ == "POS" or toks[k].text in _APOS))):
                k += 1
            if k == len(toks):
                continue  # the whole name is a place
            if k > 0 and (toks[k - 1].tag_ == "POS" or toks[k - 1].text in _APOS):
                toks = toks[k:]
                text = _span_text(doc, toks)
                start = toks[0].idx
                end_c = start + len(text)
        key = _word_key(text)
        if key in person_keys or is_demonym(text, norp) or _is_place_like(toks):
            continue
        if len(toks) >= 2 and all(t.text[:1].isupper() and _word_key(t.text) in person_keys for t in toks):
            continue  # "Le Clair" beside "David Le Clair": a short form of a person's name
        if fold(toks[0].text) in STORM_WORDS:
            continue  # "Hurricane Ida": a storm's name, not an organization
        if dateline_end and start < dateline_end and text.isupper():
            continue  # "KASTANIES/LESBOS, Greece —": the dateline's place
        if len(toks) >= 2 and fold(toks[-1].text).rstrip(".") in STREET_WORDS:
            continue  # "Closner Boulevard"
        if all(fold(t.text).rstrip(".") in BOILERPLATE_WORDS for t in toks):
            continue
        words = [fold(t.text) for t in toks]
        if (words[0] in EVENT_WORDS or words[-1] in EVENT_WORDS) and words[-1] not in ORG_SUFFIXES:
            continue  # an event ("Tour de France"), not an organization
        # part of an office title: "Secretary of State", "Interior Minister", "Defence Secretary"
        if ent.start >= 2 and doc[ent.start - 1].lower_ == "of" and fold(doc[ent.start - 2].text) in ("secretary", "minister", "secretaries", "ministers") \
                and not (len(toks) >= 2 and any(fold(t.text) in ORG_SUFFIXES for t in toks)):
            continue  # ("general secretary of the Fire Brigades Union" is a post in an organization)
        nxt = doc[toks[-1].i + 1] if toks[-1].i + 1 < len(doc) else None
        if len(toks) == 1 and nxt is not None and fold(nxt.text).rstrip(".") in ("minister", "secretary", "ministers", "secretaries", "spokesman", "spokeswoman", "chief"):
            continue
        if _common_sentence_start(doc, toks, is_common):
            continue
        if len(toks) == 1 and fold(toks[0].text).rstrip(".") in PERSON_TITLES \
                and fold(toks[0].text) not in DEPARTMENT_WORDS:
            continue  # "Taoiseach"; "Labour" (a party) stays
        before = doc[toks[0].i - 1] if toks[0].i > 0 else None
        if before is not None and before.lemma_.lower() in VESSEL_NOUNS:
            continue  # "the charity ship Ocean Lantern"
        if _is_boilerplate_line(doc, start, end_c):
            continue
        if _is_law_name(doc, toks) or _in_credit_line(doc, toks):
            continue
        out.append(Mention(start, end_c, toks[0].i, toks[-1].i + 1, text, "organization"))
    return out


_PAREN_ALIAS = re.compile(r"\s*\(([A-Z][A-Za-z0-9.&\-]{1,11})\)")
_PAREN_FULL = re.compile(r"(?<![\w])([A-Z][A-Z&]{1,7})\s*\(((?:[A-Z][\w&\-]*|of|the|and|for|de|del)(?:\s+(?:[A-Z][\w&\-]*|of|the|and|for|de|del)){1,9})\)")
_KNOWN_AS = re.compile(r",?\s*(?:known|referred to)\s+(?:by\s+its\s+(?:[A-Za-z]+\s+)?(?:initials|acronym|abbreviation)|as)\s+(?:the\s+)?([A-Z][A-Za-z0-9.&\-]{1,11})\b")


def _full_name_before(doc: "Doc", char_end: int, acronym: str) -> tuple[int, int] | None:
    """Token span of the capitalised name ending at ``char_end`` that ``acronym`` abbreviates
    (or, failing that, the longest capitalised run of 2+ words)."""
    span = doc.char_span(0, char_end, alignment_mode="contract")
    if span is None or len(span) == 0:
        return None
    end = span.end
    while end > 0 and (doc[end - 1].is_space or doc[end - 1].is_punct and doc[end - 1].text not in _APOS):
        end -= 1
    best = None
    start = end
    plain_start = None  # start of the run before any possessive ("Mexico's | National ...")
    k = end - 1
    while k >= 0 and k >= end - 10:
        t = doc[k]
        if (t.tag_ == "POS" or t.text in _APOS) and plain_start is None:
            plain_start = start
        if t.text[:1].isupper() or t.tag_ == "POS" or t.text in _APOS:
            start = k
        elif fold(t.text) in ORG_FUNCTION_WORDS and k > 0 and doc[k - 1].text[:1].isupper():
            pass
        else:
            break
        if doc[start].text[:1].isupper():
            words = [x.text for x in doc[start:end] if not x.is_punct or x.text in _APOS]
            if is_acronym_of(acronym, " ".join(words)):
                best = (start, end)
        k -= 1
    if plain_start is not None:
        start = plain_start
    while start < end and fold(doc[start].text) in ORG_FUNCTION_WORDS:
        start += 1
    if best is None and end - start >= 2:
        best = (start, end)
    return best


def _alias_mentions(doc: "Doc", mentions: list[Mention], person_spans, loc_spans) -> tuple[list[Mention], dict[str, str]]:
    """Full names defined with an alias ("Full Name (ACR)", "X, known by its initials Y",
    "The Agency, Frontex,"), as extra mentions and an alias -> full name map; then every
    further use of an alias in the text ("the FGR said") as a mention too."""
    text = doc_text(doc)
    aliases: dict[str, str] = {}
    extra: list[Mention] = []

    def covered(s: int, e: int, pool) -> bool:
        return any(m.start <= s and e <= m.end for m in pool)

    for mm in _PAREN_ALIAS.finditer(text):
        acr = mm.group(1)
        if not (acr.isupper() or sum(c.isupper() for c in acr) >= 2 or acr[:1].isupper()):
            continue
        span = _full_name_before(doc, mm.start(), acr)
        if span is None:
            # "European Union Agency for Law Enforcement Co-operation (Europol)": the short name
            # in parentheses right after an organization found whole is its alias
            before = [m for m in mentions + extra if m.end <= mm.start() and not text[m.end:mm.start()].strip()]
            if before and len(before[-1].text.split()) >= 2:
                aliases[acr] = before[-1].text
            continue
        s_i, e_i = span
        toks = _clean_org_tokens(doc[s_i:e_i])
        if len(toks) < 2:
            continue
        s_c, e_c = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        full = _strip_possessive(text[s_c:e_c]) if toks[-1].tag_ == "POS" else text[s_c:e_c]
        if _overlaps(s_c, e_c, person_spans) or _overlaps(s_c, e_c, loc_spans):
            continue
        if not any(m.start <= s_c + 1 and e_c - 1 <= m.end or (s_c <= m.start and m.end <= e_c) for m in mentions):
            # only names NER saw as an organization (in part) count
            if not any(t.ent_type_ == "ORG" for t in doc[s_i:e_i]):
                continue
        mentions[:] = [m for m in mentions if not (s_c <= m.start and m.end <= e_c)]
        if not covered(s_c, e_c, mentions):
            extra.append(Mention(s_c, e_c, toks[0].i, toks[-1].i + 1, full, "organization"))
        aliases[acr] = full
    # the reverse order: "the MDC (Movement for Democratic Change)": the name in parentheses
    # spells out the acronym before it and is the canonical form
    for mm in _PAREN_FULL.finditer(text):
        acr, s_c = mm.group(1), mm.start(2)
        full = mm.group(2).strip()
        e_c = s_c + len(full)
        if not is_acronym_of(acr, full) or _overlaps(s_c, e_c, person_spans):
            continue
        span = doc.char_span(s_c, e_c, alignment_mode="contract")
        if span is None or not covered(mm.start(1), mm.end(1), mentions + extra):
            continue  # only an acronym already found as an organization is spelt out
        extra.append(Mention(s_c, e_c, span.start, span.end, full, "organization"))
        aliases[acr] = full
    pool = mentions + extra
    for mm in _KNOWN_AS.finditer(text):
        prev = [m for m in pool if m.end <= mm.start() and mm.start() - m.end <= 3]
        if prev:
            aliases[mm.group(1)] = prev[-1].text
    # "The European Border and Coast Guard Agency, Frontex, said"
    for m in pool:
        after = text[m.end:m.end + 40]
        mm = re.match(r",\s+([A-Z][A-Za-z0-9\-]{1,20}),", after)
        if mm and len(m.text.split()) >= 3:
            s_c = m.end + mm.start(1)
            tok = doc.char_span(s_c, s_c + len(mm.group(1)))
            if tok is not None and tok.root.dep_ in ("appos", "npadvmod"):
                aliases.setdefault(mm.group(1), m.text)
    # later uses of an alias
    pool = mentions + extra
    for alias, full in aliases.items():
        for occ in re.finditer(r"(?<![\w])" + re.escape(alias) + r"(?![\w])", text):
            s_c, e_c = occ.start(), occ.end()
            if covered(s_c, e_c, pool) or _overlaps(s_c, e_c, person_spans):
                continue
            span = doc.char_span(s_c, e_c)
            if span is None:
                continue
            mention = Mention(s_c, e_c, span.start, span.end, alias, "organization")
            extra.append(mention)
            pool.append(mention)
    return extra, aliases


def _merge_orgs(doc: "Doc", mentions: list[Mention], aliases: dict[str, str] | None = None) -> dict[str, list[Mention]]:
    forms: dict[tuple[str, ...], str] = {}
    for m in sorted(mentions, key=lambda x: x.start):
        forms.setdefault(_key_tokens(m.text), m.text)
    explicit = {_key_tokens(a): full for a, full in (aliases or {}).items()}

    def target_of(key: tuple[str, ...], text: str) -> str:
        if key in explicit and _key_tokens(explicit[key]) != key:
            return forms.get(_key_tokens(explicit[key]), explicit[key])
        best = None
        for k2, t2 in forms.items():
            if k2 == key:
                continue
            if len(key) == 1 and is_acronym_of(text, t2):
                best = t2 if best is None or len(t2) > len(best) else best
            elif _is_short_form(key, k2):
                best = t2 if best is None or len(t2) > len(best) else best
        return best or text

    clusters: dict[str, list[Mention]] = {}
    resolved: dict[tuple[str, ...], str] = {}
    for key, text in forms.items():
        t = target_of(key, text)
        seen = {text}
        while t not in seen:  # follow chains ("VW" -> "Volkswagen" -> "Volkswagen Group")
            seen.add(t)
            nxt = target_of(_key_tokens(t), t)
            if nxt == t:
                break
            t = nxt
        resolved[key] = t
    for m in sorted(mentions, key=lambda x: x.start):
        m.canonical = resolved[_key_tokens(m.text)]
        clusters.setdefault(m.canonical, []).append(m)
    return clusters


def _used_as_place(doc: "Doc", mentions: Sequence[Mention]) -> bool:
    """True when the article elsewhere uses a surface form of the organization as a place, in
    words NER did not tag as an organization: "near Emerson" or "the town of Emerson" beside
    "Emerson officials said". One name read as a place once is a place throughout."""
    text = doc_text(doc)
    for form in {m.text for m in mentions}:
        if form.isupper() or len(form) < 3:
            continue
        pat = r"\b(?:near|(?:town|city|village|island|province|region|county|district|port|municipality) of)\s+" \
              + re.escape(form) + r"\b"
        if re.search(pat, text):
            return True
    return False


def _place_context(doc: "Doc", m: Mention) -> bool:
    """True when a mention of an organization reads as a place: "the island of El Hierro"; right
    after "near" ("near Emerson, Man."), which places things, not bodies; in apposition to a
    place noun ("Cayo Costa, a barrier island")."""
    if _place_context_tokens(doc, m.tok_start):
        return True
    if m.tok_start > 0 and doc[m.tok_start - 1].lower_ == "near" and not m.text.isupper():
        return True
    return _apposed_to(doc[m.tok_start:m.tok_end], PLACE_NOUNS)


# ----------------------------------------------------------------------------- main entry
def extract_entities(doc: "Doc", location_spans: Sequence[Sequence[int]] = (), *, is_common_word=None) -> EntityAnalysis:
    """Find persons and organizations in ``doc``.

    ``location_spans`` are ``[start, end)`` character offsets of places found by the geoparser;
    PERSON/ORG entities overlapping them are dropped (spaCy's small model tags some towns as
    persons). ``is_common_word(word) -> bool`` (optional, e.g. from
    :func:`pipeline.enrich.nlp.common_word_checker`) tells a lone capitalised common word at a
    sentence start ("Turnout ...") from a name. Returns an :class:`EntityAnalysis` whose
    ``persons``/``organizations`` are lists of ``{"name": str, "mentions": int, "surface_forms":
    [str]}`` in order of first mention. Never raises on odd input; an empty doc gives empty lists.
    """
    loc = [(int(s), int(e)) for s, e in location_spans]
    norp = frozenset(fold(e.text) for e in doc_ents(doc) if e.label_ == "NORP")
    pcands, orgs_from_persons = _person_candidates(doc, loc, norp, is_common_word)
    pcands = [m for m in pcands if not any(o.start < m.end and m.start < o.end for o in orgs_from_persons)]
    # a short form of an organization NER tagged as a person elsewhere ("Kessler" beside
    # "Kessler Antriebstechnik") is that organization
    org_keys = [_key_tokens(o.text) for o in orgs_from_persons]
    # a company named with its legal form ("Halden Pumps Inc.") is called by its first word
    # alone later ("Halden said"): that bare word is the company, unless the article also
    # names a person with that word in a fuller name ("Ann Halden")
    fuller_person_words = {w for m in pcands if len(_key_tokens(m.text)) >= 2 for w in _key_tokens(m.text)}
    for e in doc_ents(doc):
        words = e.text.split()
        if e.label_ == "ORG" and len(words) >= 2 and fold(words[-1]).strip(".,") in LEGAL_FORM_SUFFIXES:
            first = _key_tokens(words[0])
            if first and first[0] not in fuller_person_words:
                org_keys.append(_key_tokens(e.text))
    still = []
    for m in pcands:
        k = _key_tokens(m.text)
        if any(_is_short_form(k, ok) for ok in org_keys):
            orgs_from_persons.append(Mention(m.start, m.end, m.tok_start, m.tok_end, m.text, "organization"))
        else:
            still.append(m)
    pcands = still
    taken = {i for m in pcands for i in range(m.tok_start, m.tok_end)}
    taken |= {i for o in orgs_from_persons for i in range(o.tok_start, o.tok_end)}
    spoken = _speech_subject_names(doc, taken, loc, norp)
    pcands += spoken
    taken.update(i for m in spoken for i in range(m.tok_start, m.tok_end))
    pcands += _extra_mentions(doc, pcands, taken, loc, norp)
    clusters = _cluster(pcands)
    # "Hurricane Ida" (and "Ida" alone once the article has named the storm): a storm, not a person
    toks_all = doc_tokens(doc)
    storms = {_word_key(toks_all[i + 1].text) for i, t in enumerate(toks_all[:-1])
              if t.text[:1].isupper() and fold(t.text) in STORM_WORDS and toks_all[i + 1].text[:1].isupper()}
    for canon in [c for c in clusters if fold(c.split()[0]) in STORM_WORDS or _word_key(c) in storms]:
        del clusters[canon]
    person_mentions = sorted((m for ms in clusters.values() for m in ms), key=lambda m: m.start)
    for m in person_mentions:
        m.is_subject, m.is_main_subject = _mention_is_subject(doc, m.tok_start, m.tok_end)

    person_spans = [(m.start, m.end) for m in person_mentions]
    person_keys = set()
    for canon in clusters:
        person_keys.add(_word_key(canon))
        for w in canon.split():
            person_keys.add(_word_key(w))
    ocands = _org_candidates(doc, loc, person_spans, person_keys, norp, is_common_word)
    # a candidate inside a longer one is part of its name ("Criminal Justice Co-operation" in
    # "European Union Agency for Criminal Justice Co-operation")
    ocands = [o for o in ocands if not any(p is not o and p.start <= o.start and o.end <= p.end
                                           and (p.end - p.start) > (o.end - o.start) for p in ocands)]
    for m in orgs_from_persons:
        overlapping = [o for o in ocands if o.start < m.end and m.start < o.end]
        if all(o.start >= m.start and o.end <= m.end for o in overlapping):
            ocands = [o for o in ocands if o not in overlapping] + [m]
    taken_o = {i for m in ocands for i in range(m.tok_start, m.tok_end)} | {i for m in person_mentions for i in range(m.tok_start, m.tok_end)}
    ocands += _untagged_orgs(doc, taken_o, loc)
    taken_o |= {i for m in ocands for i in range(m.tok_start, m.tok_end)}
    ocands += _listed_companies(doc, taken_o, loc, person_keys)
    taken_o |= {i for m in ocands for i in range(m.tok_start, m.tok_end)}
    ocands += _credit_and_platforms(doc, taken_o)
    extra, aliases = _alias_mentions(doc, ocands, person_spans, loc)
    oclusters = _merge_orgs(doc, ocands + extra, aliases)
    for canon in list(oclusters):
        if any(_place_context(doc, m) for m in oclusters[canon]) or _used_as_place(doc, oclusters[canon]):
            del oclusters[canon]
        elif len(canon.split()) >= 2 and fold(canon.split()[-1]) in LAW_WORDS:
            del oclusters[canon]  # a treaty or law with its acronym: "... Trade Agreement (CPTA)"
    for canon in list(oclusters):
        key = _key_tokens(canon)
        if len(key) == 1 and key[0] in GENERIC_ORG_WORDS:
            # "the Bank" beside "Bank of England": a short form; alone it names nothing
            fuller = [c for c in oclusters if c != canon and key[0] in _key_tokens(c)]
            ms = oclusters.pop(canon)
            if fuller:
                for m in ms:
                    m.canonical = fuller[0]
                oclusters[fuller[0]].extend(ms)
                oclusters[fuller[0]].sort(key=lambda m: m.start)
    org_mentions = sorted((m for ms in oclusters.values() for m in ms), key=lambda m: m.start)

    def entries(cl: dict[str, list[Mention]]) -> list[dict]:
        rows = []
        for canon, ms in sorted(cl.items(), key=lambda kv: min(m.start for m in kv[1])):
            surface = []
            for m in ms:
                if m.text not in surface:
                    surface.append(m.text)
            rows.append({"name": canon, "mentions": len(ms), "surface_forms": surface})
        return rows

    org_nouns: dict[str, list[tuple[int, str]]] = {}
    for m in org_mentions:
        nouns = []
        if m.tok_end < len(doc) and doc[m.tok_end].pos_ == "NOUN" and doc[m.tok_end].text.islower():
            nouns.append(doc[m.tok_end])
        root = doc[m.tok_start:m.tok_end].root
        nouns += [c for c in root.children if c.dep_ == "appos" and c.pos_ == "NOUN"]
        if root.dep_ == "appos" and root.head.pos_ == "NOUN":
            nouns.append(root.head)
        for n in nouns:
            org_nouns.setdefault(n.lemma_.lower(), []).append((m.start, m.canonical))

    analysis = EntityAnalysis(
        gender=_genders(doc, person_mentions),
        org_nouns=org_nouns,
        persons=entries(clusters),
        organizations=entries(oclusters),
        person_mentions=person_mentions,
        org_mentions=org_mentions,
        roles=_role_ties(doc, person_mentions),
    )
    analysis.index()
    return analysis


#: Prepositions that make a following name a place ("in Jackson") rather than a person.
LOCATIVE_PREPOSITIONS = frozenset("in at near from to outside across into toward towards through via around inside within".split())


def person_like_locations(doc: "Doc", locations: Sequence[dict]) -> set[int]:
    """Indexes of geoparsed ``locations`` that are really people.

    A place of kind "city"/"other" is a person when every one of its spans, alone or joined to
    an adjacent place span ("Marcus" + "Rashford"), ends in the surname of someone spaCy tags
    as PERSON elsewhere in the document (outside any place span), and no span follows a
    locative preposition ("in Rashford"). Countries and first-order divisions are never dropped.
    ``locations`` carry ``spans`` (``[start, end)`` character offsets) and ``kind``.
    """
    all_spans = sorted((int(s), int(e)) for loc in locations for s, e in loc.get("spans", []))
    keys = set()
    for ent in doc_ents(doc):
        if ent.label_ != "PERSON" or _overlaps(ent.start_char, ent.end_char, all_spans):
            continue
        k = _key_tokens(_strip_possessive(ent.text))
        if k:
            keys.add(k[-1])
    if not keys:
        return set()
    starts = {s: e for s, e in all_spans}
    ends = {e: s for s, e in all_spans}
    drop = set()
    for idx, loc in enumerate(locations):
        if loc.get("kind") not in ("city", "other") or not loc.get("spans"):
            continue
        ok = True
        for s, e in loc["spans"]:
            s, e = int(s), int(e)
            # join with an adjacent place span on either side ("Marcus" "Rashford")
            js, je = s, e
            nxt = e + 1
            if nxt in starts and doc_text(doc)[e:nxt] == " ":
                je = starts[nxt]
            prev = s - 1
            if prev in ends and doc_text(doc)[prev:s] == " ":
                js = ends[prev]
            last = _key_tokens(doc_text(doc)[js:je])
            span = doc.char_span(js, je, alignment_mode="expand")
            before = doc[span.start - 1].lower_ if span is not None and span.start > 0 else ""
            if not last or last[-1] not in keys or before in LOCATIVE_PREPOSITIONS:
                ok = False
                break
        if ok:
            drop.add(idx)
    return drop
