"""Stories: articles from different outlets that report the same event, under one ``story.id``.

A near-duplicate (:mod:`pipeline.dedupe`) is a copy of one text; a story groups articles
written independently about one event. The evidence, for an enriched contract document:

- **shared rare entities**: persons, organizations and places (GeoNames id when resolved);
- **key terms**: content words of the title (counted twice) and body, numbers included
  (death tolls, magnitudes and scores tell one event from the next of its kind);
- **rarity**: every feature is weighted by its inverse document frequency over the articles of
  the last :data:`DF_DAYS` days (counted in Redis, one hash per UTC day) plus a general-English
  prior (:func:`prior_df`), so "police" or "United States" weigh little and a small town or a
  minister's name a lot;
- **time**: only articles published within ``settings.story_window_h`` hours of each other
  are compared.

Each article becomes a sparse vector of ``(1 + ln tf) * idf`` weights (entities multiplied by
:data:`ENTITY_BOOST`), L2-normalized; two articles' similarity is the cosine of their vectors
(the classic vector-space model, Salton & Buckley 1988, "Term-weighting approaches in automatic
text retrieval"). An article joins the story that fits it best (:func:`story_score`: the
larger of the cosine with the story's most similar member and with the members' summed
vector, divided by 1 + the time gap to the nearest member / the window) when that score
reaches ``settings.story_threshold``, else starts a story of its own (single-pass "online
clustering" as in Topic Detection and Tracking, Allan et al. 1998).

**Bounded candidates.** Comparing with every recent article would grow with the index. Each
article is entered in an inverted index in Redis under its :data:`INDEX_FEATURES` heaviest
features only (a sorted set per feature, scored by publication time, capped at
:data:`POSTINGS_CAP` newest entries and trimmed to the window), and a new article reads the
postings of its :data:`QUERY_FEATURES` heaviest features inside its time window (at most
``QUERY_FEATURES * POSTINGS_CAP`` ids), ranks them by the summed weight of the features they
share, and compares the :data:`MAX_CANDIDATES` best in full. The cost per article is bounded
by these constants, not by the number of recent articles (``wirewatch bench stories``).

**Wire copies** (dedupe duplicates) always join the story of their cluster's original
(:meth:`StoryIndex.assign_duplicate`). When a copy is decided before its original has been
enriched, it waits under the original's id; when the original then joins another story the
copies are moved with it and their ids returned in :attr:`StoryDecision.moved`, so the caller
can relabel documents already stored or indexed.

**Concurrency.** Decisions are taken under one Redis lock per key prefix (like dedupe), so two
articles of one event arriving at once in two workers do not both start a story; all writes of
one decision are one MULTI/EXEC transaction ending with ``story:of:<id>``, so a retried task
finds its decision and changes nothing (idempotent per article id).

Keys (under ``<redis_key_prefix>:story:``): ``of:<article>`` story id; ``vec:<article>`` JSON
of the normalized vector, time, story; ``rec:<story>`` hash (article count, copies);
``out:``, ``cc:``, ``pl:``, ``sp:``, ``cen:``, ``ttl:<story>`` outlets, countries, places,
speakers (sorted by count), member centrality, member titles; ``wait:<article>`` copies
waiting for their original: all expire ``story_retention_days`` after their last write.
``recent`` / ``first`` (sorted sets: story -> last / first publication time) drop stories
older than that on every write. ``ix:<feature>`` postings expire a day after the window,
``df:<yyyymmdd>`` document frequencies and ``n:<yyyymmdd>`` article counts after
:data:`DF_DAYS` + 1 days.
"""
from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable

from pipeline.errors import WirewatchError
from pipeline.logs import get_logger

log = get_logger(__name__)

