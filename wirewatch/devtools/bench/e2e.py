"""``wirewatch bench e2e``: N generated articles through the whole pipeline with real workers.

Local HTTP site (:class:`wirewatch.devtools.loadgen.GeneratedSite`) -> beat -> poll -> fetch -> dedupe
-> enrich -> index -> alerts, on the benchmark's OWN Redis and OpenSearch (started through
:mod:`wirewatch.devtools.services` on ports that are not the shared development ones, in a temporary
state folder, stopped at the end) and real ``wirewatch worker`` processes on separate queues
(:data:`wirewatch.devtools.chaos.CHAOS_LAYOUT`: an I/O worker for poll/fetch/alerts with threads, an
index worker with threads, an enrich worker with a prefork pool of one process per core):
the one-machine test of ``docs/scaling.md``.

Figures (JSON keys):

- ``articles``, ``elapsed_s`` (from registering the feeds to the last document indexed),
  ``articles_per_s`` = articles / elapsed_s;
- ``latency_s`` ``{p50, p95, max}``: per article, from the moment the site served its page
  (the fetch, recorded by the site) to its ``indexed_at`` stamp; ``alert_latency_s`` the same
  to the alert event's ``matched_at`` for articles that alerted; with ``--rate``, also
  ``published_latency_s`` and ``published_alert_latency_s``: the same from the moment the
  article appeared in its feed (so they include the poll delay);
- ``stages``: per stage, tasks, mean and total seconds from the workers' Prometheus histogram
  ``wirewatch_stage_seconds`` (multiprocess files), ``enrich_ms`` p50 from the documents, and
  for batch stages ``batches`` and ``docs_per_batch`` (``wirewatch_batch_documents``; index
  tasks whose documents an earlier task already took are not batches);
- ``peak_rss_mb``: per worker, the peak resident memory of its main process and of each pool
  process, sampled from /proc every :data:`SAMPLE_S` seconds;
- ``enrich_rss_flat``: mean enrich pool RSS in the first vs the last quarter of the samples,
  flat when it grew by less than :data:`FLAT_GROWTH_MB`;
- ``cpu_s`` (CPU seconds per worker tree, OpenSearch, Redis and this process, from
  /proc/<pid>/stat), ``cpu_s_per_article`` and ``ceiling_per_s`` = cores / cpu_s_per_article:
  the throughput this much work per article allows when the machine is ours alone.

The clock starts after a warm-up (a few articles per enrich pool process, so spaCy and the
gazetteer are loaded everywhere) and stops at the last ``indexed_at``.

Target (issue 7): at least 10 articles/s on a 2-core machine.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import typer

from pipeline.settings import Settings, get_settings
from wirewatch.devtools.bench import FORMAT_OPTION, percentile, port_option, progress, write_result
from wirewatch.devtools.chaos import BENCH_OPENSEARCH_BASE_PORT, BENCH_REDIS_PORT, CHAOS_LAYOUT, Rig, isolated_settings
from wirewatch.devtools.loadgen import GeneratedSite
from wirewatch.devtools.procstats import children, cpu_seconds, process_tree, rss_mib
from wirewatch.output import Format, err_console, print_json, print_table

#: Seconds between two /proc memory samples.
SAMPLE_S = 1.0
#: Enrich pool memory counts as flat when the last quarter's mean exceeds the first quarter's
#: by less than this many MiB (spaCy's arena grows a little with the longest documents seen).
FLAT_GROWTH_MB = 40.0
#: Target of issue 7, articles per second end to end on this 2-core machine.
TARGET_PER_S = 10.0
#: Saved search added for the run (besides config/searches.yaml), so alerts are exercised.
BENCH_SEARCH = {"id": "bench-migrants", "name": "Bench: migrants", "query": "migrants", "notify": [{"type": "log", "level": "debug"}]}


class MemorySampler:
    """Samples, every ``interval_s``, the RSS of each worker's main process and pool children.

    ``workers`` is a callable returning ``{name: main pid}`` (re-read each round so restarted
    workers are followed). ``samples[name]`` is a list of ``(t, main_mb, [child_mb...])``.
    """

    def __init__(self, workers: Callable[[], dict[str, int]], interval_s: float = SAMPLE_S):
        self.workers = workers
        self.interval_s = interval_s
        self.samples: dict[str, list[tuple[float, float, list[float]]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> "MemorySampler":
        """Start sampling in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            for name, pid in self.workers().items():
                kids = [rss_mib(k) for k in children(pid)]
                self.samples.setdefault(name, []).append((t, rss_mib(pid), [k for k in kids if k > 0]))
            self._stop.wait(self.interval_s)

    def peaks(self) -> dict[str, dict[str, Any]]:
        """``{worker: {"main": peak MiB, "pool": [peak MiB per pool slot], "total": peak of the sum}}``."""
        out = {}
        for name, rows in self.samples.items():
            width = max((len(r[2]) for r in rows), default=0)
            pool = [round(max((sorted(r[2], reverse=True)[i] for r in rows if len(r[2]) > i), default=0.0), 1) for i in range(width)]
            out[name] = {"main": round(max(r[1] for r in rows), 1), "pool": pool,
                         "total": round(max(r[1] + sum(r[2]) for r in rows), 1)}
        return out

    def flatness(self, name: str = "enrich") -> dict[str, Any]:
        """First- vs last-quarter mean RSS (MiB) of ``name``'s pool processes (mean per process)."""
        rows = [r for r in self.samples.get(name, []) if r[2]]
        if len(rows) < 8:
            return {"first_quarter_mb": None, "last_quarter_mb": None, "growth_mb": None, "flat": None, "samples": len(rows)}
        q = len(rows) // 4
        first = statistics.mean(statistics.mean(r[2]) for r in rows[:q])
        last = statistics.mean(statistics.mean(r[2]) for r in rows[-q:])
        return {"first_quarter_mb": round(first, 1), "last_quarter_mb": round(last, 1), "growth_mb": round(last - first, 1),
                "flat": (last - first) < FLAT_GROWTH_MB, "samples": len(rows)}


