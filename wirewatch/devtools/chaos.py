"""Failure drills: real failures injected into a real pipeline, then a count of what was lost
or doubled.

Everything runs on a :class:`Rig`: its OWN Redis and OpenSearch (started through
:mod:`wirewatch.devtools.services` with a copy of the settings whose ``state_dir`` is a temporary folder
and whose ports are not the shared development ones), a :class:`~wirewatch.devtools.loadgen.GeneratedSite`
per scenario, and real ``wirewatch worker`` processes on separate queues
(:data:`CHAOS_LAYOUT`). The rig may stop, kill and restart those services and workers at will
and shuts them all down at the end. It never touches services it did not start (the
``LocalRedis``/``LocalOpenSearch`` PID files live in the rig's own ``state_dir``).

Scenarios (:data:`SCENARIOS`), each with its own site (new URLs, so new document ids):

- ``kill_enrich``: SIGKILL the enrich pool process that is running a task; Celery's
  ``reject_on_worker_lost`` requeues its message.
- ``kill_index``: SIGKILL the whole index worker (main process and threads) while an
  ``index_batch`` message is in flight, start a new one; Redis redelivers the unacknowledged
  message after ``broker_visibility_timeout_s``.
- ``opensearch_down``: SIGTERM the OpenSearch node for :data:`OUTAGE_S` seconds during
  ingestion, then start it again; index tasks retry with backoff.
- ``redis_restart``: SIGTERM Redis (append-only file on) during ingestion and start it again
  on the same data; workers reconnect.
- ``poison``: some articles carry ``Settings.chaos_poison_marker``; enrich raises for them and
  they must end in the dead letters with reason ``chaos_poison``, the rest indexed.
- ``notify_down``: a saved search whose webhook points at a closed port; alerts are still
  recorded (once each), the failed notifications are dead-lettered.

After each, :func:`verify` checks the index against the site's expected ids: ``lost`` (expected,
not poison, not indexed), ``duplicated`` (documents beyond one per expected article, or ids
that should not exist), alert events per (saved search, story cluster) and the dead letters.
The workers run with ``task_ledger`` on, so each drill also counts executions per task id:
``tasks_run_twice`` (task ids whose body started more than once: redeliveries after a kill,
retries; expected) and ``steps_doubled`` (a side-effect step, :mod:`pipeline.once`, that ran
twice for one task id: must be 0).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter as Tally
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import redis as redis_lib

from pipeline.logs import get_logger
from pipeline.settings import Settings
from wirewatch.devtools.loadgen import GeneratedSite
from wirewatch.devtools.procstats import children, cpu_seconds, process_tree
from wirewatch.processes import ProcessGroup, start_processes

log = get_logger(__name__)

#: Worker layout of the drills and of ``bench e2e``: one process per queue family, so a
#: drill can kill the index worker without touching fetch or enrich (the scaling doc's
#: one-machine test).
CHAOS_LAYOUT = (
    {"name": "io", "queues": "poll,fetch,alerts", "pool": "threads", "concurrency": 8},
    {"name": "index", "queues": "index", "pool": "threads", "concurrency": 4},
    {"name": "enrich", "queues": "enrich", "pool": "prefork", "concurrency": max(1, os.cpu_count() or 1)},
)
#: Seconds the OpenSearch node stays down in ``opensearch_down`` (the issue asks for 30).
OUTAGE_S = 30.0
#: Visibility timeout of the drills, seconds: low so a SIGKILLed worker's message comes back
#: within the run (production keeps 3600).
DRILL_VISIBILITY_S = 20
#: Marker planted into poison articles.
POISON_MARKER = "WW-CHAOS-POISON-7f3a"
#: Saved search used to check alerts: matches generated articles about migrants.
ALERT_QUERY = "migrants"
#: Default ports of the rig's own services (never the shared 6390/9251).
BENCH_REDIS_PORT = 6395
BENCH_OPENSEARCH_BASE_PORT = 9270


# --- the rig -------------------------------------------------------------------------------

def isolated_settings(base: Settings, *, state_dir: Path, redis_port: int, opensearch_base_port: int,
                      tag: str = "chaos", **overrides: Any) -> Settings:
    """A copy of ``base`` pointing at the rig's own services (127.0.0.1 ``redis_port`` and
    OpenSearch on ``opensearch_base_port + 1``), with ``state_dir``, key/index prefixes from
    ``tag``, 127.0.0.1 allowed for fetching, no politeness delay towards it (the generated site
    is ours), fast beat and short notification retries. ``overrides`` win.
    Raises ``ValueError`` when asked for the shared development ports (6390, 9250).
    """
    if redis_port == 6390 or opensearch_base_port == 9250:
        raise ValueError("the failure rig must not use the shared development services (6390 / 9250)")
    values: dict[str, Any] = {
        "state_dir": Path(state_dir), "redis_port": redis_port, "redis_url": f"redis://127.0.0.1:{redis_port}/0",
        "search_engine": "opensearch", "opensearch_base_port": opensearch_base_port, "search_url": f"http://127.0.0.1:{opensearch_base_port + 1}",
        "redis_key_prefix": f"ww{tag}", "index_prefix": f"ww{tag}", "index_replicas": 0,
        "fetch_allow_hosts": ["127.0.0.1"], "notify_allow_hosts": ["127.0.0.1"], "host_min_delay_s": 0.0, "host_max_concurrency": 32,
        "beat_interval_s": 1.0, "notify_max_attempts": 2, "notify_backoff_base_s": 0.2, "notify_backoff_max_s": 1.0,
        "notify_timeout_s": 3.0, "metrics_port": -1, "log_level": "INFO",
    }
    values.update(overrides)
    return base.model_copy(update=values)


def free_ports(*, opensearch_range: tuple[int, int] = (9256, 9298)) -> tuple[int, int]:
    """``(redis_port, opensearch_base_port)`` that nothing listens on now: an ephemeral port for
    Redis and a random base in ``opensearch_range`` whose HTTP port (base + 1) is free (the
    runner caps HTTP ports at 9299). Tests use it so parallel sessions do not collide.
    Raises ``OSError`` when no base is free."""
    import random
    import socket

    def free(port: int) -> bool:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
            return True

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        redis_port = sock.getsockname()[1]
    bases = list(range(*opensearch_range))
    random.shuffle(bases)
    for base in bases:
        if base not in (9250, 9270, 9272) and free(base + 1):
            return redis_port, base
    raise OSError(f"no free OpenSearch base port in {opensearch_range}")


class Rig:
    """Own services + workers for drills and benchmarks. Use as a context manager.

    ``settings`` come from :func:`isolated_settings`; ``layout`` is the worker layout;
    ``env`` extra ``WIREWATCH_*`` variables for the workers. ``start()`` brings Redis and
    OpenSearch up (``timeout_s`` for the node), creates the indices and starts the workers;
    ``close()`` stops workers and both services and, when ``cleanup``, deletes the state folder.
    Raises :class:`pipeline.errors.ServiceError` when a service cannot start.
    """

    def __init__(self, settings: Settings, *, layout=CHAOS_LAYOUT, env: dict[str, str] | None = None,
                 cleanup: bool = True):
        from wirewatch.devtools.services.opensearch_node import LocalOpenSearch
        from wirewatch.devtools.services.redis_server import LocalRedis

        self.settings = settings
        self.layout = layout
        self.env = dict(env or {})
        self.cleanup = cleanup
        self.redis_svc = LocalRedis(settings)
        self.search_svc = LocalOpenSearch(settings)
        self.group: ProcessGroup | None = None
        self._redis: redis_lib.Redis | None = None
        self._engine = None
        self.restarts = 0
        #: ``(monotonic time, message)`` of every restart the supervisor made.
        self.supervisor_events: list[tuple[float, str]] = []
        self._lock = threading.RLock()
        self._stop_supervisor = threading.Event()
        self._supervisor: threading.Thread | None = None

    # lifecycle
    def start(self, *, workers: bool = True, timeout_s: float = 240.0) -> "Rig":
        """Start services, create indices, then (optionally) the workers; returns self.

        Raises :class:`pipeline.errors.ServiceError` when a port already answers with a service
        the rig did not start (another session's): drills must own what they break.
        """
        from pipeline.errors import ServiceError

        for svc, kwargs in ((self.redis_svc, {}), (self.search_svc, {"timeout_s": timeout_s})):
            state = svc.up(**kwargs)
            if state == "external":
                raise ServiceError(f"{svc.name} at {svc.url} is already running and is not ours; "
                                   "choose other ports (--redis-port / --opensearch-base-port)")
        self.engine.ensure_setup()
        if workers:
            self.start_workers()
        return self

    def start_workers(self, *, supervise: bool = True) -> None:
        """Start one ``wirewatch worker`` per layout entry and one ``wirewatch beat``; with
        ``supervise``, restart any of them that exits (see :meth:`_supervise`)."""
        self.group = start_processes(self.settings, env=self.env, layout=self.layout, beat=True,
                                     log_dir=Path(self.settings.state_dir) / "logs", tag="")
        if supervise and self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, name="rig-supervisor", daemon=True)
            self._supervisor.start()

    def _supervise(self, interval_s: float = 1.0) -> None:
        """Restart workers (and beat) that exited, as a process supervisor does in production
        (systemd ``Restart=always``, Docker ``restart: unless-stopped``). Celery workers do exit
        on some broker failures: with Redis 7 / kombu 5.7 a threads-pool worker holding
        unacknowledged messages when Redis goes away ends with "Unrecoverable error:
        AttributeError('NoneType' object has no attribute 'hostname')"."""
        while not self._stop_supervisor.wait(interval_s):
            with self._lock:
                if self.group is None:
                    continue
                for name, ok in list(self.group.alive().items()):
                    if ok:
                        continue
                    code = self.group.procs[name].returncode
                    self.restart_worker(name)
                    msg = f"supervisor restarted {name} (exit code {code})"
                    self.supervisor_events.append((time.monotonic(), msg))
                    log.warning("rig_worker_restarted", worker=name, exit_code=code)

    def wait_workers_ready(self, timeout_s: float = 180.0) -> None:
        """Wait until every worker's log says it is ready (``ready.``); raises TimeoutError or
        RuntimeError when one exited."""
        deadline = time.monotonic() + timeout_s
        assert self.group is not None
        pending = {w["name"] for w in self.layout}
        while pending:
            for name in list(pending):
                logf = Path(self.group.log_dir or ".") / f"{name}.log"
                text = logf.read_text(errors="replace") if logf.exists() else ""
                if "ready." in text:
                    pending.discard(name)
                elif self.group.procs[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited; see {logf}")
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"workers {sorted(pending)} not ready after {timeout_s:.0f}s")
            time.sleep(0.5)

    def close(self) -> None:
        """Stop workers, then OpenSearch and Redis; delete the state folder when ``cleanup``."""
        self._stop_supervisor.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
        try:
            if self.group is not None:
                self.group.stop(timeout_s=20)
        finally:
            if self._engine is not None:
                try:
                    self._engine.close()
                except Exception:  # noqa: BLE001
                    pass
            self.search_svc.down()
            self.redis_svc.down()
            if self.cleanup:
                shutil.rmtree(self.settings.state_dir, ignore_errors=True)

    def __enter__(self) -> "Rig":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # clients
    @property
    def redis(self) -> redis_lib.Redis:
        """A client on the rig's Redis (reconnects on its own after a restart)."""
        if self._redis is None:
            self._redis = redis_lib.Redis.from_url(self.settings.redis_url, socket_connect_timeout=3, socket_timeout=10,
                                                   retry_on_timeout=True)
        return self._redis

    @property
    def engine(self):
        """The search-engine adapter on the rig's node."""
        if self._engine is None:
            from pipeline.index.engine import SearchEngine

            self._engine = SearchEngine.from_settings(self.settings)
        return self._engine

    # processes
    def worker_pid(self, name: str) -> int:
        """PID of the ``wirewatch worker`` main process called ``name``."""
        assert self.group is not None
        return self.group.procs[name].pid

    def kill_worker(self, name: str, *, restart: bool = True) -> list[int]:
        """SIGKILL worker ``name`` and its pool (its process group), then (``restart``) start a
        new one at once; return the PIDs killed."""
        with self._lock:
            pid = self.worker_pid(name)
            pids = process_tree(pid)
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.group.procs[name].wait(timeout=30)  # type: ignore[union-attr]
            if restart:
                self.restart_worker(name)
        return pids

    def restart_worker(self, name: str) -> None:
        """Start a new process for layout entry ``name`` (or beat) in place of the old one."""
        with self._lock:
            spec = tuple(w for w in self.layout if w["name"] == name)
            self.restarts += 1
            group = start_processes(self.settings, env=self.env, layout=spec, beat=name == "beat",
                                    log_dir=Path(self.settings.state_dir) / "logs", tag=f"-r{self.restarts}")
            self.group.procs[name] = group.procs[name]  # type: ignore[union-attr]

    def events_since(self, t: float) -> list[str]:
        """Supervisor messages recorded after monotonic time ``t``."""
        return [m for when, m in self.supervisor_events if when >= t]

    def busy_pool_child(self, name: str, window_s: float = 0.15) -> int | None:
        """A pool process of worker ``name`` that used CPU during the last ``window_s``
        (so it is running a task), or None."""
        kids = children(self.worker_pid(name))
        before = {k: cpu_seconds(k) for k in kids}
        time.sleep(window_s)
        busy = sorted(((cpu_seconds(k) - before[k], k) for k in kids), reverse=True)
        return busy[0][1] if busy and busy[0][0] > 0 else None

    # queues
    def in_flight(self) -> list[str]:
        """Task names of messages delivered and not yet acknowledged (kombu's ``unacked`` hash)."""
        key = f"{self.settings.redis_key_prefix}:celery:unacked"
        names = []
        try:
            for raw in self.redis.hvals(key):
                try:
                    msg = json.loads(raw)[0]
                    names.append((msg.get("headers") or {}).get("task", "?"))
                except (ValueError, IndexError, AttributeError):
                    names.append("?")
        except redis_lib.RedisError:
            pass
        return names

    def idle(self) -> bool:
        """True when no message waits in a queue, none is in flight and no retry is scheduled."""
        from wirewatch.queues import queue_depths

        try:
            return not any(queue_depths(self.redis, self.settings).values())
        except redis_lib.RedisError:
            return False


# --- one scenario's data --------------------------------------------------------------------

class _Receiver:
    """A local webhook endpoint that counts deliveries per (search_id, article_id)."""

    def __init__(self):
        self.deliveries: Tally = Tally()
        lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    body = {}
                ev = body.get("event") or body.get("alert") or body
                key = (str(ev.get("search_id")), str(ev.get("article_id")))
                with lock:
                    outer.deliveries[key] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@dataclass
class ScenarioResult:
    """What one drill produced. ``sent``: articles served by the site; ``indexed``: distinct
    expected documents in the index; ``lost``: expected (non-poison) articles missing;
    ``duplicated``: index documents beyond one per expected article plus unexpected ids;
    ``dead_lettered``: dead letters about this scenario's articles; ``alerts`` /
    ``alerts_expected`` / ``alerts_doubled``: alert events of the scenario's saved search, the
    documents that match it, and (search, cluster) pairs with more than one event;
    ``marked_duplicate``: documents of the batch wrongly flagged as near-duplicates (a
    redelivered fetch deduped against itself); ``notifications_doubled``: webhook deliveries received more than once (at-least-once
    notifications); ``poison_dead_lettered``: poison articles found in the dead letters with
    reason ``chaos_poison``; ``tasks_run_twice``: task ids whose body started more than once
    (the execution ledger); ``steps_doubled``: (task id, step) pairs whose side effects ran more
    than once; ``notes``: what was injected and when."""

    scenario: str
    sent: int = 0
    indexed: int = 0
    lost: int = 0
    duplicated: int = 0
    dead_lettered: int = 0
    poison: int = 0
    poison_dead_lettered: int = 0
    alerts: int = 0
    alerts_expected: int = 0
    alerts_doubled: int = 0
    notifications: int = 0
    notifications_doubled: int = 0
    notifications_dead_lettered: int = 0
    marked_duplicate: int = 0
    tasks_run_twice: int = 0
    steps_doubled: int = 0
    elapsed_s: float = 0.0
    lost_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was lost or doubled, no alert doubled and every poison article is
        dead-lettered with its reason."""
        return (self.lost == 0 and self.duplicated == 0 and self.alerts_doubled == 0 and self.marked_duplicate == 0
                and self.alerts == self.alerts_expected and self.poison_dead_lettered == self.poison
                and self.steps_doubled == 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (``ok`` included)."""
        return {**asdict(self), "ok": self.ok}


class Batch:
    """One scenario's articles: a generated site, its feeds registered in the rig's registry
    and a saved search (``migrants``) whose webhook is a local receiver or, with
    ``webhook_down``, a closed port."""

    def __init__(self, rig: Rig, name: str, articles: int, *, seed: int, poison: int = 0, webhook_down: bool = False,
                 feeds: int = 4):
        from pipeline.feeds.registry import FeedRegistry
        from pipeline.alerts.searches import SavedSearch, SavedSearchStore

        self.rig = rig
        self.name = name
        poison_idx = set(range(1, 1 + 7 * poison, 7)) if poison else set()
        self.site = GeneratedSite(articles, feeds=feeds, seed=seed, poison=poison_idx,
                                  poison_marker=POISON_MARKER if poison else None)
        self.site.start()
        self.receiver = _Receiver()
        url = f"http://127.0.0.1:{_closed_port()}/hook" if webhook_down else self.receiver.url
        self.search = SavedSearch(id=f"chaos-{name}".replace("_", "-"), name=f"Chaos {name}", query=ALERT_QUERY,
                                  notify=[{"type": "webhook", "url": url}])
        self.store = SavedSearchStore(rig.engine, rig.settings)
        self.store.add(self.search, replace=True)
        self.rig.engine.refresh(rig.engine.alias("searches"))
        self.t0 = self.t_mono = time.monotonic()
        registry = FeedRegistry(rig.redis, rig.settings)
        # the execution ledger counts this scenario's tasks from here on
        prefix = rig.settings.redis_key_prefix
        rig.redis.delete(f"{prefix}:ledger:runs", f"{prefix}:ledger:steps")
        for url in self.site.feed_urls:
            registry.add(url, title=f"chaos {name}")

    def close(self) -> None:
        """Stop the site and the receiver; disable the saved search (so later batches do not match it)."""
        self.site.stop()
        self.receiver.close()
        try:
            self.store.disable(self.search.id)
        except Exception:  # noqa: BLE001 - best effort at the end of a drill
            pass

    def indexed_ids(self) -> Tally:
        """``{document id: copies}`` of this batch's documents in the index (by feed URL and by
        expected id, so a document indexed under a wrong id is still counted)."""
        eng = self.rig.engine
        eng.refresh(eng.alias("articles"))
        body = {"size": 10_000, "_source": ["id", "url", "canonical_url"],
                "query": {"bool": {"should": [{"terms": {"source.feed_url": self.site.feed_urls}},
                                              {"ids": {"values": list(self.site.expected_ids())}}]}}}
        hits = eng.search(eng.alias("articles"), body)["hits"]["hits"]
        return Tally(h["_id"] for h in hits)

    def dead_letters(self) -> list[dict]:
        """Dead letters that name one of this batch's article ids (task args or doc payloads) or
        its saved search (notifications)."""
        from pipeline.deadletter import DeadLetters

        ids = set(self.site.expected_ids())
        out = []
        for e in DeadLetters(self.rig.redis, self.rig.settings).list(limit=100_000):
            blob = json.dumps(e.get("payload"), default=str)
            if any(i in blob for i in ids) or self.search.id in blob:
                out.append(e)
        return out

    def progress(self) -> tuple[int, int]:
        """``(indexed distinct expected ids, dead-lettered articles)`` so far."""
        got = self.indexed_ids()
        expected = set(self.site.expected_ids())
        dl = sum(1 for e in self.dead_letters() if not str(e["kind"]).startswith("notification"))
        return len(expected & set(got)), dl

    def wait(self, timeout_s: float = 300.0, on_tick: Callable[[int, int], None] | None = None) -> None:
        """Wait until every article is indexed or dead-lettered and the queues are idle, then
        a little longer for alerts and notifications. Raises TimeoutError with the counts."""
        deadline = time.monotonic() + timeout_s
        n = self.site.n
        quiet_since = None
        while True:
            try:
                done, dl = self.progress()
            except Exception as exc:  # noqa: BLE001 - a service may be down mid-drill
                log.info("chaos_wait_retry", error=str(exc)[:200])
                done, dl = -1, 0
            if on_tick:
                on_tick(max(done, 0), n)
            if done >= 0 and done + dl >= n and self.rig.idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3.0:
                    return
            else:
                quiet_since = None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {done} of {n} indexed, {dl} dead-lettered after {timeout_s:.0f}s; "
                                   f"queues {self._depths()}; logs in {self.rig.settings.state_dir}/logs")
            time.sleep(1.0)

    def _depths(self) -> dict:
        from wirewatch.queues import queue_depths

        try:
            return queue_depths(self.rig.redis, self.rig.settings)
        except redis_lib.RedisError as exc:
            return {"error": str(exc)}

    def verify(self, notes: list[str] | None = None) -> ScenarioResult:
        """Compare the index, alerts and dead letters with what this batch expects."""
        eng = self.rig.engine
        expected = self.site.expected_ids()
        poison = self.site.poison_ids()
        got = self.indexed_ids()
        r = ScenarioResult(self.name, sent=self.site.n, notes=list(notes or []) + self.rig.events_since(self.t_mono))
        r.indexed = len(set(expected) & set(got))
        r.lost_ids = sorted(set(expected) - poison - set(got))
        r.lost = len(r.lost_ids)
        r.duplicated = sum(c - 1 for c in got.values() if c > 1) + sum(c for i, c in got.items() if i not in expected)
        r.duplicated += len(poison & set(got))  # a poison article must not be indexed
        # a redelivered fetch must not mark an article a near-duplicate of itself (the generated
        # stories are all different, so no document of the batch may carry duplicate_of)
        r.marked_duplicate = eng.count(eng.alias("articles"), {"bool": {"filter": [
            {"ids": {"values": sorted(expected)}}, {"exists": {"field": "dedupe.duplicate_of"}}]}})
        dls = self.dead_letters()
        r.dead_lettered = len({e["id"] for e in dls if not str(e["kind"]).startswith("notification")})
        r.poison = len(poison)
        r.poison_dead_lettered = len({i for e in dls if e["reason"] == "chaos_poison"
                                      for i in poison if i in json.dumps(e["payload"])})
        r.notifications_dead_lettered = sum(1 for e in dls if str(e["kind"]).startswith("notification"))
        # alerts: one event per (search, cluster); as many as indexed documents matching the search
        eng.refresh(eng.alias("alerts"))
        body = {"size": 10_000, "query": {"term": {"search_id": self.search.id}}, "_source": ["search_id", "cluster_id", "article_id"]}
        events = [h["_source"] for h in eng.search(eng.alias("alerts"), body)["hits"]["hits"]]
        pairs = Tally((e["search_id"], e["cluster_id"]) for e in events)
        r.alerts = len(events)
        r.alerts_doubled = sum(1 for c in pairs.values() if c > 1)
        from pipeline.alerts.searches import build_query

        q = build_query(self.search.query, self.search.filters)
        q = {"bool": {"must": [q], "filter": [{"ids": {"values": sorted(set(expected) - poison)}}]}}
        r.alerts_expected = eng.count(eng.alias("articles"), q)
        prefix = self.rig.settings.redis_key_prefix
        runs = self.rig.redis.hgetall(f"{prefix}:ledger:runs")
        r.tasks_run_twice = sum(1 for v in runs.values() if int(v) > 1)
        steps = self.rig.redis.hgetall(f"{prefix}:ledger:steps")
        doubled = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in steps.items() if int(v) > 1}
        r.steps_doubled = len(doubled)
        if doubled:
            r.notes.append(f"steps run more than once: {dict(list(doubled.items())[:5])}")
        r.notifications = sum(self.receiver.deliveries.values())
        r.notifications_doubled = sum(1 for c in self.receiver.deliveries.values() if c > 1)
        r.elapsed_s = round(time.monotonic() - self.t0, 1)
        return r