#: Days of document frequencies behind the IDF ("recent articles").
DF_DAYS = 4
#: Weight factor of entity features over key terms: a named person, organization or place
#: shared by two articles is stronger evidence of one event than a shared common noun.
ENTITY_BOOST = 2.0
#: Key terms kept per article (heaviest by tf-idf); entities are all kept.
MAX_TERMS = 20
#: Key terms of an article whose recent document frequencies are read and counted: the
#: heaviest by tf x general-English rarity (:func:`prior_df`), twice :data:`MAX_TERMS`. Reading
#: and counting every distinct word of an article (200 and more) cost most of a decision's CPU
#: (Redis command packing); the counts are therefore "articles in which the term is salient".
CANDIDATE_TERMS = 2 * MAX_TERMS
#: Features of an article entered in the inverted index (heaviest first).
INDEX_FEATURES = 12
#: Features of a new article whose postings are read to find candidates.
QUERY_FEATURES = 12
#: Newest postings kept per feature (a feature in many articles is a common one: its oldest
#: entries are dropped; rare features never reach the cap).
POSTINGS_CAP = 64
#: Candidates compared in full (highest summed weight of shared query features first).
MAX_CANDIDATES = 24
#: Words of the body read for key terms (the lead of a news article names the event).
BODY_WORDS = 400
#: Lock lease and wait, seconds (a decision takes milliseconds).
LOCK_LEASE_S = 30.0
LOCK_WAIT_S = 60.0

_WORD_RE = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*")


class StoryError(WirewatchError):
    """A story decision could not be taken (``story_busy`` when the lock stays taken: transient)."""


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """spaCy's English stop-word list (``spacy.lang.en.stop_words``), plus reporting verbs that
    every news article uses to attribute speech ("said", "told": the attribution verbs that
    :mod:`pipeline.enrich.quotes` also recognises), which carry no information on the event."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"said", "says", "told", "added", "according", "reported", "mr", "mrs", "ms"}


def fold(text: str) -> str:
    """Lower-case, accents removed (NFKD, combining marks dropped), inner spaces collapsed:
    the key under which outlets' spellings of one name meet ("Yılmaz" and "Yilmaz" do not: only
    decomposable accents fold)."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c))
    return " ".join(t.casefold().split())


def s_stem(word: str) -> str:
    """The "S" stemmer (Harman 1991, "How effective is suffixing?", JASIS 42(1)): plural
    endings only: ``-ies`` -> ``-y`` (not ``-eies``/``-aies``), ``-es`` -> ``-e`` (not
    ``-aes``/``-ees``/``-oes``), ``-s`` -> ``""`` (not ``-us``/``-ss``). Words of 3 letters or
    fewer are left alone."""
    w = word
    if len(w) <= 3:
        return w
    if w.endswith("ies") and not w.endswith(("eies", "aies")):
        return w[:-3] + "y"
    if w.endswith("es") and not w.endswith(("aes", "ees", "oes")):
        return w[:-1]
    if w.endswith("s") and not w.endswith(("us", "ss")):
        return w[:-1]
    return w


def key_terms(title: str, body: str, body_words: int = BODY_WORDS) -> dict[str, int]:
    """Term counts of ``title`` (each occurrence counted twice) and the first ``body_words``
    words of ``body``: folded words of 3+ letters that are not stop words, S-stemmed
    (:func:`s_stem`), and numbers with at least two characters ("6.1", "23", "2-1" is two
    numbers). Keys are ``"t:<term>"``."""
    stops = _stop_words()
    counts: dict[str, int] = {}

    def add(text: str, n: int, limit: int | None) -> None:
        words = _WORD_RE.findall(fold(text))
        if limit is not None:
            words = words[:limit]
        for w in words:
            if w[0].isdigit():
                if len(w) < 2:
                    continue
                key = w
            else:
                if len(w) < 3 or w in stops:
                    continue
                key = s_stem(w.replace("'", ""))
                if key in stops:
                    continue
            k = "t:" + key
            counts[k] = counts.get(k, 0) + n

    add(title or "", 2, None)
    add(body or "", 1, body_words)
    return counts


#: Weight of a place by its GeoNames level: a country or a state names where a subject lies, and
#: many events happen in one country on one day; a town or a named feature pins the event.
PLACE_LEVEL_WEIGHT = {"country": 0.3, "admin1": 0.6, "admin2": 0.8}