def _histogram_totals(metrics_dir: Path, name: str) -> tuple[dict[str, float], dict[str, float]]:
    """``(sums, counts)`` per ``stage`` label of the histogram ``name``, added up over the
    workers' Prometheus multiprocess files under ``metrics_dir`` (one folder per process)."""
    from workers.metrics import stage_samples

    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for s in stage_samples(metrics_dir, name):
        stage = s.labels.get("stage")
        if s.name.endswith("_sum"):
            sums[stage] = sums.get(stage, 0.0) + s.value
        elif s.name.endswith("_count"):
            counts[stage] = counts.get(stage, 0.0) + s.value
    return sums, counts


def stage_seconds(metrics_dir: Path) -> dict[str, dict[str, float]]:
    """Per stage ``{"tasks", "mean_s", "total_s"}`` from the ``wirewatch_stage_seconds``
    histogram in the workers' Prometheus multiprocess files under ``metrics_dir``."""
    sums, counts = _histogram_totals(metrics_dir, "wirewatch_stage_seconds")
    return {st: {"tasks": int(counts.get(st, 0)), "mean_s": round(sums[st] / counts[st], 4) if counts.get(st) else None,
                 "total_s": round(sums[st], 2)} for st in sorted(sums)}


def batch_sizes(metrics_dir: Path) -> dict[str, dict[str, float]]:
    """Per stage ``{"batches", "docs_per_batch"}`` (count and mean) from the
    ``wirewatch_batch_documents`` histogram in the workers' multiprocess files."""
    sums, counts = _histogram_totals(metrics_dir, "wirewatch_batch_documents")
    return {st: {"batches": int(counts[st]), "docs_per_batch": round(sums.get(st, 0.0) / counts[st], 1)}
            for st in sorted(counts) if counts[st]}


