"""``wirewatch bench poll``: feeds polled per second by the real poll tasks on real Redis.

Set-up
    * A feed server in its own process (:func:`serve_feeds`): one asyncio event loop on
      127.0.0.1 (a free port), HTTP/1.1 keep-alive, ``TCP_NODELAY``, every response (200 body
      and headers, 304 headers) built before the first request, so a request costs a dict look-up
      and one ``write``. It serves ``--feeds`` (10,000) small RSS feeds at ``/feeds/<i>.xml``:
      every feed has validators (80% ETag and Last-Modified, 10% ETag only, 10% Last-Modified
      only) and answers 304 to a conditional GET that carries its current validators;
      ``--changed`` (3%) of the feeds changed since the registry last saw them (two new entries,
      new validators) and answer 200 with the new body.
    * A benchmark-only copy of the settings: its own ``redis_key_prefix``
      (``<prefix>:benchpoll:<random>``), ``index_prefix``, ``state_dir`` (a temporary folder for
      the workers' logs and metrics), ``fetch_allow_hosts=["127.0.0.1"]`` (the SSRF guard must
      let the local server through), ``host_min_delay_s=0`` and ``host_max_concurrency=10000``.
      **Politeness is therefore effectively off** for this run: every feed lives on one host
      (127.0.0.1) and a real per-host delay would measure the delay, not the pipeline. The
      limiter's Redis round trips (acquire and release of a slot) still happen on every request.
    * The feeds are registered with :meth:`pipeline.feeds.registry.FeedRegistry.add_many` and given the
      state a previous poll would have left (validators, body hash, seen guids, last full fetch
      an hour ago), so that this run is the steady state: most polls are conditional and
      answered 304, the changed feeds are parsed and their two new entries handed on as fetch
      tasks (queued under the benchmark's prefix, not consumed, deleted at the end).
    * Real worker processes: :func:`wirewatch.processes.start_processes` (``wirewatch worker``
      children with the benchmark settings) on the ``poll`` queue only; ``--workers`` processes
      (2) with a ``threads`` pool of ``--concurrency`` (8) each.

Run
    Every feed is due at once (a restart or a big OPML import). The benchmark sends
    ``ceil(feeds / POLL_BATCH)`` ``wirewatch.poll_due_feeds`` tasks, the ones beat sends each
    tick; the workers run them (:meth:`~pipeline.feeds.registry.FeedRegistry.claim_due` then one
    ``wirewatch.poll_feed`` task per feed) and then the polls. The clock runs from the first
    dispatch until the shared ``polled`` counter (:class:`pipeline.stats.Counters`, incremented
    by each poll task) reaches the number of feeds (read every 50 ms).

Figures
    * ``feeds``: polls completed (the ``polled`` counter), ``feeds_per_s`` = feeds / wall time.
    * ``p95_s`` (and ``p50_s``, ``max_s``): per-poll latency, the poll stage's own
      :attr:`pipeline.feeds.poll.PollResult.elapsed_s` (registry read, conditional GET, parse of a
      changed feed, registry write) that the poll task logs in its ``feed_poll_done`` line; with
      workers that do not log it, Celery's ``Task wirewatch.poll_feed[...] succeeded in Xs``
      lines; else the workers' ``wirewatch_stage_seconds{stage="poll"}`` histogram
      (:mod:`workers.metrics`), whose bucket bounds make it coarse (``p95_source`` says which).
      Queue wait is not in it: in a burst of 10,000 feeds the queue wait measures the backlog,
      not a poll.
      ``p95_histogram_le_s`` is that histogram's bucket bound holding the 95th percentile, as a
      cross-check.
    * ``worker_cpu_ms_per_feed``, ``redis_cpu_ms_per_feed``: CPU time of the workers (``/proc``)
      and of the Redis server (``INFO cpu``, every client's share included) per poll;
      ``cpu_bound_estimate_feeds_per_s`` = cores / (worker + feed server + Redis CPU per feed):
      what the cores could sustain with nothing else running. On a machine shared with other
      work the measured ``feeds_per_s`` is lower; ``load_avg_1m`` says how busy it was.
    * ``peak_rss_mb``: the largest sum of resident memory of the worker processes and their
      children, sampled from ``/proc`` every 200 ms (and never below the largest per-process
      ``VmHWM``).
    * ``server``: requests, 304/200 counts, CPU seconds the feed server used during the run,
      and ``capacity_rps``: conditional GETs per second it answered before the run to one
      raw-socket client process (16 keep-alive connections, 8 pipelined requests each): a lower
      bound on what it can serve, to compare with ``feeds_per_s``.

Every Redis key under the benchmark prefix (registry, counters, Celery queues) is deleted at
the end, unless ``--keep``.
"""
from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any, Callable

