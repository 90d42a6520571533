"""Tests for pipeline.dedupe.deduper: normalization and hashing (pure), and the Deduper on the real Redis
over our own fixtures (tests/fixtures/dedupe) and the demo's sample site."""
from __future__ import annotations

import hashlib
import html
import itertools
import multiprocessing as mp
import random
import re
import uuid
from collections import defaultdict

import pytest

from pipeline.dedupe.deduper import DedupeResult, Deduper, content_hash, minhash_of, normalize_text, shingles
from pipeline.models import Article, article_id_for
from pipeline.settings import Settings
from wirewatch.devtools.bench.dedupe import evaluate, load_fixtures, pair_metrics, synthetic_articles
from wirewatch.devtools.seed_server import DEFAULT_ROOT

LONG = ("The rail strike halted freight trains between Piedras Negras and Eagle Pass on Tuesday, "
        "the operator said, as union leaders and managers failed to agree on wages and fatigue rules "
        "for crews who work shifts of fourteen hours in the yards of Coahuila and Nuevo Leon.")


def art(url: str, body: str, title: str = "t") -> Article:
    return Article(id=article_id_for(url), url=url, canonical_url=url, title=title, body=body)


# --- pure functions -------------------------------------------------------------------------
def test_normalize_text_folds_case_punctuation_quotes_and_unicode_forms():
    a = "“Mexico,” she said — it’s   NOT on the table!\n\nＦｕｌｌ width\u00a0and soft\u00adhyphen\u200b."
    assert normalize_text(a) == "mexico she said it's not on the table full width and softhyphen"
    assert normalize_text("Straße") == "strasse"
    assert normalize_text("") == "" and normalize_text(" -- !!! ") == ""
    assert normalize_text("Ciudad Juárez, 4,300 people") == "ciudad juárez 4 300 people"


def test_normalize_text_maps_every_listed_character_wherever_it_stands():
    # each quote variant becomes a straight quote, each invisible character disappears, also
    # when repeated or next to another one (normalization replaces per character present)
    for ch in "\u2018\u2019\u201a\u201b\u2032":
        assert normalize_text(f"it{ch}s {ch}{ch}x") == "it's x"
    for ch in "\u201c\u201d\u201e\u201f\u2033":
        assert normalize_text(f"{ch}quoted{ch} words") == "quoted words"
    for ch in "\u00ad\u200b\u200c\u200d\u2060\ufeff":
        assert normalize_text(f"soft{ch}{ch}hyphen{ch}\u2019s") == "softhyphen's"
    long = "Word " * 50_000  # beyond the cache's size limit: same result uncached
    assert normalize_text(long) == " ".join(["word"] * 50_000)


def test_content_hash_is_sha256_of_normalized_text():
    assert content_hash("") == hashlib.sha256(b"").hexdigest()
    assert content_hash("Hello,   World!") == hashlib.sha256(b"hello world").hexdigest()
    assert content_hash(LONG) == content_hash(LONG.upper().replace(" ", "\n  "))
    assert content_hash(LONG) != content_hash(LONG.replace("Tuesday", "Wednesday"))
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(LONG))


def test_shingles():
    assert shingles("A b, C d e f", k=5) == {"a b c d e", "b c d e f"}
    assert shingles("Only three words", k=5) == {"only three words"}
    assert shingles("...", k=5) == set()
    assert shingles(LONG) == shingles(LONG, k=Settings.model_fields["shingle_words"].default)
    with pytest.raises(ValueError):
        shingles("x", k=0)


def test_minhash_estimates_jaccard():
    a, b = shingles(LONG, 3), shingles(LONG.replace("fourteen", "twelve"), 3)
    true_j = len(a & b) / len(a | b)
    est = minhash_of(a, 256).jaccard(minhash_of(b, 256))
    assert abs(est - true_j) < 0.15
    assert minhash_of(a, 128).jaccard(minhash_of(a, 128)) == 1.0


def test_minhash_of_equals_datasketch_minhash_in_any_order_and_after_other_calls():
    import numpy as np
    from datasketch import MinHash

    from pipeline.dedupe.deduper import MINHASH_SEED

    a = shingles(LONG, 5)
    for num_perm in (64, 128):
        direct = MinHash(num_perm=num_perm, seed=MINHASH_SEED)
        for s in sorted(a, reverse=True):
            direct.update(s.encode("utf-8"))
        first = minhash_of(a, num_perm)
        minhash_of(shingles("A different text about other things entirely, five words", 5), num_perm)
        assert np.array_equal(first.hashvalues, direct.hashvalues)
        assert np.array_equal(minhash_of(a, num_perm).hashvalues, direct.hashvalues)
    assert minhash_of(set(), 128).is_empty()