def _iso_ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def run_e2e(base: Settings, *, articles: int = 2000, feeds: int = 8, redis_port: int = BENCH_REDIS_PORT,
            opensearch_base_port: int = BENCH_OPENSEARCH_BASE_PORT, layout=CHAOS_LAYOUT, timeout_s: float = 3600.0,
            rate_per_s: float | None = None,
            on_progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the benchmark and return the result dict (keys in the module docstring).

    ``rate_per_s`` publishes the articles at that steady rate instead of all at once (feeds are
    then polled every 1-2 s: ``poll_min_interval_s`` 1, ``poll_max_interval_s`` 2), to measure
    latency under sustained load rather than behind a burst; ``articles_per_s`` is then bounded
    by the rate.

    Starts and stops its own Redis (``redis_port``) and OpenSearch (``opensearch_base_port``+1).
    ``on_progress(phase, done, total)`` is called as work advances. Raises ServiceError when a service cannot
    start and TimeoutError when the articles are not all indexed within ``timeout_s``.
    """
    progress = on_progress or (lambda *_: None)
    state = Path(tempfile.mkdtemp(prefix="wirewatch-e2e-"))
    steady = {"poll_min_interval_s": 1, "poll_max_interval_s": 2} if rate_per_s else {}
    s = isolated_settings(base, state_dir=state, redis_port=redis_port, opensearch_base_port=opensearch_base_port, tag="e2e",
                          **steady)
    result: dict[str, Any] = {"articles": articles, "feeds": feeds, "rate_per_s": rate_per_s,
                              "layout": [dict(w) for w in layout]}
    with Rig(s, layout=layout) as rig:
        progress("starting own Redis and OpenSearch", 0, 0)
        rig.start(workers=False)
        from pipeline.alerts.searches import SavedSearch, SavedSearchStore

        store = SavedSearchStore(rig.engine, s)
        try:
            store.load_yaml(s.searches_file)
        except Exception as exc:  # noqa: BLE001 - the bench still runs with its own search
            err_console.print(f"[yellow]could not load {s.searches_file}: {exc}[/yellow]")
        store.add(SavedSearch(**BENCH_SEARCH), replace=True)
        progress(f"generating {articles} articles", 0, 0)
        site = GeneratedSite(articles, feeds=feeds, seed=11, rate_per_s=rate_per_s)
        site.start()
        result["body_words_median"] = statistics.median(a.words for a in site.articles)
        try:
            progress("starting workers", 0, 0)
            rig.start_workers()
            rig.wait_workers_ready()
            from pipeline.feeds.registry import FeedRegistry

            registry = FeedRegistry(rig.redis, s)
            progress("warming up (models load in every pool process)", 0, 0)
            _warm_up(rig, registry, layout)
            sampler = MemorySampler(lambda: {w["name"]: rig.worker_pid(w["name"]) for w in layout}).start()
            cpu_before = _cpu_seconds(rig, layout)
            t0 = time.time()
            site.release(t0)
            for url in site.feed_urls:
                registry.add(url, title="bench feed")
            expected = set(site.expected_ids())
            deadline = time.monotonic() + timeout_s
            done = 0
            index = rig.engine.alias("articles")
            from pipeline.stats import Counters

            counters = Counters(rig.redis, s)
            indexed_before = counters.all().get("indexed", 0)
            while True:
                # Progress from the workers' Redis counter; the index itself is refreshed and
                # counted once the counter says all are in: a forced refresh and an id count
                # every second would add search-engine work the pipeline itself does not do.
                done = min(articles, counters.all().get("indexed", 0) - indexed_before)
                if done >= articles:
                    rig.engine.refresh(index)
                    done = rig.engine.count(index, {"ids": {"values": sorted(expected)}}) if articles <= 10_000 else \
                        rig.engine.count(index)
                progress("indexing", done, articles)
                if done >= articles:
                    break
                dead = [n for n, ok in rig.group.alive().items() if not ok]  # type: ignore[union-attr]
                if dead:
                    raise RuntimeError(f"worker(s) {dead} exited; logs in {state}/logs")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{done} of {articles} indexed after {timeout_s:.0f}s; logs in {state}/logs")
                time.sleep(1.0)
            t_indexed = time.time()
            settle = time.monotonic() + 60
            while not rig.idle() and time.monotonic() < settle:
                time.sleep(0.5)
            sampler.stop()
            cpu_after = _cpu_seconds(rig, layout)
            result.update(_collect(rig, site, t0, t_indexed, sampler, state))
            cpu = {k: round(cpu_after.get(k, 0.0) - cpu_before.get(k, 0.0), 1) for k in cpu_after}
            result["cpu_s"] = cpu
            result["cpu_s_per_article"] = round(sum(cpu.values()) / max(1, result["indexed"]), 3)
            result["cores"] = os.cpu_count()
            result["ceiling_per_s"] = round((os.cpu_count() or 1) / max(1e-6, result["cpu_s_per_article"]), 2)
            result["load_avg_1m"] = round(os.getloadavg()[0], 2)
        finally:
            site.stop()
    return result


def _warm_up(rig: Rig, registry, layout, timeout_s: float = 300.0) -> None:
    """Push a few articles (two per enrich pool process) through before the clock starts, so
    model loading in each pool process is not counted. Raises TimeoutError."""
    enrich = [w for w in layout if "enrich" in w["queues"].split(",")]
    n = 2 * max(1, sum(int(w["concurrency"]) for w in enrich))
    warm = GeneratedSite(n, feeds=1, seed=99_991)
    warm.start()
    try:
        for url in warm.feed_urls:
            registry.add(url, title="warm-up feed")
        ids = sorted(warm.expected_ids())
        index = rig.engine.alias("articles")
        deadline = time.monotonic() + timeout_s
        while True:
            rig.engine.refresh(index)
            if rig.engine.count(index, {"ids": {"values": ids}}) >= n and rig.idle():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"warm-up articles not indexed after {timeout_s:.0f}s")
            time.sleep(0.5)
    finally:
        warm.stop()


def _cpu_seconds(rig: Rig, layout) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each worker's process tree, OpenSearch and Redis."""
    out = {w["name"]: sum(cpu_seconds(p) for p in process_tree(rig.worker_pid(w["name"]))) for w in layout}
    for name, svc in (("opensearch", rig.search_svc), ("redis", rig.redis_svc)):
        pid = svc.pid()
        out[name] = cpu_seconds(pid) if pid else 0.0
    out["site_and_bench"] = cpu_seconds(os.getpid())
    return out


def _collect(rig: Rig, site: GeneratedSite, t0: float, t_indexed: float, sampler: MemorySampler, state: Path) -> dict[str, Any]:
    eng = rig.engine
    index = eng.alias("articles")
    served = site.served_at_by_id()
    docs = []
    body = {"size": 10_000, "_source": ["id", "indexed_at", "fetched_at", "enrich_ms", "dedupe.duplicate_of"],
            "query": {"ids": {"values": sorted(site.expected_ids())}}}
    docs = [h["_source"] for h in eng.search(index, body)["hits"]["hits"]]
    indexed_ts = {d["id"]: _iso_ts(d.get("indexed_at")) for d in docs}
    last = max((t for t in indexed_ts.values() if t), default=t_indexed)
    elapsed = max(1e-6, last - t0)
    lat = [indexed_ts[i] - served[i] for i in indexed_ts if indexed_ts[i] and i in served]
    eng.refresh(eng.alias("alerts"))
    alerts = [h["_source"] for h in eng.search(eng.alias("alerts"), {"size": 10_000, "query": {"terms": {"article_id": sorted(served)}}})["hits"]["hits"]]
    alert_lat = [_iso_ts(a.get("matched_at")) - served[a["article_id"]] for a in alerts
                 if a.get("article_id") in served and _iso_ts(a.get("matched_at"))]
    published = site.published_at_by_id() if site.rate_per_s else {}
    pub_lat = [indexed_ts[i] - published[i] for i in indexed_ts if indexed_ts[i] and i in published]
    pub_alert_lat = [_iso_ts(a.get("matched_at")) - published[a["article_id"]] for a in alerts
                     if a.get("article_id") in published and _iso_ts(a.get("matched_at"))]
    enrich_ms = [d["enrich_ms"] for d in docs if d.get("enrich_ms") is not None]
    stages = stage_seconds(Path(rig.settings.state_dir) / "metrics")
    for stage, sizes in batch_sizes(Path(rig.settings.state_dir) / "metrics").items():
        stages.setdefault(stage, {}).update(sizes)
    if enrich_ms:
        stages.setdefault("enrich", {})["enrich_ms_p50"] = round(percentile(enrich_ms, 0.5), 1)  # type: ignore[arg-type]
    r2 = lambda v: None if v is None else round(v, 2)  # noqa: E731
    from pipeline.stats import Counters

    counters = Counters(rig.redis, rig.settings).all()
    return {
        "indexed": len(docs),
        "duplicates": sum(1 for d in docs if (d.get("dedupe") or {}).get("duplicate_of")),
        "elapsed_s": round(elapsed, 1),
        "articles_per_s": round(len(docs) / elapsed, 2),
        "target_per_s": TARGET_PER_S,
        # With a rate the throughput is the rate's, not the pipeline's: no verdict then.
        "target_met": None if site.rate_per_s else len(docs) / elapsed >= TARGET_PER_S,
        "latency_s": {"p50": r2(percentile(lat, 0.5)), "p95": r2(percentile(lat, 0.95)), "max": r2(max(lat) if lat else None)},
        "alerts": len(alerts),
        "alert_latency_s": {"p50": r2(percentile(alert_lat, 0.5)), "p95": r2(percentile(alert_lat, 0.95))},
        **({"published_latency_s": {"p50": r2(percentile(pub_lat, 0.5)), "p95": r2(percentile(pub_lat, 0.95)),
                                    "max": r2(max(pub_lat) if pub_lat else None)},
            "published_alert_latency_s": {"p50": r2(percentile(pub_alert_lat, 0.5)),
                                          "p95": r2(percentile(pub_alert_lat, 0.95))}} if site.rate_per_s else {}),
        "stages": stages,
        "peak_rss_mb": sampler.peaks(),
        "enrich_rss": sampler.flatness("enrich"),
        "enrich_rss_flat": sampler.flatness("enrich")["flat"],
        "errors": {k: v for k, v in counters.items() if k.startswith("error:")},
        "dead_lettered": counters.get("dead_lettered", 0),
    }


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench e2e``."""

    @bench_app.command("e2e")
    def e2e_cmd(
        articles: int = typer.Option(2000, "--articles", "-n", min=1, help="Generated articles to push through the pipeline."),
        feeds: int = typer.Option(8, "--feeds", min=1, help="Feeds the articles are spread over."),
        redis_port: int = port_option(BENCH_REDIS_PORT, "--redis-port", "Port of the bench's own Redis"),
        opensearch_base_port: int = port_option(BENCH_OPENSEARCH_BASE_PORT, "--opensearch-base-port",
                                                "Base port of the bench's own OpenSearch node (HTTP on +1)"),
        rate: float | None = typer.Option(None, "--rate", min=0.01,
                                          help="Publish the articles at this many per second (steady load, latency) "
                                               "instead of all at once (throughput)."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """End-to-end load: generated site -> poll -> fetch -> dedupe -> enrich -> index -> alerts."""
        with progress("e2e") as on_progress:
            result = run_e2e(get_settings(), articles=articles, feeds=feeds, redis_port=redis_port,
                             opensearch_base_port=opensearch_base_port, rate_per_s=rate, on_progress=on_progress)
        path = write_result("e2e", result)
        if fmt == Format.json:
            print_json(result)
            return
        lat, alat = result["latency_s"], result["alert_latency_s"]
        print_table([{"articles": result["articles"], "indexed": result["indexed"], "elapsed_s": result["elapsed_s"],
                      "articles_per_s": result["articles_per_s"],
                      # With --rate the throughput is the rate's: the target does not apply.
                      "target": "n/a (--rate)" if result.get("rate_per_s") else f">= {TARGET_PER_S}",
                      "latency_p50_s": lat["p50"], "latency_p95_s": lat["p95"], "alerts": result["alerts"],
                      "alert_p95_s": alat["p95"], "enrich_rss_flat": result["enrich_rss_flat"]}],
                    ["articles", "indexed", "elapsed_s", "articles_per_s", "target", "latency_p50_s", "latency_p95_s",
                     "alerts", "alert_p95_s", "enrich_rss_flat"], title="wirewatch bench e2e")
        if result.get("published_latency_s"):
            plat, palat = result["published_latency_s"], result["published_alert_latency_s"]
            print_table([{"rate_per_s": result["rate_per_s"], "published_to_indexed_p50_s": plat["p50"],
                          "published_to_indexed_p95_s": plat["p95"], "published_to_alert_p50_s": palat["p50"],
                          "published_to_alert_p95_s": palat["p95"]}],
                        ["rate_per_s", "published_to_indexed_p50_s", "published_to_indexed_p95_s",
                         "published_to_alert_p50_s", "published_to_alert_p95_s"], title="latency from publication")
        print_table([{"what": k, "cpu_s": v} for k, v in result["cpu_s"].items()]
                    + [{"what": "per article", "cpu_s": result["cpu_s_per_article"]},
                       {"what": f"ceiling on {result['cores']} cores, articles/s", "cpu_s": result["ceiling_per_s"]}],
                    ["what", "cpu_s"], title=f"CPU seconds (load average {result['load_avg_1m']})")
        print_table([{"stage": k, **v} for k, v in result["stages"].items()], ["stage", "tasks", "mean_s", "total_s", "enrich_ms_p50", "batches", "docs_per_batch"],
                    title="seconds per stage (Prometheus wirewatch_stage_seconds)")
        print_table([{"worker": k, **v} for k, v in result["peak_rss_mb"].items()], ["worker", "main", "pool", "total"],
                    title="peak RSS, MiB")
        err_console.print(f"written {path}")
