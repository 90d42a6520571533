"""``wirewatch bench enrich``: enrichment throughput and memory beside bare spaCy.

Texts
    The ``text`` of every gold file in ``tests/gold/*.gold.json`` and the main text of every
    article page in ``seeds/site`` (extracted with :func:`pipeline.fetch.extract.extract_article`,
    the fetch stage's extractor), in a fixed order, repeated until there are ``--articles``
    (200) of them. All are invented English news texts written for this project.

Throughput (one process: this one)
    *Ours* is :func:`pipeline.enrich.enrich_text` on each text, one call per article as the
    enrich task makes it (language detection, the spaCy pass with our pipeline, places,
    entities, quotes, topics). The *baseline* is the bare pipeline (``spacy.load`` of
    ``settings.spacy_model``, nothing added) over the same texts with ``nlp.pipe`` (spaCy's
    default batch size), consuming every ``Doc``. Both are warmed up on the first texts, then
    timed in ``--rounds`` (10) rounds over consecutive slices of the texts; within a round
    the two run back to back on the same slice, the one that goes first alternating between
    rounds, so a burst of load from other processes on a shared machine falls on both about
    equally. Times are ``time.perf_counter`` wall-clock sums over the rounds.

    ``words`` counts whitespace-separated words (``str.split``); ``words_per_s`` and
    ``baseline_words_per_s`` are words over the summed times; ``ratio`` = ours / baseline
    (target >= 0.6: our logic costs at most 40% on top of the model, issue 4). ``per_round``
    lists each round's ratio so the spread is visible; ``ratio_median`` is their median.

Where the time goes
    ``stages_ms_per_article``: one more pass over the distinct texts with each step of
    :func:`pipeline.enrich.enrich_text` timed (:func:`stage_breakdown`); ``spacy_and_rest`` is
    the spaCy pass plus the glue between steps.

Load (a fresh subprocess)
    ``load_s`` is measured in a new Python process (so nothing this process already loaded
    hides it): the wall time from before ``import spacy`` to the spaCy model
    (:func:`pipeline.enrich.nlp.get_nlp`), the gazetteer (:func:`pipeline.enrich.gazetteer.get_gazetteer`,
    from its pickle cache when present, which ``load_breakdown`` says) and the topic taxonomy
    (:func:`pipeline.enrich.topics.get_taxonomy`) being ready, with the interpreter start-up
    before it reported apart (``interpreter_s``). The subprocess then enriches each distinct
    text once; ``peak_rss_mb`` is its peak resident memory (``VmHWM``, MiB =
    2^20 bytes, :mod:`wirewatch.devtools.procstats`) at the end, ``rss_after_load_mb`` its resident memory right after loading.
    The load is timed in ``--load-runs`` (3) fresh processes and ``load_s`` is the median
    (``load_s_runs`` lists them; only the first enriches the texts); ``load_cpu_s`` is the median
    CPU time of loading, close to what the wall time would be on an idle core.
    Targets: load under 5 s and under 1.2 GB (issue 4).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import typer

from wirewatch.devtools.procstats import peak_rss_mib, rss_mib
from wirewatch.devtools.bench import FORMAT_OPTION, metric_rows, progress, report
from wirewatch.output import Format, fail

REPO = Path(__file__).resolve().parents[3]
GOLD_DIR = REPO / "tests" / "gold"
SITE_DIR = REPO / "seeds" / "site"
#: Texts enriched (and piped) before timing starts, by both sides.
WARMUP = 3
#: Targets from issue 4.
TARGET_RATIO = 0.6
TARGET_LOAD_S = 5.0
TARGET_RSS_MB = 1200.0


def load_texts(gold_dir: Path = GOLD_DIR, site_dir: Path = SITE_DIR) -> list[dict[str, str]]:
    """The distinct benchmark texts: ``[{"source", "title", "text"}]``, gold files first (by
    name), then the seed site's article pages (by path). Pages whose extraction fails or is
    empty are skipped. Raises FileNotFoundError when there is no text at all."""
    from pipeline.fetch.extract import extract_article

    out: list[dict[str, str]] = []
    for p in sorted(Path(gold_dir).glob("*.gold.json")):
        data = json.loads(p.read_text("utf-8"))
        if (data.get("text") or "").strip():
            out.append({"source": str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p),
                        "title": data.get("title") or "", "text": data["text"]})
    for p in sorted(Path(site_dir).rglob("*.html")):
        try:
            ex = extract_article(p.read_text("utf-8", errors="replace"), f"http://127.0.0.1/{p.relative_to(site_dir)}")
        except Exception:  # noqa: BLE001 - a page the extractor refuses is not a benchmark text
            continue
        if ex.body and ex.body.strip():
            out.append({"source": str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p),
                        "title": ex.title or "", "text": ex.body})
    if not out:
        raise FileNotFoundError(f"no benchmark texts in {gold_dir} or {site_dir}")
    return out


def repeat_to(items: list, n: int) -> list:
    """``items`` cycled to exactly ``n`` elements (``[]`` when ``items`` is empty)."""
    if not items:
        return []
    return [items[i % len(items)] for i in range(n)]


def word_count(text: str) -> int:
    """Whitespace-separated words in ``text``."""
    return len(text.split())


# --------------------------------------------------------------------------------------------
# load probe (runs in a fresh subprocess)
# --------------------------------------------------------------------------------------------

def load_probe(config: dict[str, Any]) -> dict[str, Any]:
    """Body of the load subprocess: load model, gazetteer and taxonomy, timing each; then
    enrich every text in ``config["texts"]`` once. ``config``: ``spacy_model``, ``topics_file``
    (or None), ``texts`` (list of ``{"title", "text"}``). Returns ``load_s``,
    ``load_breakdown``, ``rss_after_load_mb``, ``peak_rss_mb``, ``enriched`` and, when
    ``config["launched_at"]`` (epoch s) is given, ``interpreter_s`` (launch to probe start)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    started_wall = time.time()
    import spacy  # noqa: F401 - timed: a fresh worker pays for it

    from pipeline.enrich import enrich_text
    from pipeline.enrich.gazetteer import _cache_file, get_gazetteer
    from pipeline.enrich.nlp import get_nlp
    from pipeline.enrich.topics import get_taxonomy
    from pipeline.settings import Settings

    t1 = time.perf_counter()
    get_nlp(config["spacy_model"])
    t2 = time.perf_counter()
    cache_dir = Path.home() / ".cache" / "wirewatch"
    cached = _cache_file(cache_dir).is_file()
    get_gazetteer()
    t3 = time.perf_counter()
    get_taxonomy(config.get("topics_file"))
    t4 = time.perf_counter()
    load_cpu = time.process_time() - c0
    rss_load = rss_mib(os.getpid())
    settings = Settings(spacy_model=config["spacy_model"], topics_file=config.get("topics_file"))
    n = 0
    for t in config.get("texts", []):
        enrich_text(t["text"], title=t.get("title", ""), settings=settings)
        n += 1
    return {
        "load_s": round(t4 - t0, 3),
        "load_cpu_s": round(load_cpu, 3),
        "load_breakdown": {"imports_s": round(t1 - t0, 3), "model_s": round(t2 - t1, 3),
                           "gazetteer_s": round(t3 - t2, 3), "gazetteer_from_cache": cached,
                           "taxonomy_s": round(t4 - t3, 3)},
        "rss_after_load_mb": round(rss_load, 1),
        "peak_rss_mb": round(peak_rss_mib(os.getpid()), 1),
        "enriched": n,
        "interpreter_s": round(started_wall - config["launched_at"], 3) if config.get("launched_at") else None,
    }


