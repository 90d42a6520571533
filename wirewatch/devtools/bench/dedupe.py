"""``wirewatch bench dedupe``: precision/recall of the near-duplicate decision on our fixtures,
and the throughput of :meth:`pipeline.dedupe.deduper.Deduper.check_and_record` on real Redis.

Quality: every article of ``tests/fixtures/dedupe/*.json`` (invented wire stories, their wire
copies at other outlets, and different stories about the same events) goes through one
``Deduper`` in file order. A pair of articles is *predicted* a duplicate pair when both got the
same ``cluster_id``, and is *truly* one when both carry the same event and ``story`` label.
Precision = TP / (TP + FP) and recall = TP / (TP + FN) over all unordered pairs.

The same evaluation is repeated at the thresholds of :data:`SWEEP_THRESHOLDS`
(``threshold_sweep``), the measurement behind the ``near_dup_threshold`` default.

Throughput: ``--articles N`` synthetic 300-word articles (words drawn from the fixtures'
vocabulary; one in five is an edited copy of an earlier one) are checked one after the other
by one process; ``articles_per_s`` and the per-call ``p50_ms``/``p95_ms`` are reported.
Keys live under a fresh ``<redis_key_prefix>:bench:<random>`` prefix and are deleted at the end.
"""
from __future__ import annotations

import itertools
import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import typer

from wirewatch.devtools.bench import FORMAT_OPTION, report
from wirewatch.output import Format, fail

#: Thresholds also evaluated on the fixtures (``threshold_sweep`` in the result).
SWEEP_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
FIXTURES_DIR = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "dedupe"


@dataclass
class FixtureArticle:
    """One fixture article: ``truth`` is ``"<event>/<story>"`` (same truth = same story)."""

    fid: str
    event: str
    story: str
    kind: str
    outlet: str
    title: str
    body: str

    @property
    def truth(self) -> str:
        return f"{self.event}/{self.story}"

    def to_article(self):
        """A :class:`pipeline.models.Article` with a stable invented canonical URL."""
        from pipeline.models import Article, article_id_for

        host = re.sub(r"[^a-z0-9]+", "-", self.outlet.lower()).strip("-") + ".example"
        url = f"https://{host}/{self.fid}"
        return Article(id=article_id_for(url), url=url, canonical_url=url, title=self.title, body=self.body,
                       source_domain=host)


def load_fixtures(directory: Path = FIXTURES_DIR) -> list[FixtureArticle]:
    """Read every ``*.json`` fixture (sorted by name), articles in file order.

    Raises ``FileNotFoundError`` when the folder has no fixture.
    """
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no dedupe fixtures in {directory}")
    out = []
    for f in files:
        data = json.loads(f.read_text("utf-8"))
        for a in data["articles"]:
            out.append(FixtureArticle(a["id"], data["event"], a["story"], a["kind"], a["outlet"], a["title"], a["body"]))
    return out


def pair_metrics(truth: dict[str, str], predicted: dict[str, str]) -> dict[str, Any]:
    """Pairwise confusion counts and precision/recall.

    ``truth`` and ``predicted`` map item -> group label (story, cluster id) over the same items.
    Returns ``pairs``, ``positive_pairs``, ``tp``, ``fp``, ``fn``, ``precision``, ``recall``
    (precision is 1.0 when nothing was predicted, recall 1.0 when nothing was to be found).
    """
    tp = fp = fn = 0
    items = sorted(truth)
    for a, b in itertools.combinations(items, 2):
        t = truth[a] == truth[b]
        p = predicted[a] == predicted[b]
        tp += t and p
        fp += p and not t
        fn += t and not p
    n = len(items)
    return {
        "pairs": n * (n - 1) // 2, "positive_pairs": tp + fn, "tp": tp, "fp": fp, "fn": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
    }


def evaluate(deduper, fixtures: Iterable[FixtureArticle]) -> dict[str, Any]:
    """Run ``fixtures`` through ``deduper`` in order; return :func:`pair_metrics` plus
    ``articles``, ``results`` (fixture id -> DedupeResult record), ``false_pairs`` (list of
    ``[a, b, "fp"|"fn"]``)."""
    fixtures = list(fixtures)
    truth, predicted, results = {}, {}, {}
    for fx in fixtures:
        res = deduper.check_and_record(fx.to_article())
        truth[fx.fid] = fx.truth
        predicted[fx.fid] = res.cluster_id
        results[fx.fid] = res.record()
    metrics = pair_metrics(truth, predicted)
    false_pairs = []
    for a, b in itertools.combinations(sorted(truth), 2):
        t, p = truth[a] == truth[b], predicted[a] == predicted[b]
        if t != p:
            false_pairs.append([a, b, "fp" if p else "fn"])
    return {**metrics, "articles": len(fixtures), "results": results, "false_pairs": false_pairs}


