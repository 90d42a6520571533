"""Dedupe stage: exact duplicates (canonical URL, normalized content hash) and near-duplicates
(MinHash LSH over word shingles: signatures and band split from datasketch, buckets as Redis sets).

Decisions, in order, for one :class:`~pipeline.models.Article`:

1. **Seen before** (``exact_url``): the article id (derived from the canonical URL), or another
   id recorded under the same canonical URL, already has a decision. This is a re-fetch or a retried task: the stored ``cluster_id`` and
   ``duplicate_of`` are returned unchanged (so the contract's ``dedupe`` object is identical
   on every check of one id), ``kind`` is ``"exact_url"`` and ``first_kind`` is the original
   decision. An article is never marked a duplicate of itself. ``exact_url`` does NOT mean
   "drop it": a retried task must still finish its work (indexing is idempotent); when
   ``first_kind`` is None the article is its cluster's original and is enriched as usual.
2. **Exact content** (``exact_content``): the SHA-256 of the normalized body (see
   :func:`normalize_text`) was claimed first by another article (Redis ``SET NX``).
3. **Near** (``near``): MinHash LSH finds earlier articles whose estimated Jaccard similarity
   of word shingles is at least ``settings.near_dup_threshold``; the most similar one is the
   original. The LSH candidates are re-checked against stored MinHash signatures, so LSH
   false positives below the threshold never count.
4. Otherwise the article starts its own cluster (``cluster_id`` = its id, ``kind`` None).

Concurrency and crash safety (what is guaranteed):

- Every decision is taken under one Redis lock per key prefix (``<prefix>:dedupe:lock``), so two
  copies arriving at once in two worker processes are decided one after the other: the second
  always sees the first (no pair of simultaneous copies both become cluster roots). The lock
  has a lease (:data:`LOCK_LEASE_S`) so a crashed worker cannot hold it for ever; a worker
  that cannot get it within :data:`LOCK_WAIT_S` raises a transient
  :class:`~pipeline.errors.DedupeError` (reason ``dedupe_busy``) and its task is retried.
- The decision record (``<prefix>:dedupe:result:<id>``) is written last. Index entries (the
  content-hash key, the LSH buckets, the MinHash signature) that point to an article without
  a decision record belong to a worker that crashed half-way; they are ignored (and the hash
  key is taken over), and the crashed article is decided afresh when its task is retried.
  A retry finds its own half-written entries and never matches itself.
- Throughput is bounded by the lock: one decision costs six or seven Redis round trips (the
  LSH reads and writes are pipelined; the MinHash signature is built before the lock is
  taken), a few milliseconds locally, i.e. a few hundred articles per second across all
  workers; ``wirewatch bench dedupe`` measures it.

Feed entries that share a link (``article.item_guid`` set, ``extraction="entry"``: see
:func:`pipeline.fetch.entry_article`) are told apart by their id, which includes the guid: the
canonical-URL key is neither read nor written for them (every one of them has the shared
page's canonical URL), and their content hash covers title and body (their bodies are the
entries' short descriptions, which may repeat word for word under different titles).

Keys written (all under ``settings.redis_key_prefix``): ``:dedupe:result:<id>`` (JSON
decision), ``:dedupe:hash:<sha256>`` (first article id with that content),
``:dedupe:url:<sha256 of canonical URL>`` (article id), ``:dedupe:mh:<id>`` (MinHash
signature, ``num_perm`` little-endian uint64), ``:dedupe:lsh:p<perm>:k<words>:b<bands>r<rows>:<band>:<hex>``
(one Redis set of article ids per LSH bucket; a setting that changes the band layout starts a
fresh index).

Why our own bucket storage rather than datasketch's Redis storage: through datasketch's public
API an insert costs one round trip per band and a query another, outside any transaction; the
buckets here are read in the same round trip as the exact-content check and written in the same
MULTI/EXEC as the decision record. datasketch still computes the signatures (:class:`MinHash`)
and the optimal (bands, rows) split for the threshold (:class:`MinHashLSH`, in memory).
Nothing expires yet: retention is the index's concern.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from pipeline.dedupe.text import _sha256, content_hash, normalize_text  # noqa: F401  (re-exported)
from pipeline.errors import DedupeError
from pipeline.logs import get_logger
from pipeline.models import Article
from pipeline.settings import Settings

log = get_logger(__name__)

#: Seconds a worker may hold the dedupe lock before Redis frees it (a decision takes ms).
LOCK_LEASE_S = 30.0
#: Seconds a worker waits for the lock before giving up with a transient ``dedupe_busy``.
LOCK_WAIT_S = 60.0
#: MinHash seed; every process must use the same one or signatures are not comparable.
MINHASH_SEED = 1
#: datasketch ``weights`` (false-positive, false-negative) for choosing bands and rows. Every LSH
#: candidate is re-checked against its stored signature, so a false positive costs one GET while a
#: false negative loses a duplicate: weigh misses 9:1. With threshold 0.5 and 128 permutations
#: this gives 32 bands of 4 rows; a pair with Jaccard 0.5 / 0.6 / 0.7 becomes a candidate with
#: probability 0.87 / 0.99 / 1.00 (equal weights: 25x5 bands, 0.55 / 0.87 / 0.99).
LSH_WEIGHTS = (0.1, 0.9)

def shingles(text: str, k: int | None = None) -> set[str]:
    """Return the set of ``k``-word shingles (consecutive words of the normalized text, joined
    by a space). ``k`` defaults to ``Settings().shingle_words`` field default (5).

    A text with fewer than ``k`` words (but at least one) gives one shingle of all its words;
    an empty text gives an empty set. Raises ``ValueError`` when ``k < 1``.
    """
    if k is None:
        k = Settings.model_fields["shingle_words"].default
    if k < 1:
        raise ValueError("k must be >= 1")
    return _shingles_of_words(normalize_text(text).split(), k)


def _shingles_of_words(words: list[str], k: int) -> set[str]:
    if not words:
        return set()
    if len(words) < k:
        return {" ".join(words)}
    return set(map(" ".join, zip(*(words[i:] for i in range(k)))))


@lru_cache(maxsize=4)
def _empty_minhash(num_perm: int) -> MinHash:
    """An empty MinHash whose permutations are copied by :func:`minhash_of` (datasketch draws
    them from a seeded generator on every construction, about 0.15 ms for 128)."""
    return MinHash(num_perm=num_perm, seed=MINHASH_SEED)


def minhash_of(shingle_set: set[str], num_perm: int) -> MinHash:
    """MinHash (datasketch, seed :data:`MINHASH_SEED`) of a shingle set, ``num_perm`` permutations.

    The signature does not depend on the order of the shingles (each slot is a minimum), so
    they are hashed in set order with one ``update_batch``.
    """
    mh = _empty_minhash(num_perm).copy()
    if shingle_set:
        mh.update_batch([s.encode("utf-8") for s in shingle_set])
    return mh


@dataclass
class DedupeResult:
    """The dedupe decision for one article.

    - ``content_hash``: :func:`content_hash` of the body (64 hex digits).
    - ``cluster_id``: id of the first article of the story's cluster (the article's own id
      when it starts a cluster).
    - ``duplicate_of``: id of the earlier article this one copies, or None.
    - ``kind``: None (new story), ``"exact_url"`` (this canonical URL was decided before: a
      re-fetch or retry; the stored decision is returned), ``"exact_content"`` (same
      normalized body as ``duplicate_of``), ``"near"`` (estimated shingle Jaccard >= threshold).
    - ``similarity``: estimated Jaccard similarity with ``duplicate_of`` (1.0 for exact
      content), None when there is no original.
    - ``first_kind``: for ``exact_url``, the kind decided the first time; else equal to ``kind``.
    - ``changed``: for ``exact_url``, True when the body's hash differs from the first time
      (an updated article); the stored decision is kept either way.
    """

    content_hash: str
    cluster_id: str
    duplicate_of: str | None = None
    kind: str | None = None
    similarity: float | None = None
    first_kind: str | None = None
    changed: bool = False

    @property
    def is_duplicate(self) -> bool:
        """True when the article copies an earlier, different article (exact content or near)."""
        return self.duplicate_of is not None

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``dedupe`` object: ``{"content_hash", "cluster_id", "duplicate_of"}``."""
        return {"content_hash": self.content_hash, "cluster_id": self.cluster_id, "duplicate_of": self.duplicate_of}

    def record(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (what is stored in Redis)."""
        return asdict(self)


def _bytes_client(client):
    """``client`` itself when it returns bytes, else a new ``redis.Redis`` with the same
    connection settings and ``decode_responses=False`` (signatures are binary)."""
    import redis

    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if not kwargs.get("decode_responses"):
        return client
    kwargs["decode_responses"] = False
    accepted = set(inspect.signature(redis.Redis.__init__).parameters)
    if "path" in kwargs:
        kwargs["unix_socket_path"] = kwargs.pop("path")
    if issubclass(pool.connection_class, redis.SSLConnection):
        kwargs["ssl"] = True
    return redis.Redis(**{k: v for k, v in kwargs.items() if k in accepted})


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dedupe_text(article: Article) -> str:
    """The text an article is hashed and shingled by: its body, or for a feed entry that shares
    its link (``item_guid`` set) its title and body."""
    if article.item_guid:
        return f"{article.title}\n{article.body or ''}"
    return article.body or ""


class Deduper:
    """Exact and near-duplicate detection backed by Redis; see the module docstring.

    ``redis`` is a ``redis.Redis`` client (bytes or decoded responses both work); ``settings``
    supplies ``redis_key_prefix``, ``near_dup_threshold``, ``minhash_num_perm``,
    ``shingle_words`` and ``dedupe_min_words``. One instance per process is enough; it is
    safe to run many instances in many processes against one Redis.
    """

    def __init__(self, redis, settings: Settings):
        self.redis = _bytes_client(redis)
        self.settings = settings
        self.threshold = float(settings.near_dup_threshold)
        self.num_perm = int(settings.minhash_num_perm)
        self.k = int(settings.shingle_words)
        self.min_words = int(getattr(settings, "dedupe_min_words", 0))
        # The band layout depends on threshold and num_perm: keep each layout's buckets apart.
        self.ns = f"{settings.redis_key_prefix}:dedupe"
        # datasketch picks (bands, rows) for the threshold and weights; an in-memory probe gives
        # them so they can be part of the key names.
        probe = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm, weights=LSH_WEIGHTS)
        self.bands, self.rows = probe.b, probe.r
        self.lsh_basename = f"{self.ns}:lsh:p{self.num_perm}:k{self.k}:b{self.bands}r{self.rows}"
        self._lock_name = f"{self.ns}:lock"

    # --- keys -------------------------------------------------------------------------------
    def _k_result(self, article_id: str) -> str:
        return f"{self.ns}:result:{article_id}"

    def _k_hash(self, h: str) -> str:
        return f"{self.ns}:hash:{h}"

    def _k_url(self, canonical_url: str) -> str:
        return f"{self.ns}:url:{hashlib.sha256(canonical_url.encode('utf-8')).hexdigest()}"

    def _k_mh(self, article_id: str) -> str:
        return f"{self.ns}:mh:{article_id}"

    # --- reads ------------------------------------------------------------------------------
    def lookup(self, article_id: str) -> DedupeResult | None:
        """Return the recorded decision for ``article_id``, or None when it was never decided."""
        raw = self.redis.get(self._k_result(article_id))
        return None if raw is None else self._parse_record(raw)

    @staticmethod
    def _parse_record(raw: bytes | str) -> DedupeResult:
        data = json.loads(raw)
        return DedupeResult(**{k: data.get(k) for k in DedupeResult.__dataclass_fields__ if k in data})

    # --- the decision -----------------------------------------------------------------------
    def check_and_record(self, article: Article) -> DedupeResult:
        """Decide whether ``article`` duplicates an earlier one and record the decision.

        Idempotent per ``article.id``: a second call returns the first decision (as
        ``kind="exact_url"``) and never marks the article a duplicate of itself. Raises
        :class:`~pipeline.errors.DedupeError` (transient, reason ``dedupe_busy``) when the lock
        cannot be had within :data:`LOCK_WAIT_S`, and lets ``redis.RedisError`` through
        (callers retry: the operation is safe to repeat).
        """
        body = dedupe_text(article)
        normalized = normalize_text(body)
        h = _sha256(normalized)
        known = self._known(article)  # fast path without the lock
        if known is not None:
            return self._seen_again(known, h)
        # The signature depends on the body alone: build it before taking the lock.
        words = normalized.split()
        long_enough = len(words) >= max(self.min_words, 1)
        mh = minhash_of(_shingles_of_words(words, self.k), self.num_perm) if long_enough else None
        lock = self.redis.lock(self._lock_name, timeout=LOCK_LEASE_S, blocking_timeout=LOCK_WAIT_S)
        if not lock.acquire():
            raise DedupeError(f"dedupe lock {self._lock_name} busy for {LOCK_WAIT_S}s", reason="dedupe_busy",
                              transient=True)
        try:
            known = self._known(article)
            if known is not None:
                return self._seen_again(known, h)
            result = self._decide(article, h, mh)
        finally:
            try:
                lock.release()
            except Exception:  # noqa: BLE001 - an expired lease is not an error for us
                log.warning("dedupe_lock_expired", article_id=article.id)
        log.info("dedupe", article_id=article.id, kind=result.kind, duplicate_of=result.duplicate_of,
                 cluster_id=result.cluster_id, similarity=result.similarity)
        return result

    def _known(self, article: Article) -> DedupeResult | None:
        """The recorded decision for this article id, else for another id already recorded
        under the same canonical URL (ids normally derive from it, but callers may differ).
        Both keys are read in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self._k_result(article.id))
        if article.canonical_url and not article.item_guid:
            pipe.get(self._k_url(article.canonical_url))
        raw, *other = pipe.execute()
        if raw is not None:
            return self._parse_record(raw)
        other = other[0] if other else None
        other = other.decode() if isinstance(other, bytes) else other
        if other and other != article.id:
            return self.lookup(other)
        return None

    def _seen_again(self, known: DedupeResult, h: str) -> DedupeResult:
        return DedupeResult(
            content_hash=known.content_hash, cluster_id=known.cluster_id, duplicate_of=known.duplicate_of,
            kind="exact_url", similarity=known.similarity, first_kind=known.kind,
            changed=(h != known.content_hash),
        )

    def _decide(self, article: Article, h: str, mh: MinHash | None) -> DedupeResult:
        """The decision for an article seen for the first time (called under the lock).
        ``mh`` is the body's signature, None when the body is too short to dedupe by content."""
        aid = article.id
        r = self.redis
        long_enough = mh is not None

        # 1. exact content: first writer of the hash key wins; stale claims are taken over.
        #    The LSH buckets are read in the same round trip (used when this is no exact copy).
        band_members = None
        if long_enough:
            hkey = self._k_hash(h)
            pipe = r.pipeline(transaction=False)
            pipe.set(hkey, aid, nx=True)
            self._queue_candidates(pipe, mh)
            claimed, *band_members = pipe.execute()
            if not claimed:
                owner = r.get(hkey)
                owner = owner.decode() if isinstance(owner, bytes) else owner
                if owner and owner != aid:
                    orig = self.lookup(owner)
                    if orig is not None:
                        res = DedupeResult(h, orig.cluster_id, owner, "exact_content", 1.0, "exact_content")
                        return self._store(article, res)
                    r.set(hkey, aid)  # the owner crashed before deciding: take the key over

        # 2. near duplicates: LSH candidates, re-checked against their stored signatures.
        best: tuple[float, str, str] | None = None
        if long_enough:
            found = set().union(*band_members)
            cands = sorted(set(map(_str, found)) - {aid})  # never match ourselves
            if cands:
                pipe = r.pipeline(transaction=False)
                for cid in cands:
                    pipe.get(self._k_mh(cid))
                    pipe.get(self._k_result(cid))
                got = pipe.execute()
                for i, cid in enumerate(cands):
                    sig_raw, rec_raw = got[2 * i], got[2 * i + 1]
                    if sig_raw is None or rec_raw is None:
                        continue  # half-written by a crashed worker
                    sig = np.frombuffer(sig_raw, dtype="<u8")
                    if sig.shape[0] != self.num_perm:
                        continue
                    sim = float(np.count_nonzero(sig == mh.hashvalues)) / self.num_perm
                    if sim >= self.threshold and (best is None or sim > best[0]):
                        best = (sim, cid, json.loads(rec_raw)["cluster_id"])
        if best is not None:
            res = DedupeResult(h, best[2], best[1], "near", round(best[0], 4), "near")
        else:
            res = DedupeResult(h, aid, None, None, None, None)

        # 3. index this article for later ones and record the decision, in one transaction.
        return self._store(article, res, mh)

    # --- LSH buckets ----------------------------------------------------------------------
    def band_keys(self, mh: MinHash) -> list[str]:
        """The Redis keys of ``mh``'s LSH buckets: one per band, named by the band's index and
        its ``rows`` hash values (little-endian uint64, hex)."""
        values = np.asarray(mh.hashvalues, dtype="<u8")
        return [f"{self.lsh_basename}:{i}:{values[i * self.rows:(i + 1) * self.rows].tobytes().hex()}"
                for i in range(self.bands)]

    def _candidates(self, mh: MinHash) -> set[str]:
        """Ids of the articles sharing at least one LSH bucket with ``mh``."""
        pipe = self.redis.pipeline(transaction=False)
        self._queue_candidates(pipe, mh)
        return {_str(c) for c in set().union(*pipe.execute())}

    def _queue_candidates(self, pipe, mh: MinHash) -> None:
        """Queue on ``pipe`` one bucket read per band of ``mh`` (each reply: a set of ids as bytes)."""
        for key in self.band_keys(mh):
            pipe.smembers(key)

    def _store(self, article: Article, res: DedupeResult, mh: MinHash | None = None) -> DedupeResult:
        """Write the signature, the LSH entries, the URL key and (last) the decision record in
        one MULTI/EXEC transaction, so a crash leaves all or nothing of them."""
        pipe = self.redis.pipeline(transaction=True)
        if mh is not None:
            pipe.set(self._k_mh(article.id), np.asarray(mh.hashvalues, dtype="<u8").tobytes())
            for key in self.band_keys(mh):
                pipe.sadd(key, article.id)
        if article.canonical_url and not article.item_guid:
            pipe.set(self._k_url(article.canonical_url), article.id, nx=True)
        pipe.set(self._k_result(article.id), json.dumps(res.record()))
        pipe.execute()
        return res