import typer

from wirewatch.devtools.bench import FORMAT_OPTION, metric_rows, percentile, progress, report
from wirewatch.devtools.procstats import cpu_seconds, peak_rss_mib, process_tree, rss_mib
from wirewatch.output import Format, fail

#: Share of feeds that changed since the registry's last poll (they answer 200 with new entries).
DEFAULT_CHANGED = 0.03
#: Entries in every feed before the change; a changed feed gains :data:`NEW_ENTRIES` more.
ENTRIES_PER_FEED = 5
NEW_ENTRIES = 2
#: Default worker layout: processes x threads. Two processes so both cores run Python (one
#: process is held to one core by the GIL); eight threads each keep requests and Redis round
#: trips overlapping.
DEFAULT_WORKERS = 2
DEFAULT_CONCURRENCY = 8
#: Seconds without progress after which the run is stopped and reported as it stands.
STALL_S = 60.0

_BASE_TIME = 1_790_000_000  # a fixed epoch second for Last-Modified dates (deterministic bodies)


# --------------------------------------------------------------------------------------------
# the feeds (shared by the server and the registry seeding)
# --------------------------------------------------------------------------------------------

def is_changed(i: int, share: float) -> bool:
    """Whether feed ``i`` changed since the last poll: spread evenly, ``share`` of all feeds."""
    if share <= 0:
        return False
    step = max(1, round(1 / share))
    return i % step == step // 2


def validators_kind(i: int) -> str:
    """Which validators feed ``i`` sends: ``both`` (80%), ``etag`` (10%) or ``lm`` (10%)."""
    r = i % 10
    return "etag" if r == 0 else "lm" if r == 1 else "both"


def feed_body(i: int, version: int) -> bytes:
    """RSS 2.0 document of feed ``i`` at ``version`` (1: as the registry saw it; 2: with
    :data:`NEW_ENTRIES` more entries). Deterministic: the same bytes in every process."""
    n = ENTRIES_PER_FEED + (NEW_ENTRIES if version > 1 else 0)
    items = []
    for k in range(n, 0, -1):
        ts = _BASE_TIME + i * 7 + k * 3600
        items.append(
            f"<item><title>Bench story {i}-{k}</title><link>http://bench.invalid/{i}/{k}</link>"
            f"<guid isPermaLink=\"false\">bench-{i}-{k}</guid><pubDate>{formatdate(ts, usegmt=True)}</pubDate>"
            f"<description>Story {k} of bench feed {i}: river crossing reopened after repairs.</description></item>")
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
            f"<title>Bench feed {i}</title><link>http://bench.invalid/{i}</link>"
            f"<description>Feed {i} of the poll benchmark</description>{''.join(items)}</channel></rss>\n").encode()


def feed_validators(i: int, version: int) -> tuple[str | None, str | None]:
    """``(etag, last_modified)`` of feed ``i`` at ``version`` (None where the feed sends none)."""
    kind = validators_kind(i)
    etag = f'"f{i}-v{version}"' if kind in ("both", "etag") else None
    lm = formatdate(_BASE_TIME + i * 7 + version * 86_400, usegmt=True) if kind in ("both", "lm") else None
    return etag, lm


def feed_guids(i: int, version: int = 1) -> list[str]:
    """Guids of feed ``i``'s entries at ``version``."""
    n = ENTRIES_PER_FEED + (NEW_ENTRIES if version > 1 else 0)
    return [f"bench-{i}-{k}" for k in range(n, 0, -1)]


# --------------------------------------------------------------------------------------------
# the feed server (its own process)
# --------------------------------------------------------------------------------------------