def test_result_to_dict_is_the_contract():
    r = DedupeResult(content_hash="h", cluster_id="c", duplicate_of=None, kind="exact_url")
    assert r.to_dict() == {"content_hash": "h", "cluster_id": "c", "duplicate_of": None}
    assert not r.is_duplicate and DedupeResult("h", "c", "o", "near", 0.8).is_duplicate


def test_pair_metrics():
    m = pair_metrics({"a": "x", "b": "x", "c": "y", "d": "y"}, {"a": 1, "b": 1, "c": 1, "d": 2})
    assert (m["pairs"], m["positive_pairs"], m["tp"], m["fp"], m["fn"]) == (6, 2, 1, 2, 1)
    assert m["precision"] == pytest.approx(1 / 3, abs=1e-3) and m["recall"] == 0.5


def test_fixtures_shape():
    fx = load_fixtures()
    events = defaultdict(list)
    for f in fx:
        events[f.event].append(f)
    assert len(events) >= 10
    for ev, items in events.items():
        kinds = [f.kind for f in items]
        assert kinds.count("original") == 1 and 1 <= kinds.count("copy") <= 3, ev
        assert kinds.count("other") >= 1, ev  # a different story about the same event
        for f in items:
            assert 150 <= len(f.body.split()) <= 700, f.fid


# --- integration: real Redis ------------------------------------------------------------------
@pytest.fixture()
def dd_settings(settings):
    """Settings with a key prefix of its own for each test (cleaned up with the session prefix)."""
    return settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:dd{uuid.uuid4().hex[:6]}"})


@pytest.fixture()
def deduper(redis_client, dd_settings):
    return Deduper(redis_client, dd_settings)


@pytest.mark.integration
def test_wire_copies_cluster_and_same_event_stories_do_not(deduper):
    fixtures = load_fixtures()
    report = evaluate(deduper, fixtures)
    res = report["results"]
    by_id = {f.fid: f for f in fixtures}
    for f in fixtures:
        r = res[f.fid]
        orig = f"{f.event}/A"
        if f.kind == "copy":
            assert r["cluster_id"] == res[orig]["cluster_id"], (f.fid, r)
            assert r["duplicate_of"] is not None and r["kind"] in ("near", "exact_content"), f.fid
            assert by_id[next(k for k in res if res[k]["cluster_id"] == r["cluster_id"])].event == f.event
        else:
            assert r["duplicate_of"] is None and r["kind"] is None, (f.fid, r)
            assert r["cluster_id"] == f.to_article().id
    for a, b in itertools.combinations(fixtures, 2):
        if a.event == b.event and a.story != b.story:
            assert res[a.fid]["cluster_id"] != res[b.fid]["cluster_id"], (a.fid, b.fid)
    print(f"\ndedupe fixtures: precision={report['precision']} recall={report['recall']} "
          f"pairs={report['pairs']} positive={report['positive_pairs']} false={report['false_pairs']}")
    assert report["false_pairs"] == []
    assert report["precision"] == 1.0 and report["recall"] == 1.0


@pytest.mark.integration
def test_exact_content_and_refetch(deduper):
    a = art("https://a.example/1", LONG)
    b = art("https://b.example/2", "  " + LONG.upper() + " ")
    ra = deduper.check_and_record(a)
    assert ra.kind is None and ra.cluster_id == a.id and ra.duplicate_of is None
    rb = deduper.check_and_record(b)
    assert (rb.kind, rb.duplicate_of, rb.cluster_id, rb.similarity) == ("exact_content", a.id, a.id, 1.0)
    assert rb.content_hash == ra.content_hash
    # the same canonical URL again: a re-fetch, flagged, never a duplicate of itself
    again = deduper.check_and_record(a)
    assert again.kind == "exact_url" and again.first_kind is None
    assert again.duplicate_of is None and again.to_dict() == ra.to_dict() and not again.changed
    # an updated article under the same URL keeps its decision and says it changed
    updated = deduper.check_and_record(art("https://a.example/1", LONG + " Talks resume on Wednesday."))
    assert updated.kind == "exact_url" and updated.changed and updated.cluster_id == a.id
    rb2 = deduper.check_and_record(b)
    assert rb2.to_dict() == rb.to_dict() and rb2.first_kind == "exact_content"
    # another id under an already recorded canonical URL is a re-fetch too
    other_id = Article(id="f" * 32, url=a.url + "?utm_source=x", canonical_url=a.canonical_url, title="t", body=LONG)
    ro = deduper.check_and_record(other_id)
    assert ro.kind == "exact_url" and ro.cluster_id == a.id and ro.duplicate_of is None


