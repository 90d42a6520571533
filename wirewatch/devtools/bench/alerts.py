"""``wirewatch bench alerts``: saved-search alert latency and correctness on the real engine.

Set-up: a fresh index prefix ``<index_prefix>-bench-<random>`` (deleted at the end unless
``--keep``); ``--searches`` (1,000) generated saved searches stored as percolator queries; and
``--articles`` (5,000) generated contract documents: invented titles and bodies from a word
list, 1-4 persons of 120, 0-3 organizations of 50, 1-3 real places (with their coordinates,
countries) of 50, 1-2 topics of 16, 0-3 quotes by those persons, 85% English, 30 domains.
About 8% of the articles are duplicates of an earlier one (``dedupe.duplicate_of`` set, same
cluster) and about 2% of the batches re-deliver an article already handed over (the
at-least-once case), so both "duplicates never alert" and "never twice per cluster" are
exercised.

Run: the articles are handed to the index stage in batches of ``--batch`` (50): each batch is
stamped ``enqueued_at`` = now, goes through :func:`pipeline.index.bulk.index_batch` and then
:func:`pipeline.alerts.percolate.match_alerts`, one batch after the other, as an index worker followed by
an alerts worker would. An alert's latency is the wall-clock time from its batch's hand-off
to the return of the bulk request that recorded it (so it includes indexing, percolation and
the alert write). ``latency_s`` reports p50, p95 and max (percentiles interpolated between the closest ranks).
``load_avg_1m`` records the machine's 1-minute load average before and after the run: the
engine shares the CPUs with everything else, and on the project's 2-core machine the p95 went
from about 1.3 s at a load of 5-8 to about 3.1 s at a load of 12-16 with the same code.

Check (brute force, per-search engine queries): after the run, every saved search's query
body (:func:`pipeline.alerts.searches.to_percolator_query`, the same one the percolator holds) is run
as an ordinary search over the indexed articles, excluding duplicates: that is the full set of
(search, story cluster) pairs that should have alerted, computed by a different engine code
path (inverted index + doc values instead of the percolator's in-memory index of the batch).
``missed`` = expected pairs with no alert event; ``duplicated`` = pairs for which
``match_alerts`` returned a new event more than once (plus events in the alerts index beyond
one per pair); ``unexpected`` = recorded pairs the brute force does not expect.

Second check, independent of the engine (``python_check``): the saved searches without a query
string (structured filters only, 60% of them) are evaluated on every article in plain Python
(:func:`python_matches`: folded name equality, set intersections, haversine distance with
Lucene's mean Earth radius) and compared with the recorded alerts of those searches. Query
strings are not re-implemented in Python (that would test a re-implementation of Lucene's
parser and analyzers, not the pipeline).
"""
from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

import typer

from pipeline.geo import haversine_km
from wirewatch.devtools.bench import FORMAT_OPTION, percentile, progress, report
from wirewatch.output import Format, fail