def entity_features(doc: dict[str, Any]) -> dict[str, float]:
    """Entity weights of a contract document: ``"n:<folded name>"`` per person or organization
    (one key for both: statistical NER often tags a person as an organization or the reverse,
    as the small English spaCy model does with "Nicolás Peralta" in our invented set), plus
    ``"s:<folded surname>"`` for a person, the last word of the name, since later references
    and other outlets often name a person by surname alone, and
    ``"l:<geonames id>"`` (or ``"l:<folded name>"`` when unresolved) per place. The weight is
    the ``mentions`` count (at least 1), times :data:`PLACE_LEVEL_WEIGHT` for countries and
    states."""
    out: dict[str, float] = {}

    def add(key: str, n: float) -> None:
        out[key] = out.get(key, 0.0) + n

    for kind in ("persons", "organizations"):
        for ent in doc.get(kind) or []:
            name = fold(ent.get("name") or "") if isinstance(ent, dict) else ""
            if not name:
                continue
            n = max(1, int(ent.get("mentions") or 1))
            words = name.split()
            if kind == "persons":
                if len(words) > 1:
                    add(f"n:{name}", n)
                add(f"s:{words[-1]}", n)
            else:
                add(f"n:{name}", n)
    for loc in doc.get("locations") or []:
        if not isinstance(loc, dict):
            continue
        gid = loc.get("geonames_id")
        name = fold(loc.get("name") or "")
        k = f"l:{gid}" if gid else (f"l:{name}" if name else "")
        if k:
            add(k, max(1, int(loc.get("mentions") or 1)) * PLACE_LEVEL_WEIGHT.get(loc.get("feature") or "", 1.0))
    return out


def raw_features(doc: dict[str, Any]) -> dict[str, float]:
    """Every feature of a document with its count: :func:`entity_features` and
    :func:`key_terms` of its title and body."""
    feats = key_terms(doc.get("title") or "", doc.get("body") or "")
    feats.update(entity_features(doc))
    return feats


#: Strength of the general-language prior, in pseudo-articles: a term's document frequency
#: is its count in recent articles plus PRIOR_ARTICLES x its chance of appearing in an article
#: of English text (:func:`prior_doc_share`). It keeps "said" or "people" common on a fresh
#: deployment, before recent articles have been counted; with many recent articles it fades.
PRIOR_ARTICLES = 1000


@lru_cache(maxsize=200_000)
def prior_doc_share(term: str) -> float:
    """Chance that an English article of :data:`BODY_WORDS` words contains ``term`` (a key
    term without its ``t:`` prefix, S-stemmed): ``1 - exp(-BODY_WORDS * f)`` with ``f`` the
    word's frequency in general English from the ``wordfreq`` package (its "best" list,
    Speer et al., wordfreq 3.1; for a stem also its ``-s``/``-es`` forms), i.e. a Poisson
    count of occurrences. 0.0 when wordfreq is not installed or does not know the word."""
    table = _frequencies()
    if term[0].isalpha():
        f = max(table.get(term, 0.0), table.get(term + "s", 0.0))
    else:
        try:
            from wordfreq import word_frequency
        except ImportError:  # pragma: no cover - a declared dependency; degrade to no prior
            return 0.0
        f = word_frequency(term, "en")  # numbers: wordfreq spreads its digit-class counts
    return 1.0 - math.exp(-BODY_WORDS * f)


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    """wordfreq's English "best" word -> frequency table, loaded once per process (~0.3 s);
    empty when wordfreq is missing."""
    try:
        from wordfreq import get_frequency_dict
    except ImportError:  # pragma: no cover
        return {}
    return get_frequency_dict("en", wordlist="best")


def prior_df(feature: str) -> float:
    """Prior document frequency of a feature in pseudo-articles: key terms
    ``PRIOR_ARTICLES * prior_doc_share(term)``; entities 0 (names are rare by nature; their
    recent counts decide)."""
    return PRIOR_ARTICLES * prior_doc_share(feature[2:]) if feature.startswith("t:") else 0.0


def salient(raw: dict[str, float], keep: int = CANDIDATE_TERMS) -> dict[str, float]:
    """``raw`` with every entity and only the ``keep`` key terms of highest ``tf x`` general-English
    rarity (``ln(1 + PRIOR_ARTICLES / (1 + prior_df))``), ties by name."""
    terms = [(f, w) for f, w in raw.items() if f.startswith("t:")]
    if len(terms) <= keep:
        return raw
    ranked = sorted(terms, key=lambda fw: (-fw[1] * math.log(1.0 + PRIOR_ARTICLES / (1.0 + prior_df(fw[0]))), fw[0]))
    out = {f: w for f, w in raw.items() if not f.startswith("t:")}
    out.update(ranked[:keep])
    return out


def idf(df: float, n: float) -> float:
    """Smoothed inverse document frequency ``ln(1 + (n + 1) / df)`` with ``df >= 1`` (the
    article itself counts): positive even for a feature in every article, largest for one in
    this article only."""
    return math.log(1.0 + (n + 1) / max(1.0, df))


