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
  name when the article gives both; no persons (or their surnames) and no places.

The result is an :class:`EntityAnalysis`, which also answers the quote stage's questions
("which person is this token?", "who was the last person in subject position before
character 812?").
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span, Token

#: Words dropped from the front of a person's name (lower case, without a trailing period).
#: Honorifics and offices common in English news; our own list.
PERSON_TITLES = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend fr father sister brother
    gov governor lt lieutenant sen senator rep representative congressman congresswoman
    president vice pres premier prime minister chancellor mayor deputy secretary
    gen general col colonel maj major capt captain sgt sergeant cmdr commander adm admiral
    judge justice chief inspector detective det supt superintendent officer constable
    king queen prince princess sheikh pope bishop archbishop cardinal rabbi imam
    coach mp mep amb ambassador attorney former late st saint head leader spokesman
    spokeswoman spokesperson minister foreign interior defence defense home state
    """.split()
)

#: Honorifics that make the following capitalised words a person even when NER says ORG/GPE.
HONORIFICS = frozenset("mr mrs ms dr sen gov rep prof sir dame".split())

#: Nouns that name a person's role; a role tied to a name lets "the minister said" resolve.
#: Our own list of common English news roles.
ROLE_NOUNS = frozenset(
    """
    minister secretary president vice-president premier chancellor ambassador envoy diplomat
    spokesman spokeswoman spokesperson governor senator congressman congresswoman lawmaker
    legislator mayor leader chief director chairman chairwoman chair ceo executive founder
    official officer commander general admiral coordinator counterpart head king queen prince
    princess monarch judge justice prosecutor attorney lawyer coach manager captain striker
    midfielder defender goalkeeper player star candidate nominee activist organizer organiser
    campaigner advocate economist analyst researcher scientist professor doctor surgeon
    president-elect chancellor-elect secretary-general commissioner inspector sheriff
    detective superintendent constable bishop archbishop cardinal pope rabbi imam priest
    actor actress singer author writer journalist reporter editor owner boss businessman
    businesswoman billionaire tycoon founder investor banker trader dictator ruler emir
    sultan sheikh mp mep representative delegate negotiator adviser advisor aide deputy
    """.split()
)

#: Demonyms and nationality words that spaCy sometimes tags as PERSON or ORG. Our own list
#: (plus any word the same document tags as NORP).
DEMONYMS = frozenset(
    """
    american americans mexican mexicans guatemalan guatemalans honduran hondurans salvadoran
    salvadoran salvadorans nicaraguan costa rican panamanian cuban haitian dominican colombian
    venezuelan ecuadorian peruvian brazilian argentine argentinian chilean bolivian uruguayan
    paraguayan canadian british english scottish welsh irish french german italian spanish
    portuguese dutch belgian swiss austrian swedish norwegian danish finnish polish czech slovak
    hungarian romanian bulgarian greek turkish russian ukrainian belarusian serbian croatian
    bosnian albanian syrian iraqi iranian israeli palestinian lebanese jordanian saudi emirati
    qatari kuwaiti yemeni omani egyptian libyan tunisian algerian moroccan sudanese ethiopian
    eritrean somali kenyan ugandan tanzanian rwandan nigerian ghanaian senegalese malian
    congolese angolan zambian zimbabwean south african afghan pakistani indian bangladeshi
    nepalese sri lankan burmese thai vietnamese cambodian laotian malaysian singaporean
    indonesian filipino chinese japanese korean taiwanese mongolian australian kiwi european
    african asian latino latina hispanic arab arabs muslim muslims christian christians jewish
    catholic protestant sunni shia shiite kurdish kurd kurds rohingya central americans
    """.split()
)

#: Lines of page furniture that spaCy tags as names ("Related Story"); our own list.
BOILERPLATE_WORDS = frozenset(
    "related story stories read more advertisement advert share tweet email print photo photos "
    "image video watch listen subscribe newsletter copyright getty images reuters ap afp sign up "
    "follow us comments comment click here".split()
)

#: Function words skipped when forming an organization's initials ("Bank of England" -> BOE/BE).
ORG_FUNCTION_WORDS = frozenset("of the and for de del la le des du da di in on at to & y et".split())

#: Generic words that alone never name an organization when they are a short form.
GENERIC_ORG_WORDS = frozenset(
    """
    ministry department party bank company group office agency council committee commission
    court university college school hospital army navy police force forces union association
    federation institute foundation corporation corp inc ltd plc co news times post radio tv
    government authority board service services center centre national international
    """.split()
)

#: Last words that make a "name" an organization (spaCy's small model tags "Manchester United"
#: as PERSON). Our own list.
ORG_SUFFIXES = frozenset(
    """
    united fc afc city rovers wanderers athletic albion hotspur rangers celtic inc corp corporation
    ltd llc plc co group bank party association institute university college airlines airways
    motors holdings partners capital technologies systems news times post agency ministry
    council committee foundation fund union club league federation network
    """.split()
)

#: Head nouns of institutions: a name in apposition to one is an organization ("the agency,
#: Senapred,"), and "the navy said" credits a quote to an organization. Our own list.
INSTITUTION_NOUNS = frozenset(
    """
    navy army police military government ministry department agency office court council
    committee commission embassy company firm bank authority authorities administration
    union party campaign team club organisation organization service carmaker airline
    broadcaster newspaper network group charity regulator watchdog insurer lender retailer
    manufacturer producer operator utility university hospital
    """.split()
)

#: Platforms and services that spaCy's small model often tags as PERSON; they are organizations.
KNOWN_PLATFORMS = frozenset("twitter facebook instagram youtube tiktok whatsapp telegram snapchat linkedin reddit google".split())

#: Name particles allowed in lower case inside a person's name ("Ursula von der Leyen").
NAME_PARTICLES = frozenset("de del della der den di da dos das du la le van von bin bint al el y ter ten".split())

_APOS = "'\u2019"


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` for comparisons ("Peña" -> "pena")."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return t.replace("\u2019", "'").casefold()


def _word_key(text: str) -> str:
    return re.sub(r"[^\w]+", "", fold(text))


def is_demonym(text: str, norp: frozenset[str] = frozenset()) -> bool:
    """True when ``text`` is a nationality/group word ("Honduran", "Central Americans").

    ``norp`` adds words the document's NER tagged as NORP (folded).
    """
    f = fold(text).strip()
    return f in DEMONYMS or f in norp


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

    def last_person(self, before: int, *, subject_only: bool = True, main_only: bool = False,
                    after: int = 0) -> Mention | None:
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
        break
    return toks


def _strip_possessive(text: str) -> str:
    return re.sub(r"(?:['\u2019]s|(?<=s)['\u2019])$", "", text).strip()


def _span_text(doc: "Doc", toks: Sequence["Token"]) -> str:
    if not toks:
        return ""
    return _strip_possessive(doc.text[toks[0].idx: toks[-1].idx + len(toks[-1].text)])


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
    if all(fold(t.text).rstrip(".") in BOILERPLATE_WORDS for t in words):
        return False
    if all(fold(t.text).rstrip(".") in PERSON_TITLES for t in words):
        return False
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


def _mention_is_subject(doc: "Doc", tok_start: int, tok_end: int) -> tuple[bool, bool]:
    """(is a subject, is the subject of a main clause) for the mention's tokens."""
    span = doc[tok_start:tok_end]
    t = span.root
    for _ in range(4):
        if t.dep_ in ("nsubj", "nsubjpass"):
            v = t.head
            main = v.dep_ == "ROOT" or (v.dep_ == "conj" and v.head.dep_ == "ROOT")
            return True, main
        if t.dep_ in ("appos", "compound", "conj") and t.head is not t:
            t = t.head
            continue
        break
    return False, False


def _is_boilerplate_line(doc: "Doc", start: int, end: int) -> bool:
    """True when the span sits alone on its line with no verb (page furniture)."""
    text = doc.text
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
def _extend_right(doc: "Doc", end: int) -> int:
    """Extend a name over particles followed by a capitalised word ("Erik" + "ten Hag")."""
    j = end
    while j < len(doc) and fold(doc[j].text) in NAME_PARTICLES and doc[j].text.islower():
        j += 1
    if j > end and j < len(doc) and doc[j].text[:1].isupper() and doc[j].pos_ == "PROPN" and not doc[j].is_sent_start:
        while j + 1 < len(doc) and doc[j + 1].text[:1].isupper() and doc[j + 1].pos_ == "PROPN" and doc[j + 1].ent_type_ in ("", "PERSON"):
            j += 1
        return j + 1
    return end


def _apposed_to_institution(span: "Span") -> bool:
    """True for a name in apposition to an institution ("the disaster agency, Senapred,")."""
    root = span.root
    if root.dep_ == "appos" and root.head.lemma_.lower() in INSTITUTION_NOUNS:
        return True
    return any(c.dep_ == "appos" and c.lemma_.lower() in INSTITUTION_NOUNS for c in root.children)


def _looks_like_org(words: Sequence[str]) -> bool:
    return bool(words) and (fold(words[-1]).rstrip(".") in ORG_SUFFIXES or fold(" ".join(words)) in KNOWN_PLATFORMS)


def _person_candidates(doc: "Doc", loc_spans: Sequence[tuple[int, int]], norp: frozenset[str]) -> tuple[list[Mention], list[Mention]]:
    """NER persons, cleaned; returns (persons, organizations mislabelled as persons)."""
    out: list[Mention] = []
    orgs: list[Mention] = []
    for ent in doc.ents:
        label = ent.label_
        if label == "PERSON":
            pass
        elif label in ("ORG", "GPE", "NORP", "FAC", "PRODUCT", "WORK_OF_ART", "LOC"):
            prev = doc[ent.start - 1] if ent.start > 0 else None
            if prev is None or fold(prev.text).rstrip(".") not in HONORIFICS:
                continue
        else:
            continue
        end = _extend_right(doc, ent.end) if label == "PERSON" else ent.end
        toks = _clean_tokens(list(doc[ent.start:end]), titles=PERSON_TITLES, norp=norp, strip_demonyms=True)
        text = _span_text(doc, toks)
        if label == "PERSON" and toks and (_looks_like_org([t.text for t in toks]) or _apposed_to_institution(doc[toks[0].i:toks[-1].i + 1])):
            start = toks[0].idx
            if not _overlaps(start, start + len(text), loc_spans):
                orgs.append(Mention(start, start + len(text), toks[0].i, toks[-1].i + 1, text, "organization"))
            continue
        if not _valid_person_name(toks, text):
            continue
        start = toks[0].idx
        end_c = start + len(text)
        if _overlaps(start, end_c, loc_spans):
            continue
        if _is_boilerplate_line(doc, start, end_c):
            continue
        if len(toks) == 1 and is_demonym(text, norp):
            continue
        out.append(Mention(start, end_c, toks[0].i, toks[-1].i + 1, text, "person"))
    # merge a name split by NER into adjacent pieces ("Erik" "ten Hag")
    out.sort(key=lambda m: m.start)
    merged: list[Mention] = []
    for m in out:
        if merged and merged[-1].tok_end <= m.tok_start and all(
            fold(doc[i].text) in NAME_PARTICLES for i in range(merged[-1].tok_end, m.tok_start)
        ) and m.tok_start - merged[-1].tok_end <= 2 and merged[-1].tok_end != m.tok_start:
            prev = merged[-1]
            text = doc.text[prev.start:m.end]
            merged[-1] = Mention(prev.start, m.end, prev.tok_start, m.tok_end, text, "person")
            continue
        if merged and merged[-1].tok_end > m.tok_start:
            continue  # overlapping after extension
        merged.append(m)
    return merged, orgs


def _speech_subject_names(doc: "Doc", taken: set[int], loc_spans: Sequence[tuple[int, int]], norp: frozenset[str]) -> list[Mention]:
    """Names NER missed that are the subject of a speech verb ("Kwame Mensah said"): two or
    more capitalised proper nouns, not a place, not part of another entity."""
    from pipeline.enrich.quotes import SPEECH_VERBS

    out = []
    for t in doc:
        if t.dep_ != "nsubj" or t.pos_ != "PROPN" or t.i in taken or t.ent_type_ not in ("", "PERSON", "WORK_OF_ART", "PRODUCT"):
            continue
        if t.head.lemma_.lower() not in SPEECH_VERBS:
            continue
        toks = [c for c in t.lefts if c.dep_ == "compound" and c.pos_ == "PROPN" and c.i >= t.i - 3] + [t]
        toks = _clean_tokens(toks, titles=PERSON_TITLES, norp=norp, strip_demonyms=True)
        if len(toks) < 2 or any(x.i in taken or x.ent_type_ not in ("", "PERSON", "WORK_OF_ART", "PRODUCT") for x in toks):
            continue
        if toks[-1].i - toks[0].i + 1 != len(toks):
            continue
        text = _span_text(doc, toks)
        if not _valid_person_name(toks, text) or _looks_like_org([x.text for x in toks]):
            continue
        if _overlaps(toks[0].idx, toks[0].idx + len(text), loc_spans):
            continue
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
    for ent in doc.ents:
        for i in range(ent.start, ent.end):
            ent_of[i] = ent
    out = []
    for t in doc:
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
                    and not w.is_sent_start and not _overlaps(w.idx, w.idx + len(w.text), loc_spans):
                start_i = j
                j -= 1
                continue
            if low in NAME_PARTICLES and w.text.islower():
                j -= 1
                continue
            break
        if start_i < t.i and fold(doc[start_i].text) in NAME_PARTICLES:
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
            while core_end > ent.start and (doc[core_end - 1].tag_ == "POS" or doc[core_end - 1].text in _APOS):
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
        text = doc.text[first.idx: t.idx + len(t.text)]
        out.append(Mention(first.idx, t.idx + len(t.text), start_i, t.i + 1, text, "person"))
        taken.update(range(start_i, t.i + 1))
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
        if root.dep_ == "appos" and root.head.pos_ in ("NOUN", "PROPN"):
            add(root.head, m)
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


def is_acronym_of(short: str, full: str) -> bool:
    """True when ``short`` ("EU", "U.N.", "VW") abbreviates the organization name ``full``.

    Rules: the letters of ``short`` (2-8 capitals, dots ignored) equal the initials of the
    capitalised words of ``full`` (with or without function words such as "of"), or ``full`` is
    one word and the letters appear in it in order, starting with its first letter
    ("VW" in "Volkswagen").
    """
    s = short.replace(".", "").replace("&", "")
    if not (2 <= len(s) <= 8 and s.isupper() and s.isalpha()):
        return False
    words = [w for w in re.split(r"[\s\-]+", full) if w]
    if len(words) >= 2:
        return s in (_initials(words, True), _initials(words, False))
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
    if all(w in GENERIC_ORG_WORDS for w in short):
        return False
    return any(full[i:i + n] == short for i in range(m - n + 1))


def _org_candidates(doc: "Doc", loc_spans: Sequence[tuple[int, int]], person_spans: Sequence[tuple[int, int]],
                    person_keys: set[str], norp: frozenset[str]) -> list[Mention]:
    out = []
    for ent in doc.ents:
        if ent.label_ != "ORG":
            continue
        toks = list(ent)
        for k, t in enumerate(toks):
            if t.text in "([" and k > 0:
                toks = toks[:k]
                break
        toks = _clean_tokens(toks, titles=frozenset(), norp=norp)
        text = _span_text(doc, toks)
        if not toks or not any(c.isupper() for c in text) or not any(c.isalpha() for c in text):
            continue
        start = toks[0].idx
        end = start + len(text)
        if _overlaps(start, end, loc_spans) or _overlaps(start, end, person_spans):
            continue
        key = _word_key(text)
        if key in person_keys or is_demonym(text, norp):
            continue
        if all(fold(t.text).rstrip(".") in BOILERPLATE_WORDS for t in toks):
            continue
        # part of an office title: "Secretary of State", "Minister of Interior"
        if ent.start >= 2 and doc[ent.start - 1].lower_ == "of" and fold(doc[ent.start - 2].text) in ("secretary", "minister", "secretaries", "ministers"):
            continue
        if _is_boilerplate_line(doc, start, end):
            continue
        out.append(Mention(start, end, toks[0].i, toks[-1].i + 1, text, "organization"))
    return out


def _merge_orgs(doc: "Doc", mentions: list[Mention]) -> dict[str, list[Mention]]:
    forms: dict[tuple[str, ...], str] = {}
    for m in mentions:
        forms.setdefault(_key_tokens(m.text), m.text)
    # explicit "Full Name (ACR)" in the text
    explicit: dict[str, str] = {}
    for m in mentions:
        after = doc.text[m.end:m.end + 14]
        mm = re.match(r"\s*\(([A-Z][A-Za-z.&]{1,9})\)", after)
        if mm and len(m.text.split()) >= 2:
            explicit[_word_key(mm.group(1))] = m.text

    def target_of(key: tuple[str, ...], text: str) -> str:
        if len(key) == 1 and key[0] in explicit:
            return explicit[key[0]]
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


# ----------------------------------------------------------------------------- main entry
def extract_entities(doc: "Doc", location_spans: Sequence[Sequence[int]] = ()) -> EntityAnalysis:
    """Find persons and organizations in ``doc``.

    ``location_spans`` are ``[start, end)`` character offsets of places found by the geoparser;
    PERSON/ORG entities overlapping them are dropped (spaCy's small model tags some towns as
    persons). Returns an :class:`EntityAnalysis` whose ``persons``/``organizations`` are lists
    of ``{"name": str, "mentions": int, "surface_forms": [str]}`` in order of first mention.
    Never raises on odd input; an empty doc gives empty lists.
    """
    loc = [(int(s), int(e)) for s, e in location_spans]
    norp = frozenset(fold(e.text) for e in doc.ents if e.label_ == "NORP")
    pcands, orgs_from_persons = _person_candidates(doc, loc, norp)
    taken = {i for m in pcands for i in range(m.tok_start, m.tok_end)}
    spoken = _speech_subject_names(doc, taken, loc, norp)
    pcands += spoken
    taken.update(i for m in spoken for i in range(m.tok_start, m.tok_end))
    pcands += _extra_mentions(doc, pcands, taken, loc, norp)
    clusters = _cluster(pcands)
    person_mentions = sorted((m for ms in clusters.values() for m in ms), key=lambda m: m.start)
    for m in person_mentions:
        m.is_subject, m.is_main_subject = _mention_is_subject(doc, m.tok_start, m.tok_end)

    person_spans = [(m.start, m.end) for m in person_mentions]
    person_keys = set()
    for canon in clusters:
        person_keys.add(_word_key(canon))
        for w in canon.split():
            person_keys.add(_word_key(w))
    ocands = _org_candidates(doc, loc, person_spans, person_keys, norp) + orgs_from_persons
    oclusters = _merge_orgs(doc, ocands)
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
        org_nouns=org_nouns,
        persons=entries(clusters),
        organizations=entries(oclusters),
        person_mentions=person_mentions,
        org_mentions=org_mentions,
        roles=_role_ties(doc, [m for m in person_mentions]),
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
    for ent in doc.ents:
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
            if nxt in starts and doc.text[e:nxt] == " ":
                je = starts[nxt]
            prev = s - 1
            if prev in ends and doc.text[prev:s] == " ":
                js = ends[prev]
            last = _key_tokens(doc.text[js:je])
            span = doc.char_span(js, je, alignment_mode="expand")
            before = doc[span.start - 1].lower_ if span is not None and span.start > 0 else ""
            if not last or last[-1] not in keys or before in LOCATIVE_PREPOSITIONS:
                ok = False
                break
        if ok:
            drop.add(idx)
    return drop