def _probe_main() -> None:
    config = json.loads(sys.stdin.read())
    import pipeline.logs as logs

    logs.configure_logging("WARNING", "json")
    print(json.dumps(load_probe(config)))


def run_load_probe(settings, texts: list[dict[str, str]], timeout_s: float = 600.0) -> dict[str, Any]:
    """Run :func:`load_probe` in a fresh Python process; returns its result plus
    ``subprocess_wall_s`` (the whole subprocess, enrichment of every text included).
    Raises RuntimeError when the subprocess fails."""
    config = {"spacy_model": settings.spacy_model,
              "topics_file": str(settings.topics_file) if settings.topics_file else None,
              "texts": [{"title": t["title"], "text": t["text"]} for t in texts]}
    code = "from wirewatch.devtools.bench.enrich import _probe_main; _probe_main()"
    config["launched_at"] = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(config), capture_output=True, text=True,
                          timeout=timeout_s, cwd=str(REPO))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"load probe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["subprocess_wall_s"] = round(wall, 3)
    return out


def measure_load(settings, texts: list[dict[str, str]], runs: int = 3) -> dict[str, Any]:
    """``runs`` fresh-process load probes (:func:`run_load_probe`); only the first enriches the
    texts (its peak memory is the figure). Returns the first probe's result with ``load_s``
    replaced by the median over the runs, plus ``load_s_runs`` and ``load_cpu_s`` (median CPU
    seconds of loading: what the wall time would be on an idle core)."""
    first = run_load_probe(settings, texts)
    results = [first] + [run_load_probe(settings, []) for _ in range(max(0, runs - 1))]
    out = dict(first)
    out["load_s_runs"] = [r["load_s"] for r in results]
    out["load_s"] = round(statistics.median(out["load_s_runs"]), 3)
    out["load_cpu_s"] = round(statistics.median(r["load_cpu_s"] for r in results), 3)
    return out