def synthetic_articles(n: int, vocabulary: list[str], seed: int = 7, words: int = 300):
    """``n`` synthetic :class:`pipeline.models.Article` objects of ``words`` words; every fifth
    one (after the first ten) copies an earlier article with 5% of its words replaced."""
    from pipeline.models import Article, article_id_for

    rng = random.Random(seed)
    bodies: list[list[str]] = []
    out = []
    for i in range(n):
        if i >= 10 and i % 5 == 0:
            body = list(bodies[rng.randrange(len(bodies))])
            for _ in range(words // 20):
                body[rng.randrange(len(body))] = rng.choice(vocabulary)
        else:
            body = [rng.choice(vocabulary) for _ in range(words)]
        bodies.append(body)
        url = f"https://bench.example/{seed}/{i}"
        out.append(Article(id=article_id_for(url), url=url, canonical_url=url, title=f"bench {i}", body=" ".join(body)))
    return out


def run(settings, n_articles: int = 2000) -> dict[str, Any]:
    """Run the benchmark against ``settings.redis_url``; return the result dict (see module doc).

    Raises ``redis.RedisError`` when Redis cannot be reached.
    """
    import redis

    from pipeline.dedupe.deduper import Deduper, normalize_text

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    client.ping()
    prefix = f"{settings.redis_key_prefix}:bench:{uuid.uuid4().hex[:8]}"
    s = settings.model_copy(update={"redis_key_prefix": prefix})
    try:
        fixtures = load_fixtures()
        quality = evaluate(Deduper(client, s), fixtures)
        sweep = {}
        for t in SWEEP_THRESHOLDS:
            st = settings.model_copy(update={"redis_key_prefix": f"{prefix}:sweep{t}", "near_dup_threshold": t})
            m = evaluate(Deduper(client, st), fixtures)
            sweep[str(t)] = {"precision": m["precision"], "recall": m["recall"], "fp": m["fp"], "fn": m["fn"]}
        vocab = sorted({w for fx in fixtures for w in normalize_text(fx.body).split()})
        s2 = settings.model_copy(update={"redis_key_prefix": prefix + ":tp"})
        arts = synthetic_articles(n_articles, vocab)
        dd = Deduper(client, s2)
        lat = []
        t0 = time.perf_counter()
        dups = 0
        for a in arts:
            t = time.perf_counter()
            dups += dd.check_and_record(a).duplicate_of is not None
            lat.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - t0
        lat.sort()
        return {
            "precision": quality["precision"], "recall": quality["recall"], "pairs": quality["pairs"],
            "positive_pairs": quality["positive_pairs"], "tp": quality["tp"], "fp": quality["fp"],
            "fn": quality["fn"], "fixture_articles": quality["articles"], "false_pairs": quality["false_pairs"],
            "threshold": s.near_dup_threshold, "num_perm": s.minhash_num_perm, "shingle_words": s.shingle_words,
            "bands": dd.bands, "rows": dd.rows,
            "threshold_sweep": sweep,
            "throughput_articles": n_articles, "throughput_duplicates_found": dups,
            "articles_per_s": round(n_articles / elapsed, 1) if elapsed else None,
            "p50_ms": round(lat[len(lat) // 2] * 1000, 2) if lat else None,
            "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 2) if lat else None,
        }
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i:i + 1000])


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench dedupe``."""

    @bench_app.command("dedupe")
    def dedupe_cmd(
        articles: int = typer.Option(2000, "--articles", min=1, help="Synthetic articles for the throughput run."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Near-duplicate precision/recall on tests/fixtures/dedupe and dedupe throughput on real Redis."""
        from pipeline.settings import get_settings

        try:
            result = run(get_settings(), n_articles=articles)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports why it could not run
            raise fail(f"dedupe benchmark failed: {exc}")
        rows = [{"metric": k, "value": v} for k, v in result.items() if k not in ("false_pairs", "threshold_sweep")]
        rows += [{"metric": f"at threshold {t}", "value": f"precision {m['precision']}, recall {m['recall']}"}
                 for t, m in result["threshold_sweep"].items()]
        rows.append({"metric": "false_pairs", "value": len(result["false_pairs"])})
        report("dedupe", result, fmt, title="Dedupe benchmark", rows=rows)
