"""Direct quotations and their speakers.

Two steps, both rule-based (our own rules, written for English news):

1. :func:`find_quote_spans` scans the body for spans between quote marks: straight or curly,
   double or single, nested marks of the other kind ignored, apostrophes ("Mexico's",
   "workers' rights") not taken as closing marks, a quote running over several paragraphs
   (an opening mark on each, a closing mark only on the last) kept as one quote.
2. :func:`extract_quotes` finds the speech verb that governs each span (up the dependency
   tree from the quoted words, else in the words around it) and its speaker: the verb's
   subject ("Pompeo said", "said Pompeo"), "according to X", pronouns ("he added") and role
   descriptions ("the minister said") resolved to the canonical person of
   :mod:`pipeline.enrich.entities`, an organization ("the navy said"). A quote with no
   speech verb of its own takes the speaker of the previous quote in its paragraph (a quote
   split around "he said"), or of the previous paragraph when its paragraph is only quotes.
   Short fragments with no speech verb (scare quotes), terms in quote marks inside an
   infinitive ("agree to become a 'safe third country'") and titles of works are dropped.
   A pronoun may also resolve to the first person of a sentence in its paragraph who is the
   subject of any clause ("Yesenia Fuentes, 37, fled ...", "Andrea Kellner, who said ..."),
   since the parser often misses a main subject.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from pipeline.enrich.entities import EntityAnalysis, fold, is_demonym
from pipeline.enrich.lexicon import (
    COMPANY_NOUNS,
    FEMALE_WORDS,
    INSTITUTION_NOUNS,
    INSTITUTION_SYNONYMS,
    MALE_WORDS,
    NAMING_VERBS,
    PERSON_NOUNS,
    PERSON_PRONOUNS,
    PERSON_TITLES,
    ROLE_NOUNS,
    SPEECH_VERBS,
    SPOKES_NOUNS,
    TITLE_SMALL_WORDS,
    WORK_NOUNS,
)
from pipeline.enrich.nlp import doc_text, doc_tokens

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Token


#: Longest quoted fragment (words) treated as a scare quote when no speech verb governs it.
SCARE_MAX_WORDS = 4

_DOUBLE_OPEN = "\u201c\u201e\u00ab"
_DOUBLE_CLOSE = "\u201d\u00bb"
_SINGLE_OPEN = "\u2018\u201a\u2039"
_SINGLE_CLOSE = "\u2019\u203a"
_ALL_MARKS = _DOUBLE_OPEN + _DOUBLE_CLOSE + _SINGLE_OPEN + _SINGLE_CLOSE + "\"'"
_LEFT_BOUNDARY = " \t\n\u00a0([{/\u2014\u2013-:;" + _DOUBLE_OPEN + _SINGLE_OPEN + "\"'"


@dataclass
class QuoteSpan:
    """Quoted words between marks. ``segments`` are ``[start, end)`` character offsets of the
    words (marks excluded) per paragraph; ``open_at``/``close_at`` are the offsets of the first
    opening mark and of the last closing mark (``close_at`` is the paragraph end when a
    multi-paragraph quote lacks its final mark). ``kind`` is "double" or "single"."""

    segments: list[tuple[int, int]]
    kind: str
    open_at: int
    close_at: int

    @property
    def start(self) -> int:
        """Offset of the first quoted character."""
        return self.segments[0][0]

    @property
    def end(self) -> int:
        """Offset just after the last quoted character."""
        return self.segments[-1][1]

    def text(self, body: str) -> str:
        """The quoted words; paragraphs of a multi-paragraph quote joined by a blank line."""
        return "\n\n".join(body[s:e] for s, e in self.segments)


# ----------------------------------------------------------------------------- scanning
def _kind_of_open(text: str, i: int) -> str | None:
    c = text[i]
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if nxt.isspace():
        return None
    if c in _DOUBLE_OPEN:
        return "double"
    if c in _SINGLE_OPEN:
        return "single" if not prev.isalnum() else None
    if c == '"':
        return "double" if prev in _LEFT_BOUNDARY else None
    if c == "'":
        # elisions: '90s, 'em, 'n'
        if nxt.isdigit() or text[i + 1:i + 4].lower() in ("em ", "n' ", "til", "cau"):
            return None
        return "single" if prev in _LEFT_BOUNDARY else None
    return None


def _close_strength(text: str, i: int, kind: str) -> int:
    """0: not a closing mark of ``kind``; 1: weak (could be a plural possessive "workers' r");
    2: strong."""
    c = text[i]
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if kind == "double":
        if c in _DOUBLE_CLOSE:
            return 2
        if c == '"' and not prev.isspace():
            return 2
        return 0
    if c not in _SINGLE_CLOSE and c != "'":
        return 0
    if prev.isspace() or nxt.isalnum():
        return 0  # apostrophe inside a word ("Mexico's", "don't")
    if prev.lower() == "s" and nxt == " " and i + 2 < len(text) and text[i + 2].isalpha():
        return 1  # "Honduras' former", "the workers' rights"
    return 2


def _paragraphs(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _scan_paragraph(text: str, ps: int, pe: int, open_kind: str | None):
    """Scan one paragraph. Returns (closed, pending): ``closed`` is a list of
    ``(kind, content_start, content_end, open_at, close_at)``; ``pending`` is
    ``(kind, content_start, open_at)`` when a quote is still open at the paragraph end."""
    closed = []
    i = ps
    state = None  # (kind, content_start, open_at)
    if open_kind is not None:
        # continuation paragraph: it starts with an opening mark of the same kind
        j = ps
        while j < pe and text[j].isspace():
            j += 1
        state = (open_kind, j + 1, j)
        i = j + 1
    while i < pe:
        c = text[i]
        if state is None:
            if c in _ALL_MARKS:
                kind = _kind_of_open(text, i)
                if kind:
                    state = (kind, i + 1, i)
            i += 1
            continue
        kind, cs, oa = state
        strength = _close_strength(text, i, kind) if c in _ALL_MARKS else 0
        if strength == 2 or (strength == 1 and not _later_strong_close(text, i + 1, pe, kind)):
            closed.append((kind, cs, i, oa, i))
            state = None
        i += 1
    if state is not None:
        return closed, state
    return closed, None


def _colon_opened(text: str, open_at: int, pe: int, kind: str) -> bool:
    """True when the opening mark at ``open_at`` follows a colon (spaces between) and the rest of
    its paragraph, up to ``pe``, holds no other mark of its ``kind`` and ends a sentence."""
    before = text[:open_at].rstrip(" \t\u00a0")
    rest = text[open_at + 1:pe].rstrip()
    marks = _DOUBLE_OPEN + _DOUBLE_CLOSE + '"' if kind == "double" else _SINGLE_OPEN + _SINGLE_CLOSE
    return before.endswith(":") and rest[-1:] in ".!?" and not any(c in marks for c in rest)


def _later_strong_close(text: str, i: int, pe: int, kind: str) -> bool:
    for j in range(i, pe):
        c = text[j]
        if c in _ALL_MARKS:
            if _kind_of_open(text, j) == kind and c not in _SINGLE_CLOSE:
                return False  # a new quote opens first
            if _close_strength(text, j, kind) == 2:
                return True
    return False


def _trim(text: str, s: int, e: int, last: bool) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and (text[e - 1].isspace() or (last and text[e - 1] in ",;:")):
        e -= 1
    return s, e


def find_quote_spans(text: str) -> list[QuoteSpan]:
    """Every span of ``text`` between quote marks, in order (see the module doc for the rules).

    Pure function of the text; offsets index ``text``. Empty spans are skipped; an opening mark
    never closed in its paragraph (and not continued by the next one) is ignored.
    """
    paras = _paragraphs(text)
    out: list[QuoteSpan] = []
    pending: tuple[str, list[tuple[int, int]], int] | None = None  # kind, segments, open_at
    k = 0
    while k < len(paras):
        ps, pe = paras[k]
        open_kind = pending[0] if pending else None
        closed, still_open = _scan_paragraph(text, ps, pe, open_kind)
        if pending is not None:
            if closed:
                kind, cs, ce, _oa, ca = closed[0]
                segs = pending[1] + [_trim(text, cs, ce, True)]
                out.append(QuoteSpan(segs, kind, pending[2], ca))
                closed = closed[1:]
                pending = None
            else:
                # the quote runs on through this paragraph too
                kind, cs, _oa = still_open
                pending = (kind, pending[1] + [_trim(text, cs, pe, False)], pending[2])
                still_open = None
        for kind, cs, ce, oa, ca in closed:
            s, e = _trim(text, cs, ce, True)
            if e > s:
                out.append(QuoteSpan([(s, e)], kind, oa, ca))
        if still_open is not None:
            kind, cs, oa = still_open
            nxt = paras[k + 1][0] if k + 1 < len(paras) else None
            if nxt is not None and _kind_of_open(text, nxt) == kind and cs < pe:
                pending = (kind, [_trim(text, cs, pe, False)], oa)
            elif pending is None and _colon_opened(text, oa, pe, kind):
                # 'he said: "It is the first time ...' with the closing mark left out (or cut
                # off with the rest of the text): the colon announced a quotation, which runs to
                # the end of its paragraph
                s, e = _trim(text, cs, pe, True)
                if e > s:
                    out.append(QuoteSpan([(s, e)], kind, oa, pe))
            elif pending is None:
                # an unmatched opening mark: rescan the rest of the paragraph after it
                rest_closed, _ = _scan_paragraph(text, oa + 1, pe, None)
                for kind2, cs2, ce2, oa2, ca2 in rest_closed:
                    s, e = _trim(text, cs2, ce2, True)
                    if e > s:
                        out.append(QuoteSpan([(s, e)], kind2, oa2, ca2))
        if pending is not None and (k + 1 >= len(paras) or _kind_of_open(text, paras[k + 1][0]) != pending[0]):
            # a multi-paragraph quote whose last paragraph lacks its closing mark
            segs = [seg for seg in pending[1] if seg[1] > seg[0]]
            if segs:
                out.append(QuoteSpan(segs, pending[0], pending[2], pe))
            pending = None
        k += 1
    out.sort(key=lambda q: q.open_at)
    return out


# ----------------------------------------------------------------------------- attribution
@dataclass
class _Speaker:
    name: str | None
    text: str | None
    type: str | None
    verb: str | None
    pos: int
    direct: bool = True
    naming: bool = False  # found through a naming verb ("what ministers called a 'reset'")


@dataclass
class _Ctx:
    doc: "Doc"
    ents: EntityAnalysis
    quote_ranges: list[tuple[int, int]]
    starts: list[int] = field(default_factory=list)
    speakers: list[tuple[int, str]] = field(default_factory=list)  # (pos, canonical person)
    unnamed: list[tuple[int, str | None]] = field(default_factory=list)  # unnamed people introduced

    def in_quote(self, tok: "Token") -> bool:
        """True when the token lies between quote marks (marks included)."""
        i = bisect_right(self.starts, tok.idx) - 1
        return i >= 0 and tok.idx <= self.quote_ranges[i][1]


def _np_text(tok: "Token") -> str:
    skip = set()
    for child in tok.children:
        if child.dep_ in ("relcl", "acl", "appos", "punct", "advcl", "cc", "conj", "prep") and child.i > tok.i:
            skip.update(t.i for t in child.subtree)
    toks = [t for t in tok.subtree if t.i not in skip]
    while toks and (toks[0].is_punct or toks[0].is_space):
        toks.pop(0)
    while toks and (toks[-1].is_punct or toks[-1].is_space):
        toks.pop()
    if not toks:
        return tok.text
    doc = tok.doc
    return doc_text(doc)[toks[0].idx: toks[-1].idx + len(toks[-1].text)]


def _strip_det(text: str) -> str:
    return re.sub(r"^(?:the|a|an|its|his|her|their)\s+", "", text, flags=re.I).strip()


def _resolve_pronoun(ctx: _Ctx, pos: int, gender: str | None = None) -> str | None:
    """The person a "he"/"she" (or "the minister") at char ``pos`` most likely refers to: the
    most recent of the last quote speaker, the last named subject of a main clause and the last
    unnamed person introduced as a subject ("a nurse said", which gives None). ``gender``
    ("m"/"f", from the pronoun) skips people the text shows to be of the other gender."""
    ents = ctx.ents
    cands: list[tuple[int, str | None]] = []
    m = ents.last_person(pos, main_only=True, gender=gender)
    if m:
        cands.append((m.start, m.canonical))
    t = _paragraph_topic(ctx, pos, gender)
    if t:
        cands.append((t.start, t.canonical))
    for spos, name in reversed(ctx.speakers):
        if spos < pos and ents.compatible(name, gender):
            cands.append((spos, name))
            break
    for upos, ugender in reversed(ctx.unnamed):
        if upos < pos and (gender is None or ugender is None or ugender == gender):
            cands.append((upos, None))
            break
    if cands:
        return max(cands, key=lambda c: c[0])[1]
    m = ents.last_person(pos, subject_only=True, gender=gender) or ents.last_person(pos, subject_only=False, gender=gender)
    return m.canonical if m else None


def _paragraph_topic(ctx: _Ctx, pos: int, gender: str | None = None):
    """The last person before char ``pos`` in the same paragraph who is the subject of any clause
    (not only a main one) and the first person named in that sentence: "Yesenia Fuentes, 37, fled
    Acapulco ...", "a nurse who gave her name as Yudith said ...", "Second place went to Andrea
    Kellner, who said ...", which the parser often does not make the main subject. The first
    person of a sentence is its topic; a later one ("Cardenas said Smith had refused") is not."""
    ents = ctx.ents
    text = doc_text(ctx.doc)
    ps = text.rfind("\n", 0, pos) + 1
    if not _names_anyone(ctx, ps, pos):
        # a paragraph that names nobody before the pronoun ("He stuck to that pledge.") goes on
        # with the person of the paragraphs before it: look back over such paragraphs
        while ps > 0 and not _names_anyone(ctx, text.rfind("\n", 0, max(0, ps - 1)) + 1, ps):
            nxt = text.rfind("\n", 0, max(0, ps - 1)) + 1
            if nxt == ps or text[nxt:ps].strip() and not _pronoun_led(ctx, nxt, ps):
                break
            ps = nxt
        ps = text.rfind("\n", 0, max(0, ps - 1)) + 1
    for m in reversed(ents.person_mentions):
        if m.end > pos or m.start < ps:
            continue
        if not m.is_subject or not ents.compatible(m.canonical, gender):
            continue
        sent_start = ctx.doc[m.tok_start].sent.start
        if any(o.tok_start >= sent_start and o.tok_start < m.tok_start and o.is_subject for o in ents.person_mentions):
            continue
        return m
    return None


def _names_anyone(ctx: _Ctx, start: int, end: int) -> bool:
    """True when a person mention lies in ``[start, end)``."""
    return any(start <= m.start < end for m in ctx.ents.person_mentions)


def _pronoun_led(ctx: _Ctx, start: int, end: int) -> bool:
    """True when the text in ``[start, end)`` (a paragraph) starts with a personal pronoun."""
    words = doc_text(ctx.doc)[start:end].split()
    return bool(words) and words[0].lower().strip("\"\u201c") in PERSON_PRONOUNS


def _is_subject_mention(doc: "Doc", m) -> bool:
    root = doc[m.tok_start:m.tok_end].root
    return root.dep_ in ("nsubj", "nsubjpass") or (root.dep_ in ("appos", "compound") and root.head.dep_ in ("nsubj", "nsubjpass"))


def _last_subject_org(ctx: _Ctx, pos: int) -> str | None:
    """The last organization in subject position before ``pos`` within the same paragraph
    ("The ILA ... said its members would stay out until employers offered what it called ...")."""
    ps = doc_text(ctx.doc).rfind("\n", 0, pos) + 1
    for o in reversed(ctx.ents.org_mentions):
        if o.start >= pos or o.start < ps:
            continue
        if _is_subject_mention(ctx.doc, o):
            return o.canonical
    return None


def _unnamed_people(doc: "Doc", ents: EntityAnalysis) -> list[tuple[int, str | None]]:
    """``(char offset, gender)`` of subjects that introduce an unnamed person ("A nurse ...
    said", "One Venezuelan mother of two ... said"); gender "m"/"f" when the noun shows it."""
    out = []
    for t in doc_tokens(doc):
        if t.dep_ not in ("nsubj", "nsubjpass") or t.tag_ != "NN" or t.lemma_.lower() not in PERSON_NOUNS:
            continue
        if not any(c.dep_ in ("det", "nummod") and c.lower_ in ("a", "an", "one", "another") for c in t.children):
            continue
        if any(ents.person_at_token(x.i) for x in t.subtree):
            continue
        low = t.lower_
        out.append((t.idx, "f" if low in FEMALE_WORDS else "m" if low in MALE_WORDS else None))
    return out


def _resolve_np(ctx: _Ctx, tok: "Token", verb: str, pos: int) -> _Speaker | None:
    """Who the noun phrase headed by ``tok`` is: a person, an organization or a description."""
    ents = ctx.ents
    m = ents.person_at_token(tok.i)
    if m:
        return _Speaker(m.canonical, m.text, "person", verb, tok.idx)
    if tok.text[:1].isupper() and (fold(tok.text).rstrip(".") in PERSON_TITLES or fold(tok.text) in ROLE_NOUNS):
        # "High Commissioner to Freedonia Ana Reyes said": the title is parsed as the subject and
        # the name it introduces ends its phrase (entities._titled_subject)
        m = ents.person_at_token(tok.right_edge.i)
        if m and m.tok_start > tok.i:
            return _Speaker(m.canonical, m.text, "person", verb, tok.idx)
    for child in tok.children:
        if child.dep_ in ("appos", "compound"):
            for t in child.subtree:
                m = ents.person_at_token(t.i)
                if m:
                    return _Speaker(m.canonical, m.text, "person", verb, tok.idx)
    o = ents.org_at_token(tok.i)
    if o:
        return _Speaker(o.canonical, o.text, "organization", verb, tok.idx)
    low = tok.lower_
    if low in PERSON_PRONOUNS:
        gender = "m" if low in ("he", "him") else "f"
        return _Speaker(_resolve_pronoun(ctx, tok.idx, gender), tok.text, "person", verb, tok.idx)
    if low == "it":
        org = _last_subject_org(ctx, tok.idx)
        if org:
            return _Speaker(org, tok.text, "organization", verb, tok.idx)
    if tok.pos_ == "PRON":
        return _Speaker(None, tok.text, None, verb, tok.idx)
    lemma = tok.lemma_.lower()
    text = _np_text(tok)
    dets = {c.lower_ for c in tok.children if c.dep_ in ("det", "poss")}
    if lemma in SPOKES_NOUNS or lemma in ("office", "aide", "camp", "team", "lawyer", "attorney"):
        # "Assad's office said", "Trump's spokeswoman said": an unnamed voice of a named person
        # or organization speaks for it
        for c in tok.children:
            if c.dep_ == "poss":
                m = ents.person_at_token(c.i)
                if m:
                    return _Speaker(m.canonical, text, "person", verb, tok.idx)
                o = ents.org_at_token(c.i)
                if o:
                    return _Speaker(o.canonical, text, "organization", verb, tok.idx)
    # "a spokesman for the navy", "observers from the EU", "a company spokesperson"
    if lemma in PERSON_NOUNS:
        tied = ents.role_person(lemma, pos) if lemma in ROLE_NOUNS else None
        if tied and not (dets & {"a", "an", "one", "another"}) and tok.tag_ in ("NN", "NNP"):
            return _Speaker(tied, text, "person", verb, tok.idx)
        for prep in tok.children:
            if prep.dep_ == "prep" and prep.lower_ in ("for", "of", "at", "from", "with"):
                for t in prep.subtree:
                    o = ents.org_at_token(t.i)
                    if o:
                        return _Speaker(o.canonical, text, "organization", verb, tok.idx)
                if lemma in SPOKES_NOUNS:
                    # "a spokesman for the ministry": the institution named earlier speaks
                    for t in prep.subtree:
                        if t.pos_ == "NOUN" and t.lemma_.lower() in INSTITUTION_NOUNS:
                            org = _org_for_institution(ctx, t, tok.idx)
                            if org:
                                return _Speaker(org, text, "organization", verb, tok.idx)
        if lemma in SPOKES_NOUNS:
            # "A Department of Homeland Security (DHS) official said"
            for t in tok.subtree:
                if t.i < tok.i:
                    o = ents.org_at_token(t.i)
                    if o:
                        return _Speaker(o.canonical, text, "organization", verb, tok.idx)
            for c in tok.children:
                if c.dep_ in ("compound", "nmod", "poss"):
                    o = ents.org_at_token(c.i) or None
                    if o:
                        return _Speaker(o.canonical, text, "organization", verb, tok.idx)
                    if c.lemma_.lower() in INSTITUTION_NOUNS:
                        org = _org_for_institution(ctx, c, tok.idx)
                        if org:
                            return _Speaker(org, text, "organization", verb, tok.idx)
        if dets & {"the", "his", "her"} and tok.tag_ in ("NN", "NNP"):
            name = _resolve_pronoun(ctx, tok.idx)
            if name:
                return _Speaker(name, text, "person", verb, tok.idx)
        return _Speaker(None, text, None, verb, tok.idx)
    le = tok.left_edge.i
    definite = bool(dets & {"the", "his", "her", "their", "its"}) or tok.tag_ == "NNP" or (
        le > 0 and tok.doc[le - 1].lower_ == "the")
    # "the German", "the 31-year-old": a description of the person in focus
    if definite and (is_demonym(tok.text) or tok.ent_type_ == "NORP" or re.search(r"\d+-year-old$", text)):
        name = _resolve_pronoun(ctx, tok.idx)
        return _Speaker(name, text, "person" if name else None, verb, tok.idx)
    org = ents.org_for_noun(lemma, tok.idx) if definite else None
    if org:
        return _Speaker(org, text, "organization", verb, tok.idx)
    if lemma in INSTITUTION_NOUNS or low in INSTITUTION_NOUNS:
        org = _org_for_institution(ctx, tok, tok.idx)
        if org:
            return _Speaker(org, text, "organization", verb, tok.idx)
        if tok.tag_ == "NNS" and low != "police":
            return _Speaker(None, text, None, verb, tok.idx)  # "aid groups": nobody in particular
        return _Speaker(_strip_det(text), text, "organization", verb, tok.idx)
    if tok.pos_ == "PROPN":
        return _Speaker(_strip_det(text), text, None, verb, tok.idx)
    return _Speaker(None, text, None, verb, tok.idx)




def _org_for_institution(ctx: _Ctx, tok: "Token", before: int) -> str | None:
    """The organization named earlier that ``tok`` ("the army", "the company") refers to."""
    low = tok.lemma_.lower()
    words = INSTITUTION_SYNONYMS.get(low, (low,))
    for o in reversed(ctx.ents.org_mentions):
        if o.start < before and any(fold(w) in words for w in re.split(r"[\s\-]+", o.canonical)):
            return o.canonical
    definite = any(c.dep_ in ("det", "poss") and c.lower_ in ("the", "its") for c in tok.children)
    if low in COMPANY_NOUNS and tok.tag_ == "NN" and (definite or tok.dep_ == "compound"):
        prior = [o for o in ctx.ents.org_mentions if o.start < before]
        subjects = [o for o in prior if _is_subject_mention(ctx.doc, o)]
        if subjects or prior:
            return (subjects or prior)[-1].canonical
    return None


def _is_speech(tok: "Token") -> bool:
    return tok.pos_ in ("VERB", "AUX") and tok.lemma_.lower() in SPEECH_VERBS


def _according_to(tok: "Token", ctx: "_Ctx | None" = None) -> "Token | None":
    """The "according" child of ``tok`` ("..., according to X") outside any quote, or None."""
    for child in tok.children:
        if child.lower_ == "according" and (ctx is None or not ctx.in_quote(child)):
            return child
    return None


def _according_target(ctx: _Ctx, acc: "Token") -> "Token | None":
    """Who "according to ..." names: a person or organization in the phrase, else its first noun."""
    toks = [t for t in acc.subtree if t.i != acc.i and t.lower_ != "to"]
    for t in toks:
        if ctx.ents.person_at_token(t.i) or ctx.ents.org_at_token(t.i):
            return t
    for t in toks:
        if t.pos_ in ("NOUN", "PROPN", "PRON"):
            return t
    return None


def _subject_of(verb: "Token") -> "Token | None":
    v = verb
    for _ in range(4):
        # a verb has one subject: when the parser gives it two ("Outside Downing Street, Mrs Holt
        # said"), the one nearest the verb is it and the other is a fronted phrase
        subjects = [c for c in v.children
                    if c.dep_ in ("nsubj", "nsubjpass") and not (c.dep_ == "nsubjpass" and v is verb and verb.lemma_ != "quote")]
        if subjects:
            return min(subjects, key=lambda c: abs(v.i - c.i))
        if v.dep_ in ("conj", "advcl", "xcomp") and v.head is not v:
            v = v.head
            continue
        break
    for child in verb.children:
        if child.dep_ == "agent":
            for t in child.children:
                if t.dep_ == "pobj":
                    return t
    # "..., the 21-year-old said" parsed with the description hanging on the verb
    for child in verb.lefts:
        if child.dep_ in ("amod", "npadvmod", "dep") and re.search(r"\d+-year-old$", _np_text(child)):
            return child
    # a subjectless verb right after a name: "..., Dame Carol Whitfield, said"
    j = verb.i - 1
    while j >= 0 and (verb.doc[j].is_punct or verb.doc[j].is_space) and verb.doc[j].text not in ("\u201d", '"', "\u2019", "'"):
        j -= 1
    if j >= 0 and j < verb.i - 1 and verb.doc[j].pos_ == "PROPN":
        return verb.doc[j]
    # inverted order with an unusual parse: "..., said Pompeo"
    for child in verb.rights:
        if child.dep_ in ("dobj", "npadvmod", "attr", "oprd", "appos") and child.pos_ == "PROPN":
            return child
    return None


def _speaker_of(ctx: _Ctx, verb: "Token") -> _Speaker | None:
    acc = verb if verb.lower_ == "according" else _according_to(verb, ctx)
    if acc is not None:
        target = _according_target(ctx, acc)
        named = target is not None and (ctx.ents.person_at_token(target.i) or ctx.ents.org_at_token(target.i)
                                        or target.lower_ in PERSON_PRONOUNS)
        subj = _subject_of(verb) if acc is not verb else None
        if not named and subj is not None and not ctx.in_quote(subj):
            # "'...,' he wrote, according to a translation": "according to" cites a document
            # here, not a speaker; the verb's own subject is the one who spoke
            return _resolve_np(ctx, subj, verb.text, verb.idx)
        return _resolve_np(ctx, target, "according to", acc.idx) if target is not None else None
    subj = _subject_of(verb)
    if subj is None or ctx.in_quote(subj):
        return None
    return _resolve_np(ctx, subj, verb.text, verb.idx)


def _path_speaker(ctx: _Ctx, qtoks: list["Token"], bounds: tuple[int, int]) -> _Speaker | None:
    """Speech verb up the dependency tree from the quoted words (nearest one wins), within
    ``bounds`` (the character range of the quote's paragraphs)."""
    found: list[tuple[int, _Speaker]] = []
    qs, qe = qtoks[0].idx, qtoks[-1].idx
    seen = set()
    for t in qtoks:
        h = t
        for _ in range(12):
            if h.head is h:
                break
            h = h.head
            if h.i in seen:
                break
            if ctx.in_quote(h):
                continue
            if not (bounds[0] <= h.idx < bounds[1]):
                break
            seen.add(h.i)
            if _is_speech(h) or _according_to(h, ctx) is not None:
                sp = _speaker_of(ctx, h)
                if sp is not None:
                    sp.naming = h.lemma_.lower() in NAMING_VERBS
                elif h.lower_ != "according" and (subj := _subject_of(h)) is not None and ctx.in_quote(subj):
                    continue  # 'a "live inquiry" will continue': the quoted words are the verb's subject
                if sp is None and h.lemma_.lower() in NAMING_VERBS:
                    continue
                if sp is not None or not h.lemma_.lower() in NAMING_VERBS:
                    dist = qs - h.idx if h.idx < qs else h.idx - qe
                    found.append((dist, sp or _Speaker(None, None, None, h.text, h.idx)))
                break
    if not found:
        return None
    found.sort(key=lambda x: x[0])
    with_name = [f for f in found if f[1].name or f[1].text]
    return (with_name or found)[0][1]


def _frame_speaker(ctx: _Ctx, q: QuoteSpan, para: tuple[int, int]) -> _Speaker | None:
    """Speech verb in the words right around the quote, within its paragraph: after it up to
    the end of the sentence, or before it back to the start of the sentence."""
    doc = ctx.doc
    ps, pe = para
    after = doc.char_span(min(q.close_at + 1, pe), pe, alignment_mode="expand") if q.close_at + 1 < pe else None
    before = doc.char_span(ps, q.open_at, alignment_mode="expand") if q.open_at > ps else None
    cands: list[tuple[int, "Token"]] = []
    if after is not None:
        for t in after:
            if ctx.in_quote(t):
                break
            if t.text in (".", "?", "!") and t.idx > q.close_at + 1:
                break
            if _is_speech(t) or t.lower_ == "according":
                cands.append((t.idx - q.close_at, t))
                break
    if before is not None:
        for t in reversed(list(before)):
            if t.idx >= q.open_at:
                continue
            if ctx.in_quote(t) or t.text in (".", "?", "!"):
                break
            if _is_speech(t) or t.lower_ == "according":
                cands.append((q.open_at - t.idx, t))
                break
    cands.sort(key=lambda x: x[0])
    for _d, v in cands:
        sp = _speaker_of(ctx, v)
        if sp is not None:
            return sp
    return None


def _verbless_attribution(ctx: _Ctx, q: QuoteSpan, para: tuple[int, int]) -> _Speaker | None:
    """The person named right after a quote's closing mark and comma when no verb comes between
    ('"We are investigating," District Superintendent Ana Reyes, who ...'): the attribution with
    its "said" left out (or lost in copying) still names the speaker. Only the first person
    mention of the rest of the sentence counts, and only with no verb before it."""
    doc = ctx.doc
    text = doc_text(doc)
    after = q.close_at + 1
    comma = text[q.close_at - 1:q.close_at] == "," or text[after:after + 1] == ","
    if after >= para[1] or not comma:
        return None
    span = doc.char_span(after, para[1], alignment_mode="expand")
    if span is None:
        return None
    for t in span:
        if t.text in (".", "?", "!") or ctx.in_quote(t) and t.idx > after:
            return None
        m = ctx.ents.person_at_token(t.i)
        if m is not None:
            nxt = doc[m.tok_end] if m.tok_end < len(doc) else None
            if nxt is not None and nxt.pos_ in ("VERB", "AUX"):
                return None  # "..., Ana Reyes told ...": a verb of its own, handled elsewhere
            return _Speaker(m.canonical, m.text, "person", None, t.idx)
        if t.pos_ in ("VERB", "AUX"):
            return None
    return None


def _has_finite_verb(qtoks: Sequence["Token"]) -> bool:
    return any(t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in qtoks)


def _is_title_of_work(body: str, q: QuoteSpan, qtoks: Sequence["Token"]) -> bool:
    """A title of a work or a name ("Operation Winter Shield"): every content word
    capitalised, and either a work noun just before it ("the film", "dubbed") or, for two words
    or more, no finite verb and no closing sentence punctuation."""
    raw = q.text(body).strip()
    text = raw.rstrip(".,!?")
    words = [w for w in re.split(r"\s+", text) if w]
    if not words or len(words) > 12:
        return False
    content = [w for w in words if fold(w) not in TITLE_SMALL_WORDS]
    if not content or not all(w[:1].isupper() or w[:1].isdigit() for w in content):
        return False
    before = body[max(0, q.open_at - 40):q.open_at]
    prev_words = re.findall(r"[A-Za-z\-]+", before)[-3:]
    if any(fold(w) in WORK_NOUNS for w in prev_words):
        return True
    if len(content) < 2 or raw[-1:] in ".?!" or re.search(r"[.?!;:]\s", raw) or _has_finite_verb(qtoks):
        return False
    words_toks = [t for t in qtoks if not t.is_punct and not t.is_space]
    return all(t.pos_ in ("PROPN", "NOUN", "ADJ", "NUM", "ADP", "DET", "CCONJ") for t in words_toks)


def _is_term_of_infinitive(ctx: _Ctx, body: str, q: QuoteSpan, qtoks: Sequence["Token"]) -> bool:
    """A term in quote marks inside an infinitive: "will not agree to become a 'safe third
    country'", "plans to declare a 'climate emergency'". The fragment (no finite verb, at most
    ``SCARE_MAX_WORDS`` words) follows an article and the first verb above it outside the marks
    is an infinitive that is not a speech or naming verb; a speech verb higher up ("agree",
    "promise") did not say these words. Partial quotes of what someone said ("urged the House
    to act 'without delay'") have no article before them and are kept."""
    if not qtoks or not _is_fragment(body, q, qtoks):
        return False
    before = body[max(0, q.open_at - 4):q.open_at].split()
    if not before or before[-1].lower() not in ("a", "an"):
        return False
    h = qtoks[0]
    for _ in range(12):
        if h.head is h:
            return False
        h = h.head
        if ctx.in_quote(h):
            continue
        if h.pos_ in ("VERB", "AUX"):
            infinitive = h.dep_ == "xcomp" or any(c.dep_ == "aux" and c.lower_ == "to" for c in h.children)
            return infinitive and not _is_speech(h) and h.lemma_.lower() not in NAMING_VERBS
    return False


def _is_fragment(body: str, q: QuoteSpan, qtoks: Sequence["Token"]) -> bool:
    """A short quoted fragment without a finite verb (a scare quote when nobody says it)."""
    text = q.text(body).strip()
    words = text.split()
    if len(text) <= 2:
        return True  # 'N', 'X': a letter standing for a name, never anyone's words
    if len(words) > SCARE_MAX_WORDS:
        return False
    full_sentence = text[:1].isupper() and text[-1:] in ".?!" and len(words) >= 2
    return not full_sentence and not _has_finite_verb(qtoks)


def extract_quotes(doc: "Doc", ents: EntityAnalysis, body: str | None = None) -> list[dict]:
    """Quotes of ``doc`` with speakers, in text order.

    ``body`` defaults to ``doc.text`` (offsets index it). Each quote is a contract entry
    ``{"text", "speaker", "speaker_text", "verb", "start", "end", "speaker_type"}``, one per
    paragraph of a quote that runs over several paragraphs (same speaker on each): ``speaker`` is
    a canonical person or organization name or None when the text does not say who spoke;
    ``speaker_type`` is "person", "organization" or None; ``start``/``end`` are the character
    offsets of the quoted words (marks excluded) in ``body``.
    """
    body = doc_text(doc) if body is None else body
    spans = find_quote_spans(body)
    if not spans:
        return []
    ranges = [(q.open_at, q.close_at) for q in spans]
    ctx = _Ctx(doc, ents, ranges, starts=[r[0] for r in ranges])
    ctx.unnamed = _unnamed_people(doc, ents)
    paras = _paragraphs(body)
    para_starts = [p[0] for p in paras]

    def para_index(pos: int) -> int:
        return max(0, bisect_right(para_starts, pos) - 1)

    para_last_speaker: dict[int, _Speaker] = {}
    results: list[tuple[QuoteSpan, _Speaker | None]] = []
    for q in spans:
        qtoks = [t for t in (doc.char_span(q.start, q.end, alignment_mode="expand") or []) if not t.is_space]
        pi = para_index(q.open_at)
        bounds = (paras[pi][0], paras[para_index(q.close_at)][1])
        sp = _path_speaker(ctx, qtoks, bounds) if qtoks else None
        # a speech verb (not a naming one) with a subject governs the words: a partial quote
        governed = sp is not None and bool(sp.text) and not sp.naming
        if sp is None:
            sp = _frame_speaker(ctx, q, paras[pi])
        if sp is None:
            sp = _verbless_attribution(ctx, q, paras[pi])
        direct = sp is not None
        if sp is None:
            # split quote: the previous quote of this paragraph
            prev_same = [s for qq, s in results if s is not None and para_index(qq.open_at) == pi]
            if prev_same:
                sp = _Speaker(prev_same[-1].name, prev_same[-1].text, prev_same[-1].type, prev_same[-1].verb, q.open_at, False)
            elif _paragraph_is_only_quotes(body, paras[pi], spans) and pi > 0:
                intro = _colon_intro(ctx, body, paras[pi - 1])
                if intro is not None:  # "Marsh said on Tuesday:" then the quote
                    sp = intro
                    direct = True
                elif pi - 1 in para_last_speaker:
                    prev = para_last_speaker[pi - 1]
                    sp = _Speaker(prev.name, prev.text, prev.type, prev.verb, q.open_at, False)
                else:
                    # the person the previous paragraph is about ("Moreau, 24, went clear ...")
                    m = ents.last_person(paras[pi - 1][1], main_only=True, after=paras[pi - 1][0])
                    if m is not None:
                        sp = _Speaker(m.canonical, m.text, "person", None, q.open_at, False)
        if _is_title_of_work(body, q, qtoks) or _is_term_of_infinitive(ctx, body, q, qtoks):
            continue
        if _is_fragment(body, q, qtoks) and (not direct or len(q.text(body).strip()) <= 2 or (sp is not None and (
                sp.verb == "according to" or (not sp.name and not governed and q.text(body)[-1:] not in ".?!")))):
            continue  # scare quote: nobody (named) says it
        if sp is not None and sp.name and sp.type == "person":
            ctx.speakers.append((sp.pos, sp.name))
        if sp is not None and (sp.name or sp.text):
            for p in range(para_index(q.open_at), para_index(q.close_at) + 1):
                para_last_speaker[p] = sp
        results.append((q, sp))
    # fill quotes attributed by a later one in the same paragraph ("'A.' 'B,' he said.")
    out = []
    for idx, (q, sp) in enumerate(results):
        if sp is None:
            pi = para_index(q.open_at)
            nxt = [s for qq, s in results[idx + 1:] if s is not None and para_index(qq.open_at) == pi]
            if nxt:
                sp = nxt[0]
        # one entry per paragraph of a multi-paragraph quote (each its own span of the body,
        # all with the speaker found for the whole statement): how news gold counts them
        for s, e in q.segments:
            out.append({
                "text": body[s:e],
                "speaker": sp.name if sp else None,
                "speaker_text": sp.text if sp else None,
                "verb": sp.verb if sp else None,
                "start": s,
                "end": e,
                "speaker_type": sp.type if sp and sp.name else None,
            })
    return out


def _colon_intro(ctx: _Ctx, body: str, para: tuple[int, int]) -> _Speaker | None:
    """The speaker of a paragraph that ends with a colon and introduces a quote below it."""
    ps, pe = para
    if not body[ps:pe].rstrip().endswith(":"):
        return None
    span = ctx.doc.char_span(ps, pe, alignment_mode="expand")
    if span is None:
        return None
    for t in reversed(list(span)):
        if not ctx.in_quote(t) and (_is_speech(t) or t.lower_ == "according"):
            return _speaker_of(ctx, t)
    return None


def _paragraph_is_only_quotes(body: str, para: tuple[int, int], spans: Sequence[QuoteSpan]) -> bool:
    ps, pe = para
    chars = list(body[ps:pe])
    for q in spans:
        a, b = max(q.open_at, ps), min(q.close_at + 1, pe)
        for i in range(a, b):
            chars[i - ps] = " "
    rest = "".join(chars)
    return not any(c.isalnum() for c in rest)