# --- scenarios -------------------------------------------------------------------------------

def _settle(b: Batch, notes: list[str], timeout_s: float) -> None:
    """Wait for ``b`` to settle; a timeout becomes a note (the verification then shows what
    was lost) instead of aborting the remaining drills."""
    try:
        b.wait(timeout_s=timeout_s)
    except TimeoutError as exc:
        notes.append(f"did not settle: {exc}")


def _wait_for(pred: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval_s)
    return False


def scenario_kill_enrich(rig: Rig, n: int, seed: int) -> ScenarioResult:
    """SIGKILL the enrich pool process that is running a task, twice."""
    b = Batch(rig, "kill_enrich", n, seed=seed)
    notes = []
    try:
        for _ in range(2):
            if not _wait_for(lambda: "wirewatch.enrich_article" in rig.in_flight(), 120):
                notes.append("no enrich task seen in flight")
                break
            child = rig.busy_pool_child("enrich")
            if child is None:
                notes.append("no busy enrich pool process found")
                continue
            os.kill(child, signal.SIGKILL)
            notes.append(f"SIGKILL enrich pool pid {child} with {rig.in_flight().count('wirewatch.enrich_article')} enrich in flight")
            time.sleep(2.0)
        _settle(b, notes, 300)
        return b.verify(notes)
    finally:
        b.close()