@pytest.mark.integration
def test_idempotent_after_crash_leftovers(deduper, redis_client):
    a = art("https://crash.example/a", LONG)
    # a worker claimed the content hash (and indexed the LSH entries) for `a`, then crashed
    redis_client.set(deduper._k_hash(content_hash(LONG)), a.id)
    mh = minhash_of(shingles(LONG, deduper.k), deduper.num_perm)
    for key in deduper.band_keys(mh):
        redis_client.sadd(key, a.id)
    r = deduper.check_and_record(a)  # the retry
    assert r.duplicate_of is None and r.kind is None and r.cluster_id == a.id
    # a crashed worker's claim under ANOTHER id is taken over, not followed
    ghost = art("https://crash.example/ghost", LONG + " extra words here")
    redis_client.set(deduper._k_hash(content_hash(ghost.body)), "0" * 32)
    rg = deduper.check_and_record(ghost)
    assert rg.duplicate_of != "0" * 32
    assert redis_client.get(deduper._k_hash(content_hash(ghost.body))) == ghost.id.encode()


@pytest.mark.integration
def test_short_bodies_are_not_content_deduped(deduper):
    r1 = deduper.check_and_record(art("https://s.example/1", "Read more on our site."))
    r2 = deduper.check_and_record(art("https://s.example/2", "Read more on our site."))
    assert r1.kind is None and r2.kind is None and r2.cluster_id != r1.cluster_id


@pytest.mark.integration
def test_lsh_buckets_match_an_independent_band_split(deduper, redis_client):
    """Each article sits in one bucket per band; the candidates of a signature are exactly the
    articles that share at least one band with it, computed here from the stored signatures."""
    import numpy as np

    vocab = sorted(set(normalize_text(" ".join(f.body for f in load_fixtures())).split()))
    arts = synthetic_articles(60, vocab, seed=3)
    for a in arts:
        deduper.check_and_record(a)
    rows, bands = deduper.rows, deduper.bands
    assert rows * bands <= deduper.num_perm

    def band_values(sig):
        return [tuple(sig[i * rows:(i + 1) * rows]) for i in range(bands)]

    stored = {a.id: band_values(np.frombuffer(redis_client.get(deduper._k_mh(a.id)), dtype="<u8")) for a in arts}
    for a in random.Random(1).sample(arts, 15):
        mh = minhash_of(shingles(a.body, deduper.k), deduper.num_perm)
        mine = band_values(np.asarray(mh.hashvalues, dtype="<u8"))
        expected = {i for i, other in stored.items() if any(x == y for x, y in zip(mine, other))}
        assert a.id in expected
        assert deduper._candidates(mh) == expected


@pytest.mark.integration
def test_seed_site_has_exactly_one_near_duplicate_pair(deduper):
    pages = sorted(DEFAULT_ROOT.glob("*/**/*.html"))
    assert len(pages) >= 14
    results = {}
    for p in pages:
        page = p.read_text("utf-8")
        body_div = re.search(r'class="(?:story-body|text|entry-content)"[^>]*>(.*?)</div>', page, re.S).group(1)
        text = "\n\n".join(html.unescape(re.sub(r"<[^>]+>", "", x)) for x in re.findall(r"<p[^>]*>(.*?)</p>", body_div, re.S))
        url = "https://seed.example/" + p.relative_to(DEFAULT_ROOT).as_posix()
        results[p.name] = deduper.check_and_record(art(url, text))
    dups = {name: r for name, r in results.items() if r.duplicate_of}
    pair = {"mexico-rejects-us-push-safe-third-country.html", "mexico-rejects-safe-third-country.html"}
    assert len(dups) == 1 and set(dups) < pair, dups
    (dup_name, dup), = dups.items()
    (orig_name,) = pair - {dup_name}
    assert dup.kind == "near" and dup.duplicate_of == results[orig_name].cluster_id
    assert results["dozens-cross-rio-grande-ciudad-juarez.html"].duplicate_of is None


def _worker(settings_dict: dict, fixtures_ids: list[str], seed: int, barrier, out_q) -> None:
    import redis as _redis

    from pipeline.settings import Settings as _S

    s = _S(**settings_dict)
    client = _redis.Redis.from_url(s.redis_url)
    dd = Deduper(client, s)
    fx = {f.fid: f for f in load_fixtures()}
    order = list(fixtures_ids)
    random.Random(seed).shuffle(order)
    barrier.wait(timeout=60)
    out = {fid: dd.check_and_record(fx[fid].to_article()).to_dict() for fid in order}
    out_q.put(out)


