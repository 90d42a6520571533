"""``wirewatch bench stories``: quality and cost of story clustering (:mod:`pipeline.dedupe.stories`).

Quality: every article of ``tests/fixtures/stories/articles.yaml`` (invented: groups of
articles reporting one event from different outlets in different words, and decoy groups on the
same subject reporting another event within the same days) is enriched by the real enrich stage
(spaCy), then placed in stories by one :class:`~pipeline.dedupe.stories.StoryIndex` on real Redis, in
publication order, starting from empty document frequencies. A pair of articles is *predicted*
together when both got the same story id and *truly* together when both carry the same
``group``. Precision = TP / (TP + FP), recall = TP / (TP + FN) over all unordered pairs. The
same run is repeated at the thresholds of :data:`SWEEP_THRESHOLDS` (``threshold_sweep``) and the
windows of :data:`SWEEP_WINDOWS_H` (``window_sweep``).

Cost: ``--recent N`` (default 100,000) synthetic recent articles are written into the story
index (vectors, postings, document frequencies) of a fresh prefix, with persons, organizations,
places and words drawn from Zipf-distributed pools (so common features fill their postings to
the cap, as in real news), published over the last ``story_window_h`` hours; then ``--measure M``
more synthetic articles are decided by :meth:`StoryIndex.assign` one after the other.
``cpu_ms_per_article`` is this process's CPU time (``time.process_time``: the decision's
feature extraction, weighting, candidate ranking and scoring, and the Redis client's work; the
Redis server's own CPU is another process and not counted) divided by M; wall time per
article is reported beside it. Target (issue 15): <= 5 ms CPU per article at 100,000 recent.

Keys live under ``<redis_key_prefix>:bench:<random>`` and are deleted at the end.
"""
from __future__ import annotations

import itertools
import json
import math
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any

import typer

from wirewatch.devtools.bench import FORMAT_OPTION, percentile, report
from wirewatch.output import Format, fail

FIXTURE = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "stories" / "articles.yaml"
#: Thresholds also evaluated on the fixture (``threshold_sweep`` in the result).
SWEEP_THRESHOLDS = (0.15, 0.2, 0.25, 0.275, 0.3, 0.325, 0.35, 0.4, 0.5)
#: Windows (hours) also evaluated at the configured threshold (``window_sweep``).
SWEEP_WINDOWS_H = (12.0, 24.0, 36.0, 48.0, 72.0)


def load_articles(path: Path = FIXTURE) -> list[dict[str, Any]]:
    """The fixture's articles: ``[{"group", "outlet", "published_at", "title", "body"}]``.
    Raises FileNotFoundError / ValueError when the file is missing or malformed."""
    import yaml

    items = yaml.safe_load(Path(path).read_text("utf-8"))
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: expected a list of articles")
    for i, a in enumerate(items):
        missing = {"group", "outlet", "published_at", "title", "body"} - set(a)
        if missing:
            raise ValueError(f"{path}: article {i} lacks {sorted(missing)}")
    return items


def enrich_fixture(articles: list[dict[str, Any]], settings) -> list[tuple[str, dict[str, Any]]]:
    """``(group, contract document)`` per article, enriched by the real enrich stage, with an
    invented URL ``https://<outlet>/<n>``, ``published_at`` and ``source.domain`` set."""
    from pipeline.enrich import document_for_text

    out = []
    for n, a in enumerate(articles):
        url = f"https://{a['outlet']}/story-{n}"
        doc = document_for_text(a["body"], title=a["title"], url=url, settings=settings)
        doc["published_at"] = a["published_at"]
        doc["source"] = {"domain": a["outlet"], "feed_url": None}
        out.append((str(a["group"]), doc))
    return out