# --------------------------------------------------------------------------------------------
# throughput
# --------------------------------------------------------------------------------------------

def measure_throughput(settings, articles: list[dict[str, str]], rounds: int = 10,
                       progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Time ours (:func:`pipeline.enrich.enrich_text` per article) and bare ``nlp.pipe`` on
    ``articles`` in interleaved rounds (see the module docstring). Returns ``ours_s``,
    ``baseline_s``, ``per_round`` (list of ``{"articles", "ours_s", "baseline_s", "ratio"}``)."""
    import spacy

    from pipeline.enrich import enrich_text
    from pipeline.enrich.gazetteer import get_gazetteer
    from pipeline.enrich.nlp import get_nlp

    progress = progress or (lambda *_: None)
    bare = spacy.load(settings.spacy_model)
    get_nlp(settings.spacy_model)
    get_gazetteer()
    warm = articles[:WARMUP]
    for a in warm:
        enrich_text(a["text"], title=a["title"], settings=settings)
    for _ in bare.pipe([a["text"] for a in warm]):
        pass

    rounds = max(1, min(rounds, len(articles)))
    size = -(-len(articles) // rounds)
    per_round = []
    ours_total = base_total = 0.0
    done = 0
    for r in range(rounds):
        part = articles[r * size:(r + 1) * size]
        if not part:
            break
        texts = [a["text"] for a in part]

        def ours() -> float:
            t = time.perf_counter()
            for a in part:
                enrich_text(a["text"], title=a["title"], settings=settings)
            return time.perf_counter() - t

        def base() -> float:
            t = time.perf_counter()
            for _doc in bare.pipe(texts):
                pass
            return time.perf_counter() - t

        if r % 2 == 0:
            o = ours()
            b = base()
        else:
            b = base()
            o = ours()
        ours_total += o
        base_total += b
        per_round.append({"articles": len(part), "ours_s": round(o, 3), "baseline_s": round(b, 3),
                          "ratio": round(b / o, 3) if o else None})
        done += len(part)
        progress("enriching (ours vs bare spaCy)", done, len(articles))
    return {"ours_s": ours_total, "baseline_s": base_total, "per_round": per_round}


#: Steps of :func:`pipeline.enrich.enrich_text` timed by :func:`stage_breakdown` (names in
#: :mod:`pipeline.enrich` that it calls once per article).
STAGES = ("detect_language", "_places", "person_like_locations", "extract_entities", "extract_quotes", "_topics")


def stage_breakdown(settings, texts: list[dict[str, str]]) -> dict[str, float]:
    """Milliseconds per article spent in each step of :func:`pipeline.enrich.enrich_text` over
    ``texts`` (one pass): the names in :data:`STAGES`, timed by wrapping them in the
    :mod:`pipeline.enrich` namespace for the pass (restored afterwards), and ``spacy_and_rest``
    (the remainder: the spaCy pass ``nlp(body)`` and the glue between steps)."""
    import pipeline.enrich as enrich_mod

    spent = {name: 0.0 for name in STAGES}
    originals = {name: getattr(enrich_mod, name) for name in STAGES if hasattr(enrich_mod, name)}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    try:
        for name, fn in originals.items():
            setattr(enrich_mod, name, timed(name, fn))
        t0 = time.perf_counter()
        for a in texts:
            enrich_mod.enrich_text(a["text"], title=a["title"], settings=settings)
        total = time.perf_counter() - t0
    finally:
        for name, fn in originals.items():
            setattr(enrich_mod, name, fn)
    n = max(1, len(texts))
    out = {name.lstrip("_"): round(spent[name] * 1000 / n, 2) for name in originals}
    out["spacy_and_rest"] = round((total - sum(spent.values())) * 1000 / n, 2)
    out["total"] = round(total * 1000 / n, 2)
    return out


def run(settings, *, n_articles: int = 200, rounds: int = 10, load_runs: int = 3,
        progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); return the result dict with the keys
    ``articles``, ``words``, ``articles_per_s``, ``words_per_s``, ``baseline_words_per_s``,
    ``ratio``, ``load_s``, ``peak_rss_mb`` and details. Raises ConfigError when the spaCy model
    is missing, RuntimeError when the load subprocess fails."""
    progress = progress or (lambda *_: None)
    progress("reading texts", 0, 0)
    distinct = load_texts()
    articles = repeat_to(distinct, n_articles)
    words = sum(word_count(a["text"]) for a in articles)
    progress("loading in a fresh process", 0, 0)
    load = measure_load(settings, distinct, runs=load_runs)
    progress("enriching (ours vs bare spaCy)", 0, len(articles))
    tp = measure_throughput(settings, articles, rounds=rounds, progress=progress)
    progress("timing the steps", 0, 0)
    stages = stage_breakdown(settings, distinct)
    ours_s, base_s = tp["ours_s"], tp["baseline_s"]
    wps = words / ours_s if ours_s else None
    bwps = words / base_s if base_s else None
    ratios = [r["ratio"] for r in tp["per_round"] if r["ratio"] is not None]
    return {
        "articles": len(articles),
        "distinct_texts": len(distinct),
        "words": words,
        "articles_per_s": round(len(articles) / ours_s, 2) if ours_s else None,
        "words_per_s": round(wps, 1) if wps else None,
        "baseline_articles_per_s": round(len(articles) / base_s, 2) if base_s else None,
        "baseline_words_per_s": round(bwps, 1) if bwps else None,
        "ratio": round(wps / bwps, 3) if wps and bwps else None,
        "ratio_median": round(statistics.median(ratios), 3) if ratios else None,
        "ms_per_article": round(ours_s * 1000 / len(articles), 2) if articles else None,
        "baseline_ms_per_article": round(base_s * 1000 / len(articles), 2) if articles else None,
        "stages_ms_per_article": stages,
        "load_s": load["load_s"],
        "load_s_runs": load["load_s_runs"],
        "load_cpu_s": load["load_cpu_s"],
        "load_breakdown": load["load_breakdown"],
        "interpreter_s": load.get("interpreter_s"),
        "rss_after_load_mb": load["rss_after_load_mb"],
        "peak_rss_mb": load["peak_rss_mb"],
        "spacy_model": settings.spacy_model,
        "rounds": len(tp["per_round"]),
        "per_round": tp["per_round"],
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "targets": {"ratio": TARGET_RATIO, "load_s": TARGET_LOAD_S, "peak_rss_mb": TARGET_RSS_MB},
        "met": {"ratio": bool(wps and bwps and wps / bwps >= TARGET_RATIO),
                "load_s": load["load_s"] < TARGET_LOAD_S, "peak_rss_mb": load["peak_rss_mb"] < TARGET_RSS_MB},
    }


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench enrich``."""

    @bench_app.command("enrich")
    def enrich_cmd(
        articles: int = typer.Option(200, "--articles", min=1, help="Articles enriched (the texts repeated to this many)."),
        rounds: int = typer.Option(10, "--rounds", min=1, help="Interleaved rounds of ours vs bare spaCy."),
        load_runs: int = typer.Option(3, "--load-runs", min=1, help="Fresh processes timed loading (median reported)."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Enrichment articles/s and words/s beside bare spaCy nlp.pipe; load time and memory in a fresh process."""
        from pipeline.settings import get_settings

        with progress() as on_progress:
            try:
                result = run(get_settings(), n_articles=articles, rounds=rounds, load_runs=load_runs,
                             progress=on_progress)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports why it could not run
                raise fail(f"enrich benchmark failed: {exc}")
        rows = metric_rows(result, skip=("per_round",))
        rows.append({"metric": "per_round.ratio", "value": ", ".join(str(r["ratio"]) for r in result.get("per_round", []))})
        report("enrich", result, fmt, rows=rows,
               title="Enrich benchmark (targets: ratio >= 0.6, load < 5 s, peak RSS < 1200 MiB)")