#: Real places (name, lat, lon, ISO country) used by generated articles and "near" searches
#: (coordinates rounded from GeoNames).
PLACES = [
    ("Tijuana", 32.5027, -117.0037, "MX"), ("Mexicali", 32.6245, -115.4523, "MX"), ("Ciudad Juárez", 31.7202, -106.4608, "MX"),
    ("El Paso", 31.7587, -106.4869, "US"), ("Nogales", 31.3086, -110.9422, "MX"), ("Tucson", 32.2217, -110.9265, "US"),
    ("Phoenix", 33.4484, -112.0740, "US"), ("San Diego", 32.7157, -117.1647, "US"), ("Los Angeles", 34.0522, -118.2437, "US"),
    ("Laredo", 27.5064, -99.5075, "US"), ("Nuevo Laredo", 27.4763, -99.5164, "MX"), ("Monterrey", 25.6751, -100.3185, "MX"),
    ("Saltillo", 25.4232, -101.0053, "MX"), ("Mexico City", 19.4285, -99.1277, "MX"), ("Guadalajara", 20.6668, -103.3918, "MX"),
    ("Oaxaca", 17.0654, -96.7237, "MX"), ("Tapachula", 14.9039, -92.2576, "MX"), ("Ciudad Hidalgo", 14.6792, -92.1497, "MX"),
    ("Guatemala City", 14.6407, -90.5133, "GT"), ("San Salvador", 13.6894, -89.1872, "SV"), ("Tegucigalpa", 14.0818, -87.2068, "HN"),
    ("San Pedro Sula", 15.5042, -88.0250, "HN"), ("Managua", 12.1328, -86.2504, "NI"), ("Houston", 29.7633, -95.3633, "US"),
    ("Dallas", 32.7831, -96.8067, "US"), ("Austin", 30.2672, -97.7431, "US"), ("San Antonio", 29.4241, -98.4936, "US"),
    ("Del Rio", 29.3627, -100.8968, "US"), ("Brownsville", 25.9018, -97.4975, "US"), ("Matamoros", 25.8797, -97.5042, "MX"),
    ("Reynosa", 26.0806, -98.2883, "MX"), ("McAllen", 26.2034, -98.2300, "US"), ("Chihuahua", 28.6353, -106.0889, "MX"),
    ("Hermosillo", 29.1026, -110.9773, "MX"), ("Veracruz", 19.1810, -96.1429, "MX"), ("Cancún", 21.1743, -86.8466, "MX"),
    ("Mérida", 20.9754, -89.6169, "MX"), ("Puebla", 19.0379, -98.2035, "MX"), ("Acapulco", 16.8634, -99.8901, "MX"),
    ("Havana", 23.1330, -82.3830, "CU"), ("Bogotá", 4.6097, -74.0818, "CO"), ("Caracas", 10.4880, -66.8792, "VE"),
    ("Madrid", 40.4165, -3.7026, "ES"), ("Paris", 48.8534, 2.3488, "FR"), ("Berlin", 52.5244, 13.4105, "DE"),
    ("Rome", 41.8919, 12.5113, "IT"), ("London", 51.5085, -0.1257, "GB"), ("Brussels", 50.8505, 4.3488, "BE"),
    ("Washington", 38.8951, -77.0364, "US"), ("New York", 40.7143, -74.0060, "US"),
]
TOPICS = ["border-crossing", "migration", "asylum", "politics", "elections", "disaster", "earthquake", "flood",
          "business", "trade", "energy", "health", "crime", "sport", "culture", "diplomacy"]
_FIRST = ["Ana", "Luis", "María", "Jorge", "Lucía", "Carlos", "Elena", "Diego", "Sofía", "Miguel", "Laura", "Pablo",
          "Isabel", "Andrés", "Camila", "Raúl", "Teresa", "Hugo", "Daniela", "Óscar", "Paula", "Tomás", "Irene", "Javier"]
_LAST = ["Alvarado", "Beltrán", "Cárdenas", "Domínguez", "Escobar", "Figueroa", "Guzmán", "Herrera", "Ibarra",
         "Juárez", "Lozano", "Montes", "Navarro", "Ochoa", "Pacheco", "Quintero", "Rosales", "Salinas", "Tovar", "Urrutia"]
_ORG_WORDS = ["National", "Border", "Federal", "Regional", "Institute", "Council", "Agency", "Commission", "Union",
              "Bank", "Network", "Alliance", "Office", "Foundation", "Service"]
_SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "pe", "go", "ze", "ti", "ba", "ru", "fe", "ni", "cho"]