def pairwise(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of ``predicted`` cluster labels against ``truth``
    labels (same length). Precision is 1.0 when no pair is predicted; recall 1.0 when no pair
    is true."""
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same_t, same_p = truth[i] == truth[j], predicted[i] == predicted[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn}


def _bench_settings(settings, prefix: str, **over):
    return settings.model_copy(update={"redis_key_prefix": prefix, **over})


def cluster(docs: list[tuple[str, dict[str, Any]]], redis, settings, threshold: float) -> tuple[list[str], list[str]]:
    """Place ``docs`` (publication order) in stories on a fresh prefix at ``threshold``;
    returns (truth labels, story ids). The prefix's keys are deleted afterwards."""
    from pipeline.dedupe.stories import StoryIndex

    prefix = f"{settings.redis_key_prefix}:bench:{uuid.uuid4().hex[:8]}"
    idx = StoryIndex(redis, _bench_settings(settings, prefix, story_threshold=threshold))
    order = sorted(range(len(docs)), key=lambda i: docs[i][1]["published_at"])
    got: dict[int, str] = {}
    try:
        for i in order:
            got[i] = idx.assign(docs[i][1]).story_id
    finally:
        _delete_prefix(redis, prefix)
    return [g for g, _ in docs], [got[i] for i in range(len(docs))]


def _delete_prefix(redis, prefix: str) -> int:
    n = 0
    batch = []
    for key in redis.scan_iter(match=f"{prefix}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            n += redis.delete(*batch)
            batch = []
    if batch:
        n += redis.delete(*batch)
    return n


# --- cost ---------------------------------------------------------------------------------

class _Zipf:
    """Draws indices 0..n-1 with probability proportional to 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float, rng: random.Random):
        self.rng = rng
        weights = [1.0 / (k + 1) ** s for k in range(n)]
        total = sum(weights)
        acc = 0.0
        self.cum = []
        for w in weights:
            acc += w / total
            self.cum.append(acc)

    def draw(self) -> int:
        import bisect

        return min(bisect.bisect_left(self.cum, self.rng.random()), len(self.cum) - 1)


def _synthetic_doc(rng: random.Random, words: _Zipf, persons: _Zipf, orgs: _Zipf, places: _Zipf, ts: float, i: int) -> dict[str, Any]:
    """A synthetic enriched document: a 300-word body and 10-word title of words "wNNNN",
    3 persons, 2 organizations and 3 places from their Zipf pools."""
    from datetime import datetime, timezone

    body = " ".join(f"w{words.draw()}x" for _ in range(300))
    title = " ".join(f"w{words.draw()}x" for _ in range(10))
    return {
        "id": f"syn{i}", "title": title, "body": body,
        "published_at": datetime.fromtimestamp(ts, timezone.utc).isoformat(),
        "source": {"domain": f"outlet{i % 500}.example"},
        "persons": [{"name": f"Person P{persons.draw()}x", "mentions": 2} for _ in range(3)],
        "organizations": [{"name": f"Org O{orgs.draw()}x", "mentions": 1} for _ in range(2)],
        "locations": [{"name": f"Place{k}x", "geonames_id": 1_000_000 + k, "mentions": 1}
                      for k in (places.draw() for _ in range(3))],
        "countries": ["ZZ"], "quotes": [],
    }


def populate(idx, n: int, rng: random.Random, pools, now: float, progress=None) -> None:
    """Write ``n`` synthetic recent articles into ``idx``'s story index the way
    :meth:`StoryIndex._record` does (vector, postings, document frequencies, ``of:``), in
    pipelined batches, weighting by the frequencies counted so far. Each article starts its own
    story (their records are not needed for the cost of a decision)."""
    from pipeline.dedupe.stories import INDEX_FEATURES, POSTINGS_CAP, _day, raw_features, salient, weigh

    df: dict[str, int] = {}
    window = idx.window_s
    batch = 2000
    for start in range(0, n, batch):
        pipe = idx.redis.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            ts = now - rng.random() * window
            doc = _synthetic_doc(rng, *pools, ts, i)
            raw = salient(raw_features(doc))
            for f in raw:
                df[f] = df.get(f, 0) + 1
            vec = weigh(raw, df, i + 1)
            pipe.set(idx.k("vec", doc["id"]), json.dumps({"v": {f: round(w, 5) for f, w in vec.items()}, "ts": ts, "story": doc["id"]}))
            for f, _w in sorted(vec.items(), key=lambda kv: -kv[1])[:INDEX_FEATURES]:
                pipe.zadd(idx.k("ix", f), {doc["id"]: ts})
                pipe.zremrangebyrank(idx.k("ix", f), 0, -(POSTINGS_CAP + 1))
            pipe.set(idx.k("of", doc["id"]), doc["id"])
        pipe.execute()
        if progress:
            progress(min(n, start + batch))
    day = _day(now)
    pipe = idx.redis.pipeline(transaction=False)
    items = list(df.items())
    for s in range(0, len(items), 5000):
        pipe.hset(idx.k("df", day), mapping=dict(items[s:s + 5000]))
    pipe.set(idx.k("n", day), n)
    pipe.execute()


def measure_cost(redis, settings, *, recent: int, measure: int, seed: int = 7, progress=None) -> dict[str, Any]:
    """Populate ``recent`` synthetic articles, then time ``measure`` decisions; see the module
    docstring. Returns ``{"recent", "measured", "cpu_ms_per_article", "wall_ms_per_article",
    "p95_wall_ms", "mean_candidates", "populate_s"}``."""
    from pipeline.dedupe.stories import StoryIndex

    rng = random.Random(seed)
    prefix = f"{settings.redis_key_prefix}:bench:{uuid.uuid4().hex[:8]}"
    idx = StoryIndex(redis, _bench_settings(settings, prefix))
    pools = (_Zipf(30_000, 1.0, rng), _Zipf(20_000, 1.0, rng), _Zipf(5_000, 1.0, rng), _Zipf(8_000, 1.0, rng))
    now = time.time()
    try:
        t0 = time.perf_counter()
        populate(idx, recent, rng, pools, now, progress)
        populate_s = time.perf_counter() - t0
        docs = [_synthetic_doc(rng, *pools, now - rng.random() * 3600, recent + i) for i in range(measure)]
        walls, cands = [], []
        idx.assign(_synthetic_doc(rng, *pools, now, recent + measure))  # warm caches and connection
        c0 = time.process_time()
        for d in docs:
            w0 = time.perf_counter()
            dec = idx.assign(d)
            walls.append(time.perf_counter() - w0)
            cands.append(dec.candidates)
        cpu = time.process_time() - c0
    finally:
        _delete_prefix(redis, prefix)
    return {"recent": recent, "measured": measure,
            "cpu_ms_per_article": round(cpu * 1000 / measure, 3),
            "wall_ms_per_article": round(sum(walls) * 1000 / measure, 3),
            "p95_wall_ms": round(percentile(walls, 0.95) * 1000, 3),
            "mean_candidates": round(sum(cands) / len(cands), 1),
            "populate_s": round(populate_s, 1)}


def run(settings, *, recent: int, measure: int, fixture: Path = FIXTURE) -> dict[str, Any]:
    """The whole benchmark: quality on the fixture (at ``settings.story_threshold`` and the
    sweep) and cost at ``recent`` articles. Raises ``redis.RedisError`` when Redis is down."""
    import redis as redis_lib

    r = redis_lib.Redis.from_url(settings.redis_url)
    r.ping()
    articles = load_articles(fixture)
    t0 = time.perf_counter()
    docs = enrich_fixture(articles, settings)
    enrich_s = time.perf_counter() - t0
    truth, pred = cluster(docs, r, settings, settings.story_threshold)
    quality = pairwise(truth, pred)
    sweep = []
    for th in SWEEP_THRESHOLDS:
        t, p = cluster(docs, r, settings, th)
        sweep.append({"threshold": th, **pairwise(t, p)})
    windows = []
    for win in SWEEP_WINDOWS_H:
        t, p = cluster(docs, r, settings.model_copy(update={"story_window_h": win}), settings.story_threshold)
        windows.append({"window_h": win, **pairwise(t, p)})
    groups = len(set(truth))
    cost = measure_cost(r, settings, recent=recent, measure=measure) if recent > 0 else None
    return {"articles": len(docs), "groups": groups, "threshold": settings.story_threshold,
            "window_h": settings.story_window_h, **quality, "enrich_s": round(enrich_s, 1),
            "threshold_sweep": sweep, "window_sweep": windows, "cost": cost,
            "targets": {"precision": 0.95, "recall": 0.85, "cpu_ms_per_article": 5.0}}


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench stories``."""

    @bench_app.command("stories")
    def stories_cmd(
        recent: int = typer.Option(100_000, help="Synthetic recent articles in the story index for the cost measurement (0: skip)."),
        measure: int = typer.Option(500, help="Articles decided (and timed) at that size."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Story clustering: pairwise precision/recall on invented articles, CPU per article at N recent."""
        from pipeline.settings import get_settings

        try:
            result = run(get_settings(), recent=recent, measure=measure)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports why it could not run
            raise fail(f"stories benchmark failed: {type(exc).__name__}: {exc}")
        rows = [["articles / groups", f"{result['articles']} / {result['groups']}"],
                ["threshold, window", f"{result['threshold']}, {result['window_h']} h"],
                ["pairwise precision (target >= 0.95)", result["precision"]],
                ["pairwise recall (target >= 0.85)", result["recall"]],
                ["F1 (tp/fp/fn)", f"{result['f1']} ({result['tp']}/{result['fp']}/{result['fn']})"]]
        for s in result["threshold_sweep"]:
            rows.append([f"  at threshold {s['threshold']}", f"P {s['precision']}  R {s['recall']}"])
        for s in result["window_sweep"]:
            rows.append([f"  at window {s['window_h']:g} h", f"P {s['precision']}  R {s['recall']}"])
        c = result["cost"]
        if c:
            rows += [[f"CPU ms per article at {c['recent']:,} recent (target <= 5)", c["cpu_ms_per_article"]],
                     ["wall ms per article (p95)", f"{c['wall_ms_per_article']} ({c['p95_wall_ms']})"],
                     ["candidates compared per article", c["mean_candidates"]]]
        report("stories", result, fmt, title="Stories benchmark",
               rows=[{"metric": str(m), "value": str(v)} for m, v in rows])