def _responses(n_feeds: int, changed: float) -> dict[bytes, tuple[bytes, bytes, bytes | None, bytes | None]]:
    """path -> (200 response, 304 response, etag, last-modified), all as bytes on the wire."""
    out = {}
    for i in range(n_feeds):
        version = 2 if is_changed(i, changed) else 1
        body = feed_body(i, version)
        etag, lm = feed_validators(i, version)
        vh = (f"ETag: {etag}\r\n" if etag else "") + (f"Last-Modified: {lm}\r\n" if lm else "")
        ok = (f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n{vh}"
              f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        nm = f"HTTP/1.1 304 Not Modified\r\n{vh}\r\n".encode()
        out[f"/feeds/{i}.xml".encode()] = (ok, nm, etag.encode() if etag else None, lm.encode() if lm else None)
    return out


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_MAX_HEAD = 16_384


class _FeedProtocol(asyncio.Protocol):
    """HTTP/1.1 GET over keep-alive (pipelined requests allowed); counts in ``stats``:
    [requests, 200s, 304s, 404s]."""

    def __init__(self, table, stats):
        self.table = table
        self.stats = stats
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        out = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head, buf = buf[:end], buf[end + 4:]
            reply, close = self._answer(head)
            out.append(reply)
            if close:
                break
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))
        if close or len(self.buf) > _MAX_HEAD:
            self.transport.close()

    def _answer(self, head: bytes) -> tuple[bytes, bool]:
        stats = self.stats
        stats[0] += 1
        first, _, rest = head.partition(b"\r\n")
        parts = first.split(b" ")
        if len(parts) != 3 or parts[0] != b"GET":
            return _BAD, True
        lower = rest.lower()
        close = b"connection: close" in lower
        entry = self.table.get(parts[1])
        if entry is None:
            stats[3] += 1
            return _NOT_FOUND, close
        ok, nm, etag, lm = entry
        inm = _header(rest, lower, b"if-none-match")
        if inm is not None:  # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since
            fresh = etag is not None and etag in [t.strip() for t in inm.split(b",")]
        else:
            ims = _header(rest, lower, b"if-modified-since")
            fresh = ims is not None and lm is not None and ims == lm
        if fresh:
            stats[2] += 1
            return nm, close
        stats[1] += 1
        return ok, close


def _header(rest: bytes, lower: bytes, name: bytes) -> bytes | None:
    """Value of header ``name`` (lower-case) in the header block ``rest`` (``lower`` is it
    lower-cased), or None."""
    key = b"\r\n" + name + b":"
    pos = (b"\r\n" + lower).find(key)
    if pos < 0:
        return None
    start = pos + len(key) - 2
    end = rest.find(b"\r\n", start)
    return rest[start:end if end >= 0 else len(rest)].strip()