def weigh(raw: dict[str, float], dfs: dict[str, float], n: float, *, max_terms: int = MAX_TERMS) -> dict[str, float]:
    """L2-normalized tf-idf vector of ``raw`` counts: ``(1 + ln tf) * idf`` (x
    :data:`ENTITY_BOOST` for entities), the ``max_terms`` heaviest key terms and every entity.
    ``dfs`` are document frequencies counting this article; ``n`` the articles counted. A
    weight under 1 (a country's, see :data:`PLACE_LEVEL_WEIGHT`) scales the feature down."""
    ents: dict[str, float] = {}
    terms: dict[str, float] = {}
    for f, tf in raw.items():
        w = (1.0 + math.log(max(1.0, tf))) * min(1.0, tf) * idf(dfs.get(f, 1), n)
        if f.startswith("t:"):
            terms[f] = w
        else:
            ents[f] = w * ENTITY_BOOST
    if len(terms) > max_terms:
        terms = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:max_terms])
    vec = {**terms, **ents}
    norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
    return {f: w / norm for f, w in vec.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two L2-normalized sparse vectors (their cosine), 0..1."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[f] for f, w in a.items() if f in b)


def story_score(vec: dict[str, float], members: list[tuple[float, float, str, dict[str, float]]],
                window_s: float) -> tuple[float, float, str | None]:
    """How well an article fits one story, from the story's members among its candidates
    (``(cosine, publication-time gap in seconds, id, vector)`` each).

    The similarity is the larger of the best member's cosine and the cosine with the members'
    summed vector (a story's articles together name more of its people, places and terms than
    any one of them). The score divides it by ``1 + gap / window_s`` of the nearest member in
    time, i.e. the threshold rises with the time gap: the rule of Allan, Papka & Lavrenko
    (1998, "On-line new event detection and tracking", SIGIR), since coverage of one event
    comes in a burst and the same subject's next event comes later. Returns
    ``(score, similarity, id of the best member)``."""
    best = max(members, key=lambda m: m[0])
    centroid: dict[str, float] = {}
    for _sim, _gap, _id, v in members:
        for f, w in v.items():
            centroid[f] = centroid.get(f, 0.0) + w
    norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
    csim = cosine(vec, {f: w / norm for f, w in centroid.items()}) if len(members) > 1 else best[0]
    sim = max(best[0], csim)
    gap = min(m[1] for m in members)
    return sim / (1.0 + gap / window_s), sim, best[2]


def published_ts(doc: dict[str, Any], default: float | None = None) -> float:
    """Epoch seconds of ``published_at``, else ``fetched_at``, else ``default`` (or now)."""
    for key in ("published_at", "fetched_at"):
        v = doc.get(key)
        if v:
            try:
                dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
            except ValueError:
                continue
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return dt.timestamp()
    return default if default is not None else time.time()


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y%m%d")


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass
class StoryDecision:
    """Which story an article joined.

    ``story_id``; ``new`` True when the article started it; ``similarity`` the cosine with
    ``matched`` (the most similar earlier article) or None; ``duplicate`` True for a wire copy
    placed with its original; ``provisional`` True for a copy whose original is not decided yet
    (it sits in the story named after the original until then); ``moved`` ids of copies that
    waited under this article and now belong to ``story_id`` (relabel them);
    ``candidates`` how many articles were compared in full.
    """

    story_id: str
    new: bool = False
    similarity: float | None = None
    matched: str | None = None
    duplicate: bool = False
    provisional: bool = False
    moved: list[str] = field(default_factory=list)
    candidates: int = 0

    def to_doc_field(self) -> dict[str, Any]:
        """The document's ``story`` object: ``{"id", "similarity"}``."""
        return {"id": self.story_id, "similarity": None if self.similarity is None else round(self.similarity, 4)}


class StoryIndex:
    """Story decisions and records in Redis; see the module docstring.

    ``redis`` a ``redis.Redis`` (decoded or bytes responses); ``settings`` supplies
    ``redis_key_prefix``, ``story_window_h``, ``story_threshold``, ``story_retention_days``.
    Safe to use from many processes at once.
    """

    def __init__(self, redis, settings):
        self.redis = redis
        self.settings = settings
        self.ns = f"{settings.redis_key_prefix}:story"
        self.window_s = float(settings.story_window_h) * 3600.0
        self.threshold = float(settings.story_threshold)
        self.ttl_s = int(settings.story_retention_days * 86400)
        #: HINCRBY of every field named in ARGV by 1 in KEYS[1]: one command instead of one per feature
        self._count = redis.register_script(
            "for i = 1, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end return #ARGV")

    # --- keys -----------------------------------------------------------------------------
    def k(self, kind: str, ident: str = "") -> str:
        """Key ``<prefix>:story:<kind>:<ident>`` (or ``...:<kind>`` without ident)."""
        return f"{self.ns}:{kind}:{ident}" if ident else f"{self.ns}:{kind}"

    # --- reads ----------------------------------------------------------------------------
    def story_of(self, article_id: str) -> str | None:
        """The story of an article already decided, else None."""
        v = self.redis.get(self.k("of", article_id))
        return _s(v) if v is not None else None

    def _dfs(self, feats: Iterable[str], ts: float) -> tuple[dict[str, int], int]:
        """Document frequencies of ``feats`` and the article count, summed over the
        :data:`DF_DAYS` UTC days up to ``ts`` (one pipelined round trip)."""
        feats = list(feats)
        days = [_day(ts - 86400 * i) for i in range(DF_DAYS)]
        pipe = self.redis.pipeline(transaction=False)
        for d in days:
            pipe.hmget(self.k("df", d), feats)
        pipe.mget([self.k("n", d) for d in days])
        got = pipe.execute()
        dfs: dict[str, int] = {}
        for row in got[:-1]:
            for f, v in zip(feats, row):
                if v is not None:
                    dfs[f] = dfs.get(f, 0) + int(v)
        n = sum(int(v) for v in got[-1] if v is not None)
        return dfs, n

    def vector(self, doc: dict[str, Any], ts: float) -> tuple[dict[str, int], dict[str, float]]:
        """``(raw counts, weighted vector)`` of ``doc`` with the current document frequencies
        (this article counted once more)."""
        raw = salient(raw_features(doc))
        dfs, n = self._dfs(raw, ts)
        dfs = {f: dfs.get(f, 0) + 1 + prior_df(f) for f in raw}
        return raw, weigh(raw, dfs, n + 1 + PRIOR_ARTICLES)

    def _queue_postings(self, pipe, vec: dict[str, float], ts: float) -> list[tuple[str, float]]:
        """Queue on ``pipe`` the postings reads of the :data:`QUERY_FEATURES` heaviest features
        of ``vec`` within the time window; returns those ``(feature, weight)``."""
        query = sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[:QUERY_FEATURES]
        lo, hi = ts - self.window_s, ts + self.window_s
        for f, _w in query:
            pipe.zrevrangebyscore(self.k("ix", f), hi, lo, start=0, num=POSTINGS_CAP)
        return query

    @staticmethod
    def _rank(query: list[tuple[str, float]], postings: list[list[Any]], exclude: str) -> list[str]:
        """Candidate ids, best first by the summed weight of the query features they share, at
        most :data:`MAX_CANDIDATES`."""
        scores: dict[str, float] = {}
        for (_f, w), ids in zip(query, postings):
            for i in ids:
                i = _s(i)
                if i != exclude:
                    scores[i] = scores.get(i, 0.0) + w
        return [i for i, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CANDIDATES]]

    def candidates(self, vec: dict[str, float], ts: float, exclude: str) -> list[str]:
        """Ids of up to :data:`MAX_CANDIDATES` recent articles sharing the heaviest features of
        ``vec`` within the time window, best first (summed weight of shared query features)."""
        pipe = self.redis.pipeline(transaction=False)
        query = self._queue_postings(pipe, vec, ts)
        return self._rank(query, pipe.execute(), exclude)

    # --- decisions ------------------------------------------------------------------------
    def _lock(self):
        lock = self.redis.lock(self.k("lock"), timeout=LOCK_LEASE_S, blocking_timeout=LOCK_WAIT_S)
        if not lock.acquire():
            raise StoryError(f"story lock busy for {LOCK_WAIT_S}s", reason="story_busy", transient=True)
        return lock

    def assign(self, doc: dict[str, Any]) -> StoryDecision:
        """Decide and record the story of an enriched original article (not a wire copy: see
        :meth:`assign_duplicate`). Idempotent per ``doc["id"]``. Raises :class:`StoryError`
        (transient) when the lock stays busy; ``redis.RedisError`` passes through (retry)."""
        aid = str(doc["id"])
        ts = published_ts(doc)
        raw, vec = self.vector(doc, ts)  # outside the lock: DF drift of a few ms is harmless
        lock = self._lock()
        try:
            # one round trip: an earlier decision (a retried task), copies waiting, postings
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(self.k("of", aid))
            pipe.hgetall(self.k("wait", aid))
            query = self._queue_postings(pipe, vec, ts)
            known, waiting, *postings = pipe.execute()
            if known is not None:
                return StoryDecision(_s(known))
            decision, sims = self._decide(aid, vec, ts, self._rank(query, postings, aid))
            self._record(doc, aid, ts, raw, vec, decision, sims,
                         {_s(k): json.loads(v) for k, v in (waiting or {}).items()})
        finally:
            try:
                lock.release()
            except Exception:  # noqa: BLE001 - an expired lease is not an error here
                log.warning("story_lock_expired", article_id=aid)
        log.info("story", article_id=aid, story_id=decision.story_id, new=decision.new,
                 similarity=decision.similarity, candidates=decision.candidates, moved=len(decision.moved))
        return decision

    def _decide(self, aid: str, vec: dict[str, float], ts: float, cands: list[str]) -> tuple[StoryDecision, dict[str, float]]:
        """Compare with the candidates ``cands``; returns the decision and the similarity to
        every candidate member of the chosen story (for centrality)."""
        if not cands:
            return StoryDecision(aid, new=True), {}
        raws = self.redis.mget([self.k("vec", c) for c in cands])
        sims: dict[str, tuple[float, str]] = {}
        stories: dict[str, list[tuple[float, float, str, dict[str, float]]]] = {}
        for cid, r in zip(cands, raws):
            if r is None:
                continue
            other = json.loads(r)
            gap = abs(float(other["ts"]) - ts)
            if gap > self.window_s:
                continue
            sim = cosine(vec, other["v"])
            sims[cid] = (sim, other["story"])
            stories.setdefault(other["story"], []).append((sim, gap, cid, other["v"]))
        best: tuple[float, float, str, str] | None = None  # (score, similarity, matched, story)
        for sid, members in stories.items():
            score, sim, matched = story_score(vec, members, self.window_s)
            if best is None or score > best[0]:
                best = (score, sim, matched, sid)
        if best is None or best[0] < self.threshold:
            return StoryDecision(aid, new=True, candidates=len(sims),
                                 similarity=None if best is None else best[1]), {}
        sid = best[3]
        members = {c: s for c, (s, st) in sims.items() if st == sid}
        return StoryDecision(sid, similarity=best[1], matched=best[2], candidates=len(sims)), members

    def _record(self, doc: dict[str, Any], aid: str, ts: float, raw: dict[str, int], vec: dict[str, float],
                decision: StoryDecision, sims: dict[str, float], waiting: dict[str, dict[str, Any]]) -> None:
        """Write the vector, postings, frequencies, the story record and (last) ``of:<id>`` in
        one transaction; move copies that waited under this article."""
        sid = decision.story_id
        pipe = self.redis.pipeline(transaction=True)
        ttl = self.ttl_s
        pipe.set(self.k("vec", aid), json.dumps({"v": {f: round(w, 5) for f, w in vec.items()}, "ts": ts, "story": sid}), ex=ttl)
        for f, _w in sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[:INDEX_FEATURES]:
            key = self.k("ix", f)
            pipe.zadd(key, {aid: ts})
            pipe.zremrangebyrank(key, 0, -(POSTINGS_CAP + 1))
            pipe.expire(key, int(self.window_s) + 86400)
        day = _day(ts)
        dfk = self.k("df", day)
        self._count(keys=[dfk], args=list(raw), client=pipe)
        pipe.expire(dfk, 86400 * (DF_DAYS + 1))
        pipe.incr(self.k("n", day))
        pipe.expire(self.k("n", day), 86400 * (DF_DAYS + 1))
        # centrality: this article's summed similarity to the members it was compared with,
        # and each of theirs grows by the same pair's similarity
        total = sum(sims.values())
        pipe.zincrby(self.k("cen", sid), total, aid)
        for m, s in sims.items():
            pipe.zincrby(self.k("cen", sid), s, m)
        self._add_member(pipe, sid, doc, ts)
        for wid, info in waiting.items():
            self._add_member(pipe, sid, info, float(info.get("ts") or ts), duplicate=True)
            pipe.set(self.k("of", wid), sid, ex=ttl)
        if waiting:
            pipe.delete(self.k("wait", aid))
        pipe.set(self.k("of", aid), sid, ex=ttl)
        pipe.execute()
        # the story named after this article held its waiting copies only if sid == aid
        decision.moved = sorted(waiting) if sid != aid else []

    def _add_member(self, pipe, sid: str, doc: dict[str, Any], ts: float, *, duplicate: bool = False) -> None:
        """Queue the story-record updates for one member document (or a copy's summary)."""
        ttl = self.ttl_s
        rec = self.k("rec", sid)
        pipe.hsetnx(rec, "id", sid)
        pipe.hsetnx(rec, "first_seen", ts)
        pipe.hincrby(rec, "article_count", 1)
        if duplicate:
            pipe.hincrby(rec, "copies", 1)
        # last_seen: a Lua-free max: keep it in a sorted set score too
        pipe.zadd(self.k("recent"), {sid: ts}, gt=True)
        pipe.zadd(self.k("first"), {sid: ts}, lt=True)
        pipe.zremrangebyscore(self.k("recent"), "-inf", f"({ts - ttl}")
        pipe.zremrangebyscore(self.k("first"), "-inf", f"({ts - ttl}")
        domain = (doc.get("source") or {}).get("domain") if "source" in doc else doc.get("domain")
        updates = (("out", [domain] if domain else []),
                   ("cc", list(doc.get("countries") or [])),
                   ("pl", [loc.get("name") for loc in doc.get("locations") or [] if isinstance(loc, dict) and loc.get("name")]
                    if "locations" in doc else list(doc.get("places") or [])),
                   ("sp", [q.get("speaker") for q in doc.get("quotes") or [] if isinstance(q, dict) and q.get("speaker")]
                    if "quotes" in doc else list(doc.get("speakers") or [])))
        for kind, values in updates:
            for v in values:
                pipe.zincrby(self.k(kind, sid), 1, v)
            pipe.expire(self.k(kind, sid), ttl)
        title = doc.get("title")
        aid = doc.get("id")
        if title and aid:
            pipe.hset(self.k("ttl", sid), aid, title)
            pipe.expire(self.k("ttl", sid), ttl)
            if not duplicate:
                pipe.zincrby(self.k("cen", sid), 0, aid)
        pipe.expire(self.k("cen", sid), ttl)
        pipe.expire(rec, ttl)

    def assign_duplicate(self, doc: dict[str, Any]) -> StoryDecision:
        """Put a wire copy (``doc["dedupe"]["duplicate_of"]`` set) in the story of its
        cluster's original (``dedupe.cluster_id``). When the original is not decided yet, the
        copy waits under it (``provisional``: its story id is the original's id until the
        original's own decision moves it; see :attr:`StoryDecision.moved`). Idempotent."""
        aid = str(doc["id"])
        known = self.story_of(aid)
        if known is not None:
            return StoryDecision(known, duplicate=True)
        dd = doc.get("dedupe") or {}
        root = str(dd.get("cluster_id") or dd.get("duplicate_of") or aid)
        ts = published_ts(doc)
        lock = self._lock()
        try:
            sid = self.story_of(root)
            if sid is None:
                info = {"id": aid, "title": doc.get("title"), "domain": (doc.get("source") or {}).get("domain"),
                        "countries": list(doc.get("countries") or []), "ts": ts}
                pipe = self.redis.pipeline(transaction=True)
                pipe.hset(self.k("wait", root), aid, json.dumps(info))
                pipe.expire(self.k("wait", root), self.ttl_s)
                pipe.execute()
                return StoryDecision(root, duplicate=True, provisional=True)
            pipe = self.redis.pipeline(transaction=True)
            self._add_member(pipe, sid, doc, ts, duplicate=True)
            pipe.set(self.k("of", aid), sid, ex=self.ttl_s)
            pipe.execute()
            return StoryDecision(sid, duplicate=True)
        finally:
            try:
                lock.release()
            except Exception:  # noqa: BLE001
                log.warning("story_lock_expired", article_id=aid)

    # --- records --------------------------------------------------------------------------
    def get(self, story_id: str, *, top: int = 10) -> dict[str, Any] | None:
        """The story record, or None when unknown or expired:
        ``{"id", "title", "title_article_id", "first_seen", "last_seen" (ISO-8601 UTC),
        "article_count", "copies", "outlets", "countries", "places", "speakers"}``; the lists
        are ``[{"name", "count"}]``, most frequent first, at most ``top`` each (speakers are
        counted by quotes: the most-quoted first)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.k("rec", story_id))
        pipe.zscore(self.k("first"), story_id)
        pipe.zscore(self.k("recent"), story_id)
        pipe.zrevrange(self.k("cen", story_id), 0, 0)
        for kind in ("out", "cc", "pl", "sp"):
            pipe.zrevrange(self.k(kind, story_id), 0, top - 1, withscores=True)
        rec, first, last, central, *lists = pipe.execute()
        if not rec:
            return None
        rec = {_s(k): _s(v) for k, v in rec.items()}
        central_id = _s(central[0]) if central else None
        title = _s(self.redis.hget(self.k("ttl", story_id), central_id) or "") if central_id else ""
        if not title:
            titles = self.redis.hvals(self.k("ttl", story_id))
            title = _s(titles[0]) if titles else ""

        def iso(v: Any) -> str | None:
            return datetime.fromtimestamp(float(v), timezone.utc).isoformat(timespec="seconds") if v is not None else None

        names = [[{"name": _s(n), "count": int(c)} for n, c in lst] for lst in lists]
        if first is None:  # a story active for longer than the retention left the "first" set
            first = rec.get("first_seen")
        return {"id": story_id, "title": title, "title_article_id": central_id,
                "first_seen": iso(first), "last_seen": iso(last),
                "article_count": int(rec.get("article_count", 0)), "copies": int(rec.get("copies", 0)),
                "outlets": names[0], "countries": names[1], "places": names[2], "speakers": names[3]}

    def list(self, since: datetime | None = None, *, limit: int = 50, min_articles: int = 1) -> list[dict[str, Any]]:
        """Story records seen (last seen) since ``since``, most recently active first, at most
        ``limit``, with at least ``min_articles`` articles."""
        lo = since.timestamp() if since else "-inf"
        ids = self.redis.zrevrangebyscore(self.k("recent"), "+inf", lo, start=0, num=max(limit * 4, limit))
        out = []
        for i in ids:
            rec = self.get(_s(i))
            if rec and rec["article_count"] >= min_articles:
                out.append(rec)
            if len(out) >= limit:
                break
        return out


def relabel_documents(store, engine, ids: list[str], story_id: str) -> int:
    """Set ``story.id`` of already stored (:class:`pipeline.store.PayloadStore`) and indexed
    documents ``ids`` to ``story_id`` (wire copies moved with their original). The stored
    payload first (an index task not yet run picks it up), then a bulk partial update of the
    indexed documents (404s, not indexed yet, are ignored). Returns how many indexed documents
    were updated. Raises EngineError when the engine is unreachable."""
    if not ids:
        return 0
    for i in ids:
        doc = store.get("doc", i)
        if doc is not None:
            doc["story"] = {**(doc.get("story") or {}), "id": story_id}
            store.put("doc", i, doc)
    lines: list[dict[str, Any]] = []
    for i in ids:
        lines.append({"update": {"_index": engine.alias("articles"), "_id": i}})
        lines.append({"doc": {"story": {"id": story_id}}})
    items = engine.bulk(lines)
    return sum(1 for it in items if it.ok)


def place_in_story(stories: StoryIndex, doc: dict[str, Any], *, store=None, engine=None) -> StoryDecision:
    """Decide ``doc``'s story and set ``doc["story"]`` (``{"id", "similarity"}``): a wire copy
    (``dedupe.duplicate_of`` set) joins its original's story, any other article goes through
    :meth:`StoryIndex.assign`. Copies moved with their original are relabelled in ``store``
    and ``engine`` when given (:func:`relabel_documents`). Raises what those raise (Redis and
    engine errors are transient: the caller retries, and the decision is idempotent)."""
    if (doc.get("dedupe") or {}).get("duplicate_of"):
        decision = stories.assign_duplicate(doc)
    else:
        decision = stories.assign(doc)
    doc["story"] = decision.to_doc_field()
    if decision.moved and store is not None and engine is not None:
        relabel_documents(store, engine, decision.moved, decision.story_id)
    return decision