def scenario_kill_index(rig: Rig, n: int, seed: int) -> ScenarioResult:
    """SIGKILL the whole index worker while an index batch is in flight, then start a new one."""
    b = Batch(rig, "kill_index", n, seed=seed)
    notes = []
    try:
        if _wait_for(lambda: "wirewatch.index_batch" in rig.in_flight(), 180, interval_s=0.01):
            inflight = rig.in_flight().count("wirewatch.index_batch")
            pids = rig.kill_worker("index")
            notes.append(f"SIGKILL index worker pids {pids} with {inflight} index_batch in flight; new worker started")
        else:
            notes.append("no index task seen in flight")
        _settle(b, notes, 300)
        return b.verify(notes)
    finally:
        b.close()


def scenario_opensearch_down(rig: Rig, n: int, seed: int, outage_s: float = OUTAGE_S) -> ScenarioResult:
    """Stop the OpenSearch node (SIGTERM) for ``outage_s`` once indexing has started."""
    b = Batch(rig, "opensearch_down", n, seed=seed)
    notes = []
    try:
        _wait_for(lambda: b.progress()[0] >= max(1, n // 10), 180, interval_s=0.5)
        before = b.progress_safe()
        t = time.monotonic()
        rig.search_svc.down()
        notes.append(f"OpenSearch stopped (SIGTERM) after {before} of {n} indexed")
        time.sleep(max(0.0, outage_s - (time.monotonic() - t)))
        rig.search_svc.up(timeout_s=240)
        notes.append(f"OpenSearch back after {time.monotonic() - t:.0f}s")
        _settle(b, notes, 600)
        return b.verify(notes)
    finally:
        b.close()


def scenario_redis_restart(rig: Rig, n: int, seed: int) -> ScenarioResult:
    """Restart Redis (SIGTERM, AOF on, same data folder) while articles are in flight."""
    b = Batch(rig, "redis_restart", n, seed=seed)
    notes = []
    try:
        _wait_for(lambda: b.progress()[0] >= max(1, n // 5), 180, interval_s=0.5)
        inflight = len(rig.in_flight())
        t = time.monotonic()
        rig.redis_svc.down()
        time.sleep(3.0)
        rig.redis_svc.up()
        notes.append(f"Redis restarted ({time.monotonic() - t:.1f}s down) with {inflight} messages in flight")
        _settle(b, notes, 400)
        return b.verify(notes)
    finally:
        b.close()


def scenario_poison(rig: Rig, n: int, seed: int, poison: int = 2) -> ScenarioResult:
    """``poison`` articles whose body makes enrich raise; they must be dead-lettered."""
    b = Batch(rig, "poison", n, seed=seed, poison=poison)
    notes = [f"{poison} poison articles carry the marker"]
    try:
        _settle(b, notes, 300)
        return b.verify(notes)
    finally:
        b.close()


def scenario_notify_down(rig: Rig, n: int, seed: int) -> ScenarioResult:
    """The saved search's webhook points at a closed port."""
    b = Batch(rig, "notify_down", n, seed=seed, webhook_down=True)
    notes = ["webhook on a closed port"]
    try:
        _settle(b, notes, 300)
        return b.verify(notes)
    finally:
        b.close()


def _progress_safe(self: Batch) -> str:
    try:
        return str(self.progress()[0])
    except Exception:  # noqa: BLE001
        return "?"


Batch.progress_safe = _progress_safe  # type: ignore[attr-defined]

#: name -> scenario function ``(rig, n, seed) -> ScenarioResult``, in run order.
SCENARIOS: dict[str, Callable[[Rig, int, int], ScenarioResult]] = {
    "kill_enrich": scenario_kill_enrich,
    "kill_index": scenario_kill_index,
    "opensearch_down": scenario_opensearch_down,
    "redis_restart": scenario_redis_restart,
    "poison": scenario_poison,
    "notify_down": scenario_notify_down,
}


def drill_settings(base: Settings, state_dir: Path, *, redis_port: int = 6396, opensearch_base_port: int = 9272,
                   tag: str = "chaos") -> Settings:
    """Settings for a drill rig: :func:`isolated_settings` plus the poison marker, the drill
    visibility timeout and the execution ledger."""
    return isolated_settings(base, state_dir=state_dir, redis_port=redis_port, opensearch_base_port=opensearch_base_port,
                             tag=tag, chaos_poison_marker=POISON_MARKER, broker_visibility_timeout_s=DRILL_VISIBILITY_S,
                             task_ledger=True)


def run_scenarios(base: Settings, *, articles: int = 40, names: list[str] | None = None, redis_port: int = 6396,
                  opensearch_base_port: int = 9272, on_event: Callable[[str], None] | None = None,
                  keep_state: bool = False) -> list[ScenarioResult]:
    """Run the drills ``names`` (default: all of :data:`SCENARIOS`) on one rig with
    ``articles`` articles each; return their results. The rig's services and workers are shut
    down at the end. Raises ServiceError when the services cannot start and TimeoutError when
    a drill does not settle."""
    say = on_event or (lambda m: None)
    state = Path(tempfile.mkdtemp(prefix="wirewatch-chaos-"))
    s = drill_settings(base, state, redis_port=redis_port, opensearch_base_port=opensearch_base_port)
    results = []
    with Rig(s, cleanup=not keep_state) as rig:
        say(f"starting Redis :{redis_port} and OpenSearch :{opensearch_base_port + 1} in {state}")
        rig.start()
        rig.wait_workers_ready()
        for k, name in enumerate(names or list(SCENARIOS)):
            say(f"scenario {name}")
            t = time.monotonic()
            res = SCENARIOS[name](rig, articles, 1000 + k)
            res.elapsed_s = round(time.monotonic() - t, 1)
            say(f"scenario {name}: {json.dumps({k2: v for k2, v in res.to_dict().items() if k2 != 'lost_ids'})}")
            results.append(res)
    return results