def serve_feeds(n_feeds: int, changed: float, port_conn, stats) -> None:
    """Process entry point: build every response, bind 127.0.0.1:0, send the port through
    ``port_conn`` and serve until the process is terminated. ``stats`` is a shared integer
    array ``[requests, 200, 304, 404]``."""
    table = _responses(n_feeds, changed)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _FeedProtocol(table, stats), "127.0.0.1", 0, backlog=1024,
                                          reuse_address=True)
        port_conn.send(server.sockets[0].getsockname()[1])
        port_conn.close()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class FeedServer:
    """The feed server process: ``with FeedServer(n, changed) as srv: srv.url(i)``."""

    def __init__(self, n_feeds: int, changed: float = DEFAULT_CHANGED):
        self.n_feeds = n_feeds
        self.changed = changed
        ctx = mp.get_context("spawn")
        self.stats = ctx.Array("q", 4, lock=False)
        self._parent, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=serve_feeds, args=(n_feeds, changed, child, self.stats), daemon=True,
                                name="wirewatch-bench-feed-server")
        self.port: int | None = None

    def start(self, timeout_s: float = 60.0) -> "FeedServer":
        """Start the process and wait for its port; raises RuntimeError when it does not come up."""
        self.proc.start()
        if not self._parent.poll(timeout_s):
            self.stop()
            raise RuntimeError("feed server did not start")
        try:
            self.port = int(self._parent.recv())
        except EOFError:
            self.stop()
            raise RuntimeError(f"feed server exited (code {self.proc.exitcode})") from None
        return self

    def url(self, i: int) -> str:
        """URL of feed ``i``."""
        return f"http://127.0.0.1:{self.port}/feeds/{i}.xml"

    def counts(self) -> dict[str, int]:
        """Requests served so far: ``{"requests", "ok_200", "not_modified_304", "not_found_404"}``."""
        r, ok, nm, nf = list(self.stats)
        return {"requests": r, "ok_200": ok, "not_modified_304": nm, "not_found_404": nf}

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process used so far."""
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        """Terminate the server process."""
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(10)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(5)

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _probe_worker(port: int, n_feeds: int, changed: float, seconds: float, conns: int, depth: int, out) -> None:
    reqs = []
    for i in range(min(n_feeds, 512)):
        etag, lm = feed_validators(i, 2 if is_changed(i, changed) else 1)
        h = f"GET /feeds/{i}.xml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        h += f"If-None-Match: {etag}\r\n" if etag else f"If-Modified-Since: {lm}\r\n"
        reqs.append((h + "\r\n").encode())
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    done = 0
    k = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for s in socks:
            batch = b"".join(reqs[(k + j) % len(reqs)] for j in range(depth))
            k += depth
            s.sendall(batch)
        for s in socks:
            got = 0
            data = b""
            while got < depth:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("feed server closed the connection")
                data += chunk
                # 304s carry no body and every probe request is answered 304
                got = data.count(b"\r\n\r\n")
            done += depth
    elapsed = time.perf_counter() - start
    for s in socks:
        s.close()
    out.send(done / elapsed)
    out.close()


def probe_capacity(server: FeedServer, seconds: float = 2.0, conns: int = 16, depth: int = 8) -> float:
    """Conditional GETs per second ``server`` answers (all 304) to one raw-socket client process
    with ``conns`` keep-alive connections and ``depth`` pipelined requests on each: a lower bound
    of the server's capacity (the client is one Python process too)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_probe_worker, args=(server.port, server.n_feeds, server.changed, seconds, conns, depth,
                                                child), daemon=True)
    p.start()
    try:
        if not parent.poll(seconds + 60):
            raise RuntimeError("capacity probe did not finish")
        return float(parent.recv())
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()


# --------------------------------------------------------------------------------------------
# /proc helpers
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------

_SUCCEEDED = re.compile(r"Task wirewatch\.poll_feed\[[^\]]+\] succeeded in ([0-9.eE+-]+)s")


def poll_latencies(log_paths: list[Path]) -> tuple[list[float], str]:
    """Per-poll latencies (s) from the workers' logs and where they came from.

    First choice: ``elapsed_s`` of the ``feed_poll_done`` JSON lines the poll task logs (the
    poll stage's own :attr:`pipeline.feeds.poll.PollResult.elapsed_s`: registry read, conditional
    GET, parse of a changed feed, registry write). Fallback (workers that do not log it):
    Celery's ``Task wirewatch.poll_feed[...] succeeded in Xs`` lines (the whole task).
    Returns ``([], "")`` when neither is there.
    """
    done: list[float] = []
    celery: list[float] = []
    for p in log_paths:
        if not p.exists():
            continue
        with open(p, errors="replace") as fh:
            for line in fh:
                if '"feed_poll_done"' in line:
                    try:
                        done.append(float(json.loads(line[line.index("{"):])["elapsed_s"]))
                    except (ValueError, KeyError, TypeError):
                        pass
                    continue
                m = _SUCCEEDED.search(line)
                if m:
                    celery.append(float(m.group(1)))
    if done:
        return done, "PollResult.elapsed_s (feed_poll_done log lines)"
    if celery:
        return celery, "celery poll_feed task run time (worker log)"
    return [], ""


def task_runtimes(log_paths: list[Path]) -> list[float]:
    """Run times (s) of ``wirewatch.poll_feed`` from Celery's ``succeeded in`` log lines."""
    out: list[float] = []
    for p in log_paths:
        if p.exists():
            with open(p, errors="replace") as fh:
                for line in fh:
                    m = _SUCCEEDED.search(line)
                    if m:
                        out.append(float(m.group(1)))
    return out