def _vocabulary(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct invented words of 3-4 syllables (stemming cannot conflate them: they end in vowels)."""
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((3, 4)))))
    return sorted(words)


def _world(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    persons = sorted({f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(400)})[:120]
    orgs = sorted({" ".join(rng.sample(_ORG_WORDS, 3)) for _ in range(200)})[:50]
    return {"persons": persons, "orgs": orgs, "vocab": _vocabulary(rng, 3000),
            "domains": [f"outlet{i}.example" for i in range(30)]}


def generate_articles(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` contract documents (see the module docstring). ~8% are duplicates of an earlier one."""
    world = _world(seed)
    rng = random.Random(seed + 1)
    docs: list[dict[str, Any]] = []
    for i in range(n):
        url = f"https://bench.example/{seed}/{i}"
        doc_id = f"bench-{seed}-{i}"
        if i > 20 and rng.random() < 0.08:
            orig = docs[rng.randrange(len(docs))]
            dup = {**orig, "id": doc_id, "url": url, "canonical_url": url,
                   "source": {"domain": rng.choice(world["domains"]), "feed_url": "https://bench.example/feed"},
                   "dedupe": {"content_hash": doc_id, "cluster_id": orig["dedupe"]["cluster_id"],
                              "duplicate_of": orig["dedupe"]["cluster_id"]}}
            docs.append(dup)
            continue
        persons = rng.sample(world["persons"], rng.randint(1, 4))
        orgs = rng.sample(world["orgs"], rng.randint(0, 3))
        places = rng.sample(PLACES, rng.randint(1, 3))
        topics = rng.sample(TOPICS, rng.randint(1, 2))
        words = [rng.choice(world["vocab"]) for _ in range(rng.randint(60, 140))]
        title_words = [rng.choice(world["vocab"]) for _ in range(rng.randint(4, 8))]
        quotes = []
        for _ in range(rng.randint(0, 3)):
            speaker = rng.choice(persons) if rng.random() < 0.85 else None
            quotes.append({"text": " ".join(rng.choice(world["vocab"]) for _ in range(8)), "speaker": speaker,
                           "speaker_text": speaker.split()[-1] if speaker else None, "verb": "said", "start": 0, "end": 0})
        docs.append({
            "id": doc_id, "url": url, "canonical_url": url,
            "title": f"{' '.join(title_words).capitalize()} in {places[0][0]}",
            "body": f"{persons[0]} spoke in {places[0][0]}. " + " ".join(words),
            "language": "en" if rng.random() < 0.85 else "es",
            "published_at": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00+00:00",
            "fetched_at": "2026-11-29T00:00:00+00:00",
            "source": {"domain": rng.choice(world["domains"]), "feed_url": "https://bench.example/feed"},
            "persons": [{"name": p, "mentions": rng.randint(1, 4)} for p in persons],
            "organizations": [{"name": o, "mentions": 1} for o in orgs],
            "locations": [{"name": p[0], "geonames_id": 0, "country_code": p[3], "admin1": None, "feature": "city",
                           "lat": p[1], "lon": p[2], "mentions": 1} for p in places],
            "countries": sorted({p[3] for p in places}),
            "quotes": quotes, "topics": topics,
            "dedupe": {"content_hash": doc_id, "cluster_id": doc_id, "duplicate_of": None},
        })
    return docs


def generate_searches(n: int, seed: int = 11) -> list[Any]:
    """``n`` saved searches mixing every filter type (query strings, persons, organizations,
    speakers, countries, topics, language, domains, near), most combining two criteria."""
    from pipeline.alerts.searches import SavedSearch

    world = _world(seed)
    rng = random.Random(seed + 2)
    vocab = world["vocab"]
    out = []
    for i in range(n):
        kind = i % 10
        f: dict[str, Any] = {}
        query = None
        if kind == 0:
            query = f"{rng.choice(vocab)} AND {rng.choice(vocab)}"
        elif kind == 1:
            query = f"{rng.choice(vocab)} AND ({rng.choice(vocab)} OR {rng.choice(vocab)})"
        elif kind == 2:
            f["persons"] = [rng.choice(world["persons"])]
            f["topics"] = [rng.choice(TOPICS)]
        elif kind == 3:
            f["speakers"] = [rng.choice(world["persons"])]
        elif kind == 4:
            f["organizations"] = [rng.choice(world["orgs"])]
            f["countries"] = [rng.choice(PLACES)[3]]
        elif kind == 5:
            p = rng.choice(PLACES)
            f["near"] = {"lat": p[1], "lon": p[2], "distance_km": rng.choice((25, 50, 100, 200))}
            f["topics"] = [rng.choice(TOPICS)]
        elif kind == 6:
            f["countries"] = [rng.choice(PLACES)[3]]
            f["topics"] = rng.sample(TOPICS, 1)
            f["language"] = "es"
        elif kind == 7:
            f["domains"] = [rng.choice(world["domains"])]
            f["topics"] = [rng.choice(TOPICS)]
        elif kind == 8:
            query = f"title:{rng.choice(vocab)}"
        else:
            p = rng.choice(PLACES)
            query = rng.choice(vocab)
            f["near"] = {"lat": p[1], "lon": p[2], "distance_km": 300}
        out.append(SavedSearch.model_validate({"id": f"bench-{i:04d}", "name": f"bench search {i}", "query": query, **f}))
    return out


def _expected_pairs(engine, searches, docs_by_id: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """Brute force: run every search's query as a normal search over the articles (duplicates out)."""
    from pipeline.alerts.searches import to_percolator_query

    index = engine.alias("articles")
    expected: set[tuple[str, str]] = set()
    chunk = 50
    for start in range(0, len(searches), chunk):
        part = searches[start:start + chunk]
        bodies = [{"query": {"bool": {"must": [to_percolator_query(s)],
                                      "must_not": [{"exists": {"field": "dedupe.duplicate_of"}}]}},
                   "size": 10_000, "_source": False, "track_total_hits": True} for s in part]
        for s, resp in zip(part, engine.msearch(index, bodies)):
            if "error" in resp:
                raise RuntimeError(f"brute-force search {s.id} failed: {resp['error']}")
            hits = resp["hits"]["hits"]
            if resp["hits"]["total"]["value"] > len(hits):
                raise RuntimeError(f"search {s.id} matches more than 10,000 articles; lower --articles")
            for h in hits:
                expected.add((s.id, docs_by_id[h["_id"]]["dedupe"]["cluster_id"]))
    return expected


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def python_matches(search, doc: dict[str, Any]) -> bool:
    """Evaluate a saved search WITHOUT a query string on a contract document in plain Python
    (the filter semantics of :mod:`pipeline.alerts.searches`); ValueError for a search with a query."""
    if search.query:
        raise ValueError("query strings are not evaluated in Python")
    f = search.filters

    def any_name(wanted: list[str], names: list[str]) -> bool:
        folded = {_fold(n) for n in names if n}
        return any(_fold(w) in folded for w in wanted)

    if f.persons and not any_name(f.persons, [p.get("name") for p in doc.get("persons") or []]):
        return False
    if f.organizations and not any_name(f.organizations, [o.get("name") for o in doc.get("organizations") or []]):
        return False
    if f.speakers and not any_name(f.speakers, [q.get("speaker") for q in doc.get("quotes") or []]):
        return False
    if f.countries and not set(f.countries) & set(doc.get("countries") or []):
        return False
    if f.topics and not set(f.topics) & set(doc.get("topics") or []):
        return False
    if f.language and doc.get("language") != f.language:
        return False
    if f.domains and _fold((doc.get("source") or {}).get("domain") or "") not in f.domains:
        return False
    if f.near is not None:
        points = [(loc["lat"], loc["lon"]) for loc in doc.get("locations") or [] if loc.get("lat") is not None]
        if not any(haversine_km(f.near.lat, f.near.lon, la, lo) <= f.near.distance_km for la, lo in points):
            return False
    return True


def _python_expected_pairs(searches, docs) -> tuple[set[tuple[str, str]], set[str]]:
    """Brute force in Python for the searches without a query string: every search on every
    (non-duplicate) article. Returns the expected pairs and the ids of the searches checked."""
    checked = {s.id for s in searches if not s.query}
    originals = [d for d in docs if not d["dedupe"]["duplicate_of"]]
    expected = {(s.id, d["dedupe"]["cluster_id"]) for s in searches if s.id in checked
                for d in originals if python_matches(s, d)}
    return expected, checked


def _recorded_pairs(engine) -> Counter:
    index = engine.alias("alerts")
    engine.refresh(index)
    body: dict[str, Any] = {"query": {"match_all": {}}, "size": 5000, "sort": [{"alert_id": "asc"}],
                            "_source": ["search_id", "cluster_id"]}
    counts: Counter = Counter()
    while True:
        hits = engine.search(index, body)["hits"]["hits"]
        for h in hits:
            counts[(h["_source"]["search_id"], h["_source"]["cluster_id"])] += 1
        if len(hits) < 5000:
            return counts
        body["search_after"] = hits[-1]["sort"]


def run(settings, *, n_searches: int = 1000, n_articles: int = 5000, batch: int = 50, seed: int = 11,
        keep: bool = False, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); return the result dict.

    Raises EngineError when the engine cannot be reached.
    """
    from pipeline.alerts.percolate import match_alerts
    from pipeline.index.engine import SearchEngine
    from pipeline.index.bulk import index_batch
    from pipeline.alerts.searches import SavedSearchStore

    import os

    progress = progress or (lambda *_: None)
    load_before = os.getloadavg()[0]
    prefix = f"{settings.index_prefix}-bench-{uuid.uuid4().hex[:6]}"
    s = settings.model_copy(update={"index_prefix": prefix})
    engine = SearchEngine.from_settings(s)
    try:
        engine.ensure_setup()
        progress("storing saved searches", 0, n_searches)
        searches = generate_searches(n_searches, seed)
        store = SavedSearchStore(engine, s)
        for start in range(0, len(searches), 250):
            store.bulk_add(searches[start:start + 250], validate=False)
            progress("storing saved searches", min(start + 250, n_searches), n_searches)
        docs = generate_articles(n_articles, seed)
        rng = random.Random(seed + 3)
        batches = [docs[i:i + batch] for i in range(0, len(docs), batch)]
        redeliveries = 0
        for bi in range(1, len(batches)):
            if rng.random() < 0.02 * batch:  # ~2% of the articles are handed over twice
                batches[bi] = batches[bi] + [rng.choice(batches[rng.randrange(bi)])]
                redeliveries += 1
        latencies: list[float] = []
        returned: Counter = Counter()
        index_s = alerts_s = 0.0
        failed = 0
        t_start = time.perf_counter()
        done = 0
        for b in batches:
            t0 = time.perf_counter()
            enqueued_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            handed = [{**d, "enqueued_at": enqueued_at} for d in b]
            res = index_batch(engine, handed)
            failed += len(res.failed)
            t1 = time.perf_counter()
            events = match_alerts(engine, handed)
            t2 = time.perf_counter()
            index_s += t1 - t0
            alerts_s += t2 - t1
            latencies.extend([t2 - t0] * len(events))
            for ev in events:
                returned[(ev.search_id, ev.cluster_id)] += 1
            done += len(b)
            progress("indexing and matching", min(done, n_articles + redeliveries), n_articles + redeliveries)
        wall = time.perf_counter() - t_start
        progress("brute-force check", 0, 0)
        engine.refresh(engine.alias("articles"))
        expected = _expected_pairs(engine, searches, {d["id"]: d for d in docs})
        recorded = _recorded_pairs(engine)
        progress("brute-force check in Python", 0, 0)
        py_expected, py_checked = _python_expected_pairs(searches, docs)
        py_recorded = {pair for pair in recorded if pair[0] in py_checked}
        latencies.sort()
        duplicated = sum(c - 1 for c in returned.values() if c > 1) + sum(c - 1 for c in recorded.values() if c > 1)
        return {
            "engine": engine.info().get("version", {}).get("number"),
            "searches": n_searches,
            "articles": n_articles,
            "duplicates_in_input": sum(1 for d in docs if d["dedupe"]["duplicate_of"]),
            "redeliveries": redeliveries,
            "batch_size": batch,
            "batches": len(batches),
            "alerts": sum(returned.values()),
            "expected_alerts": len(expected),
            "latency_s": {"p50": _r(percentile(latencies, 0.5)), "p95": _r(percentile(latencies, 0.95)),
                          "max": _r(latencies[-1] if latencies else None)},
            "missed": len(expected - set(recorded)),
            "duplicated": duplicated,
            "unexpected": len(set(recorded) - expected),
            "index_failed": failed,
            "index_s_per_batch": _r(index_s / len(batches)) if batches else None,
            "alerts_s_per_batch": _r(alerts_s / len(batches)) if batches else None,
            "articles_per_s": round((n_articles + redeliveries) / wall, 1) if wall else None,
            "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2),
                            "cpus": os.cpu_count()},
            "check": "per-search engine queries over the indexed articles (duplicates excluded)",
            "python_check": {"searches": len(py_checked), "expected_alerts": len(py_expected),
                             "missed": len(py_expected - py_recorded), "unexpected": len(py_recorded - py_expected)},
        }
    finally:
        if not keep:
            engine.delete_all()
        engine.close()


def _r(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench alerts``."""

    @bench_app.command("alerts")
    def alerts_cmd(
        searches: int = typer.Option(1000, "--searches", min=1, help="Saved searches."),
        articles: int = typer.Option(5000, "--articles", min=1, help="Generated articles."),
        batch: int = typer.Option(50, "--batch", min=1, max=500, help="Articles per index/alerts batch."),
        seed: int = typer.Option(11, "--seed", help="Random seed of the generated data."),
        keep: bool = typer.Option(False, "--keep", help="Keep the benchmark's indices (default: delete them)."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Alert latency (hand-off to index -> alert recorded) and missed/duplicated alerts against a brute-force check."""
        from pipeline.logs import configure_logging
        from pipeline.settings import get_settings

        settings = get_settings()
        # one info line per batch would bury the progress bar; warnings and errors still show
        configure_logging("WARNING", settings.log_format)
        with progress() as on_progress:
            try:
                result = run(settings, n_searches=searches, n_articles=articles, batch=batch, seed=seed,
                             keep=keep, progress=on_progress)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports why it could not run
                raise fail(f"alerts benchmark failed: {exc}")
        report("alerts", result, fmt, title="Alerts benchmark (target: p95 < 2 s, missed = duplicated = 0)")