@pytest.mark.integration
def test_concurrent_workers_agree(dd_settings):
    """Four processes check the same articles at once, in different orders: every article gets
    one decision, each story one root, and wire copies always land in their story's cluster."""
    fixtures = [f for f in load_fixtures() if f.event in ("banxico-rate-cut", "juarez-factory-fire", "eagle-pass-rail-strike")]
    ids = [f.fid for f in fixtures]
    ctx = mp.get_context("spawn")
    barrier, q = ctx.Barrier(4), ctx.Queue()
    sd = {k: getattr(dd_settings, k) for k in ("redis_url", "redis_key_prefix", "near_dup_threshold",
                                               "minhash_num_perm", "shingle_words", "dedupe_min_words")}
    procs = [ctx.Process(target=_worker, args=(sd, ids, seed, barrier, q)) for seed in range(4)]
    for p in procs:
        p.start()
    outs = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for fid in ids:
        assert len({tuple(sorted(o[fid].items())) for o in outs}) == 1, fid
    res = outs[0]
    by_story = defaultdict(list)
    for f in fixtures:
        by_story[f.truth].append(f)
    for truth, items in by_story.items():
        clusters = {res[f.fid]["cluster_id"] for f in items}
        assert len(clusters) == 1, (truth, clusters)
        roots = [f for f in items if res[f.fid]["duplicate_of"] is None]
        assert len(roots) == 1, truth
        assert next(iter(clusters)) == roots[0].to_article().id
    assert len({res[f.fid]["cluster_id"] for f in fixtures}) == len(by_story)


@pytest.mark.integration
def test_busy_lock_raises_transient_error(deduper, redis_client, monkeypatch):
    import pipeline.dedupe.deduper as mod
    from pipeline.errors import DedupeError

    monkeypatch.setattr(mod, "LOCK_WAIT_S", 0.2)
    held = redis_client.lock(deduper._lock_name, timeout=10)
    assert held.acquire(blocking=False)
    try:
        with pytest.raises(DedupeError) as info:
            deduper.check_and_record(art("https://busy.example/1", LONG))
        assert info.value.reason == "dedupe_busy" and info.value.transient
    finally:
        held.release()
    assert deduper.check_and_record(art("https://busy.example/1", LONG)).kind is None


@pytest.mark.integration
def test_client_with_decoded_responses(dd_settings, redis_client):
    import redis

    client = redis.Redis.from_url(dd_settings.redis_url, decode_responses=True)
    dd = Deduper(client, dd_settings)
    fx = [f for f in load_fixtures() if f.event == "lampedusa-capsizing"]
    res = {f.fid: dd.check_and_record(f.to_article()) for f in fx}
    root = res["lampedusa-capsizing/A"].cluster_id
    assert all(res[f.fid].cluster_id == root for f in fx if f.story == "A")
    assert res["lampedusa-capsizing/B"].cluster_id != root


def test_dedupe_fetched_stores_the_article_and_a_duplicates_document(redis_client, settings):
    from pipeline.dedupe.duplicate import dedupe_fetched
    from pipeline.stats import Counters
    from pipeline.store import PayloadStore

    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:dfetched"})
    deduper, store, counters = Deduper(redis_client, s), PayloadStore(redis_client, s), Counters(redis_client, s)
    body = " ".join(f"word{i}" for i in range(200))
    first = Article(id="o1", url="https://a.example/1", canonical_url="https://a.example/1", title="T", body=body,
                    feed_id="f1")
    copy = Article(id="c1", url="https://b.example/1", canonical_url="https://b.example/1", title="T", body=body)
    assert dedupe_fetched(first, deduper, store, counters).duplicate_of is None
    assert store.get("article", "o1")["content_hash"] and store.get("doc", "o1") is None   # enrich builds it
    store.put("doc", "o1", {"id": "o1", "persons": [{"name": "Ana Ruiz", "mentions": 1}], "topics": ["flood"]})
    result = dedupe_fetched(copy, deduper, store, counters)
    doc = store.get("doc", "c1")
    assert result.duplicate_of == "o1" and doc["dedupe"]["duplicate_of"] == "o1"
    assert doc["persons"] == [{"name": "Ana Ruiz", "mentions": 1}] and doc["quotes"] == [] and doc["enqueued_at"]
    assert counters.all()["fetched"] == 2 and counters.all()["duplicates"] == 1