def histogram_quantile(metrics_dir: Path, stage: str, q: float) -> float | None:
    """Upper bucket bound holding quantile ``q`` (0-1) of ``wirewatch_stage_seconds{stage}``
    from the workers' Prometheus multiprocess files under ``metrics_dir``; None without data."""
    from workers.metrics import stage_samples

    buckets: dict[float, float] = {}
    for s in stage_samples(metrics_dir):
        if s.name.endswith("_bucket") and s.labels.get("stage") == stage:
            le = float(s.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + s.value
    if not buckets or not buckets.get(float("inf")):
        return None
    total = buckets[float("inf")]
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return le
    return None


# --------------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------------

def bench_settings(settings, tag: str, state_dir: Path):
    """The benchmark's copy of ``settings`` (see the module docstring)."""
    return settings.model_copy(update={
        "redis_key_prefix": f"{settings.redis_key_prefix}:benchpoll:{tag}",
        "index_prefix": f"{settings.index_prefix}-benchpoll-{tag}",
        "state_dir": state_dir,
        "fetch_allow_hosts": ["127.0.0.1"],
        "host_min_delay_s": 0.0,
        "host_max_concurrency": 10_000,
        "metrics_port": -1,
        "log_level": "INFO",
    })


def seed_registry(registry, server: FeedServer, n_feeds: int, changed: float, now: float) -> list[str]:
    """Register every feed and give it the state its last poll left (version 1 validators and
    body hash, seen guids, a 304 streak of 0, last full fetch an hour ago), due now.
    Returns the feed ids in feed order. Raises RuntimeError when a feed did not register."""
    from pipeline.feeds.registry import Feed
    from pipeline.feeds.poll import body_hash

    res = registry.add_many(((server.url(i), f"Bench feed {i}", None) for i in range(n_feeds)), now=now)
    ids = res["added"] + res["existing"]
    if len(ids) != n_feeds or res["invalid"]:
        raise RuntimeError(f"registered {len(ids)} of {n_feeds} feeds ({len(res['invalid'])} invalid)")
    ids = res["added"]  # fresh prefix: all new, in input order
    for i, fid in enumerate(ids):
        etag, lm = feed_validators(i, 1)
        current = Feed(id=fid, url=server.url(i), title=f"Bench feed {i}", added_at=now, next_due=now)
        registry.update(fid, current=current, etag=etag, last_modified=lm, body_hash=body_hash(feed_body(i, 1)),
                        last_success=now - 3600, last_polled=now - 3600, last_full_fetch=now - 3600,
                        last_status="ok", interval_s=900.0, entries_per_day=48.0, total_polls=1,
                        total_entries=ENTRIES_PER_FEED)
        if is_changed(i, changed):
            registry.mark_seen(fid, feed_guids(i, 1), now=now - 3600)
    return ids


class _RssSampler:
    """Samples the summed RSS of a set of process trees every ``interval_s`` in a thread."""

    def __init__(self, pids: list[int], interval_s: float = 0.2):
        import threading

        self.pids = pids
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.hwm_mb = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        """Take one sample now."""
        procs = [p for root in self.pids for p in process_tree(root)]
        self.peak_mb = max(self.peak_mb, sum(rss_mib(p) for p in procs))
        self.hwm_mb = max([self.hwm_mb, *(peak_rss_mib(p) for p in procs)])

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> "_RssSampler":
        self.sample()
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join(5)
        self.sample()


def _wait_ready(group, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(names)
    while pending:
        for name in list(pending):
            logf = Path(group.log_dir) / f"{name}.log"
            text = logf.read_text(errors="replace") if logf.exists() else ""
            if "ready." in text:
                pending.discard(name)
            elif group.procs[name].poll() is not None:
                raise RuntimeError(f"worker {name} exited: {text[-2000:]}")
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"workers {sorted(pending)} not ready after {timeout_s:.0f}s")
        time.sleep(0.2)


def run(settings, *, n_feeds: int = 10_000, changed: float = DEFAULT_CHANGED, workers: int = DEFAULT_WORKERS,
        concurrency: int = DEFAULT_CONCURRENCY, pool: str = "threads", timeout_s: float | None = None,
        keep: bool = False, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the benchmark (see the module docstring) and return the result dict.

    Keys: ``feeds``, ``feeds_per_s``, ``p95_s``, ``peak_rss_mb`` (the issue's), and
    ``expected``, ``elapsed_s``, ``p50_s``, ``max_s``, ``p95_source``, ``statuses``
    (``last_status`` counts over the registry), ``new_entries``, ``errors`` (by reason),
    ``layout``, ``server`` (requests, CPU, capacity), ``politeness``.
    Raises redis errors when Redis is unreachable, RuntimeError/TimeoutError when the server
    or the workers do not start.
    """
    import redis as redis_lib

    from pipeline.feeds.registry import FeedRegistry
    from pipeline.stats import Counters
    from wirewatch.processes import start_processes
    from workers.app import make_app
    from workers.tasks import POLL_BATCH

    progress = progress or (lambda *_: None)
    tag = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-bench-poll-"))
    s = bench_settings(settings, tag, tmp)
    r = redis_lib.Redis.from_url(s.redis_url, socket_connect_timeout=5, socket_timeout=30)
    r.ping()
    server = FeedServer(n_feeds, changed)
    group = None
    app = None
    try:
        progress("starting the feed server", 0, 0)
        server.start()
        progress("measuring the feed server", 0, 0)
        capacity = probe_capacity(server)
        base_counts = server.counts()
        registry = FeedRegistry(r, s)
        progress("registering feeds", 0, n_feeds)
        ids = seed_registry(registry, server, n_feeds, changed, time.time())
        progress("starting workers", 0, 0)
        layout = tuple({"name": f"poll{k}", "queues": "poll", "pool": pool, "concurrency": concurrency}
                       for k in range(workers))
        group = start_processes(s, layout=layout, beat=False, log_dir=tmp / "logs", tag="")
        _wait_ready(group, [w["name"] for w in layout], timeout_s=180)
        counters = Counters(r, s)
        app = make_app(s)
        pids = [p.pid for p in group.procs.values()]
        redis_cpu0 = _redis_cpu_s(r)
        cpu0 = server.cpu_s()
        wcpu0 = sum(cpu_seconds(p) for root in pids for p in process_tree(root))
        limit = timeout_s or max(300.0, n_feeds / 20)
        with _RssSampler(pids) as sampler:
            t0 = time.perf_counter()
            for _ in range(math.ceil(n_feeds / POLL_BATCH)):
                app.send_task("wirewatch.poll_due_feeds")
            done, last_change, last_done = 0, t0, 0
            t_done = t0
            while done < n_feeds:
                time.sleep(0.05)
                done = int(r.hget(counters.key, "polled") or 0)
                now = time.perf_counter()
                if done != last_done:
                    last_done, last_change, t_done = done, now, now
                    progress("polling", done, n_feeds)
                if now - last_change > STALL_S or now - t0 > limit:
                    break
            elapsed = t_done - t0
        cpu1 = server.cpu_s()
        redis_cpu1 = _redis_cpu_s(r)
        wcpu1 = sum(cpu_seconds(p) for root in pids for p in process_tree(root))
        counts = {k: v - base_counts[k] for k, v in server.counts().items()}
        group.stop(timeout_s=30)
        logs = sorted((tmp / "logs").glob("*.log"))
        runtimes, source = poll_latencies(logs)
        runtimes.sort()
        hist_p95 = histogram_quantile(tmp / "metrics", "poll", 0.95)
        if runtimes:
            p50, p95, mx = percentile(runtimes, 0.5), percentile(runtimes, 0.95), runtimes[-1]
        else:
            p95, p50 = hist_p95, histogram_quantile(tmp / "metrics", "poll", 0.50)
            mx, source = None, "wirewatch_stage_seconds{stage=poll} bucket upper bound"
        pipe = r.pipeline(transaction=False)
        for fid in ids:
            pipe.hget(f"{s.redis_key_prefix}:feed:{fid}", "last_status")  # key layout: pipeline.feeds.registry
        statuses: dict[str, int] = {}
        for st in pipe.execute():
            k = (st or b"").decode() or "none"
            statuses[k] = statuses.get(k, 0) + 1
        allc = counters.all()
        errors = {k.split(":", 2)[2]: v for k, v in allc.items() if k.startswith("error:poll:")}
        return {
            "feeds": done,
            "expected": n_feeds,
            "feeds_per_s": round(done / elapsed, 1) if elapsed > 0 else None,
            "elapsed_s": round(elapsed, 3),
            "p50_s": _r(p50), "p95_s": _r(p95), "max_s": _r(mx),
            "p95_source": source,
            "p95_histogram_le_s": hist_p95,
            "latencies": len(runtimes),
            "peak_rss_mb": round(max(sampler.peak_mb, sampler.hwm_mb), 1),
            "worker_cpu_s": round(wcpu1 - wcpu0, 2),
            "worker_cpu_ms_per_feed": round((wcpu1 - wcpu0) * 1000 / done, 2) if done else None,
            "redis_cpu_ms_per_feed": round((redis_cpu1 - redis_cpu0) * 1000 / done, 3) if done else None,
            "cpu_bound_estimate_feeds_per_s": _estimate(done, wcpu1 - wcpu0, cpu1 - cpu0, redis_cpu1 - redis_cpu0),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
            "statuses": statuses,
            "new_entries": allc.get("entries_new", 0),
            "errors": errors,
            "layout": [dict(w) for w in layout],
            "changed_share": changed,
            "server": {**counts, "cpu_s": round(cpu1 - cpu0, 2),
                       "cpu_share_of_run": round((cpu1 - cpu0) / elapsed, 3) if elapsed > 0 else None,
                       "capacity_rps": round(capacity)},
            "politeness": "off for the benchmark: host_min_delay_s=0, host_max_concurrency=10000 (one host serves every feed)",
        }
    finally:
        if group is not None:
            group.stop(timeout_s=30)
        server.stop()
        if app is not None:
            try:
                app.close()
            except Exception:  # noqa: BLE001
                pass
        if not keep:
            delete_keys(r, s.redis_key_prefix)
            shutil.rmtree(tmp, ignore_errors=True)
        r.close()


def _redis_cpu_s(r) -> float:
    """CPU seconds (user + system) the Redis server used since it started (``INFO cpu``)."""
    info = r.info("cpu")
    return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))


def _estimate(done: int, worker_cpu_s: float, server_cpu_s: float, redis_cpu_s: float) -> float | None:
    """Feeds per second the machine's cores could sustain if they ran nothing else: cores /
    CPU seconds per feed (workers + feed server + Redis). Redis's share counts every client of a
    shared Redis, so the estimate errs low; it assumes the work spreads over every core."""
    per_feed = (worker_cpu_s + server_cpu_s + redis_cpu_s) / done if done else 0.0
    return round((os.cpu_count() or 1) / per_feed, 1) if per_feed > 0 else None


def delete_keys(r, prefix: str) -> int:
    """Delete every Redis key under ``prefix`` (``prefix`` itself and ``prefix:*``); returns how many."""
    n = 0
    batch: list[bytes] = []
    for key in r.scan_iter(match=f"{prefix}*", count=2000):
        batch.append(key)
        if len(batch) >= 1000:
            n += r.delete(*batch)
            batch = []
    if batch:
        n += r.delete(*batch)
    return n


def _r(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


def register(bench_app: typer.Typer) -> None:
    """Add ``wirewatch bench poll``."""

    @bench_app.command("poll")
    def poll_cmd(
        feeds: int = typer.Option(10_000, "--feeds", min=1, help="Feeds served and polled."),
        changed: float = typer.Option(DEFAULT_CHANGED, "--changed", min=0.0, max=1.0,
                                      help="Share of feeds that changed (answer 200 with new entries)."),
        workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=1, help="Worker processes on the poll queue."),
        concurrency: int = typer.Option(DEFAULT_CONCURRENCY, "--concurrency", min=1, help="Threads per worker."),
        keep: bool = typer.Option(False, "--keep", help="Keep the benchmark's Redis keys and logs."),
        fmt: Format = FORMAT_OPTION,
    ) -> None:
        """Feeds polled per second by real poll workers against a local server of mostly-304 feeds."""
        from pipeline.settings import get_settings

        with progress() as on_progress:
            try:
                result = run(get_settings(), n_feeds=feeds, changed=changed, workers=workers,
                             concurrency=concurrency, keep=keep, progress=on_progress)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports why it could not run
                raise fail(f"poll benchmark failed: {exc}")
        rows = metric_rows(result, skip=("layout",))
        if "layout" in result:
            rows.append({"metric": "layout", "value": "; ".join(f"{w['name']}: {w['queues']} queue, {w['pool']} x {w['concurrency']}"
                                                                  for w in result["layout"])})
        report("poll", result, fmt, rows=rows, title="Poll benchmark (target: feeds_per_s >= 200)")
