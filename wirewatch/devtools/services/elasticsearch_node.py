"""A single-node Elasticsearch 7.17 from Maven Central, with the percolator added as a module.

What is published and what it lacks (checked on the project's machines; DESIGN.md "Engines"):
``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>`` (zip) is a complete
node whose ``modules/`` holds only transport-netty4, x-pack-core and x-pack-security: no
percolator and no analysis-common (so no ``english`` analyzer and no stemmer or ASCII-folding
filters; :mod:`pipeline.index.mappings` picks analysis the node has). The percolator comes from
``org.elasticsearch.plugin:percolator-client:<version>`` (jar), placed in
``modules/percolator/`` with a ``plugin-descriptor.properties`` (:data:`PERCOLATOR_DESCRIPTOR`).
Elasticsearch 8.x/9.x zips exist too, but no percolator module for them is published, so only
7.17 can be run here.

Layout: the distribution is unpacked once per machine into
``<cache>/elasticsearch-<version>/`` (see :func:`distribution_dir`); the node's configuration,
data and logs live in ``<state_dir>/elasticsearch``. Elasticsearch refuses to run as root: when
Wirewatch runs as root the node runs as the unprivileged system user ``elasticsearch_user``
(created with ``useradd --system`` when missing), which owns the node folder. The node runs on
the JDK found by :func:`wirewatch.devtools.services.java.find_java` (Java 11-21: 7.17 installs a
SecurityManager, which Java 24 removed).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import httpx

from pipeline.errors import ServiceError
from wirewatch.devtools.services.java import find_java
from wirewatch.devtools.services.process import read_pid, start_detached, stop, wait_until
from pipeline.settings import Settings

ZIP_GROUP = "org.elasticsearch.distribution.integ-test-zip"
ZIP_ARTIFACT = "elasticsearch"
PERCOLATOR_GROUP = "org.elasticsearch.plugin"
PERCOLATOR_ARTIFACT = "percolator-client"
CLUSTER_NAME = "wirewatch-local"
#: Java range of Elasticsearch 7.17 (its support matrix: 11 and 17 tested by Elastic; Java 24+
#: has no SecurityManager, which 7.x requires).
JAVA_MIN, JAVA_MAX = 11, 21
JAVA_HINT = ("install a JDK 17 (Debian: `sudo apt-get install -y openjdk-17-jre-headless`) or set "
             "WIREWATCH_ELASTICSEARCH_JAVA_HOME")
MAVEN_HINT = "install Maven (Debian: `sudo apt-get install -y maven`) so the Elasticsearch zip can be fetched from Maven Central"
#: Machine-wide folder for the unpacked distribution when running as root and the cache folder
#: lies where the unprivileged node user cannot reach (root's home is mode 0700).
ROOT_CACHE_DIR = Path("/var/cache/wirewatch")

#: The percolator module's descriptor; the keys are the ones Elasticsearch 7.17's PluginInfo reads.
PERCOLATOR_DESCRIPTOR = """description=Percolator module (percolator-client jar from Maven Central, added by Wirewatch)
version={version}
name=percolator
classname=org.elasticsearch.percolator.PercolatorPlugin
java.version=1.8
elasticsearch.version={version}
type=isolated
"""

#: JVM options of the node (replacing the distribution's jvm.options, whose relative paths point
#: into the read-only distribution folder; GC logging off). Heap comes via ES_JAVA_OPTS.
#: ``TieredStopAtLevel=1`` for the reason given at ``opensearch_jvm_options`` in the settings
#: (a small development node on 2 cores: start-up and per-request CPU roughly halved there).
JVM_OPTIONS = """-XX:+UseG1GC
-XX:+ExitOnOutOfMemoryError
-XX:TieredStopAtLevel=1
-Djava.io.tmpdir=${{ES_TMPDIR}}
-XX:ErrorFile={logs}/hs_err_pid%p.log
-Xlog:disable
"""

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wirewatch.local</groupId><artifactId>elasticsearch-dist</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>{zg}</groupId><artifactId>{za}</artifactId><version>{v}</version><type>zip</type></dependency>
    <dependency><groupId>{pg}</groupId><artifactId>{pa}</artifactId><version>{v}</version></dependency>
  </dependencies>
</project>
"""


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _reachable_by_others(path: Path) -> bool:
    """True when every existing folder on the way to ``path`` lets other users through (o+x)."""
    p = path.expanduser().resolve()
    for parent in [*reversed(p.parents), p]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return False
    return True


def distribution_dir(settings: Settings) -> Path:
    """Folder of the unpacked ``elasticsearch-<version>`` distribution (with the percolator).

    ``<cache_dir>/elasticsearch-<version>``, except when running as root with a cache folder the
    node's unprivileged user cannot reach (e.g. under /root): then
    ``/var/cache/wirewatch/elasticsearch-<version>``.
    """
    base = Path(settings.cache_dir).expanduser()
    if _running_as_root() and not _reachable_by_others(base):
        base = ROOT_CACHE_DIR
    return base / f"elasticsearch-{settings.elasticsearch_version}"


def ensure_distribution(settings: Settings, *, quiet: bool = True) -> Path:
    """Fetch the zip and the percolator jar with Maven once, unpack, add the percolator module.

    Returns the distribution folder (ES_HOME). A ``.complete`` marker is written last, so an
    interrupted run starts again. Raises ServiceError when Maven is missing or fails.
    """
    version = settings.elasticsearch_version
    home = distribution_dir(settings)
    if (home / ".complete").exists():
        return home
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServiceError(f"Maven is not installed: {MAVEN_HINT}")
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wirewatch-mvn-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(zg=ZIP_GROUP, za=ZIP_ARTIFACT, pg=PERCOLATOR_GROUP, pa=PERCOLATOR_ARTIFACT, v=version))
        out = Path(tmp) / "out"
        proc = subprocess.run([mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", "-DexcludeTransitive=true",
                               f"-DoutputDirectory={out}"], capture_output=quiet, text=True)
        if proc.returncode != 0:
            detail = ((proc.stdout or "") + (proc.stderr or ""))[-1500:] if quiet else ""
            raise ServiceError(f"Maven could not fetch {ZIP_GROUP}:{ZIP_ARTIFACT}:{version} (zip) and "
                               f"{PERCOLATOR_GROUP}:{PERCOLATOR_ARTIFACT}:{version} (exit {proc.returncode}). {detail}")
        zips = list(out.glob(f"{ZIP_ARTIFACT}-{version}.zip"))
        jars = list(out.glob(f"{PERCOLATOR_ARTIFACT}-{version}.jar"))
        if not zips or not jars:
            raise ServiceError(f"Maven finished but {out} lacks the zip or the percolator jar")
        unpack = Path(tmp) / "unpack"
        with zipfile.ZipFile(zips[0]) as zf:
            zf.extractall(unpack)
        top = unpack / f"elasticsearch-{version}"
        for script in (top / "bin").iterdir():  # zipfile drops the execute bits
            script.chmod(0o755)
        module = top / "modules" / "percolator"
        module.mkdir(parents=True, exist_ok=True)
        shutil.copy2(jars[0], module / jars[0].name)
        (module / "plugin-descriptor.properties").write_text(PERCOLATOR_DESCRIPTOR.format(version=version))
        if home.exists():
            shutil.rmtree(home)
        shutil.move(str(top), str(home))
    for path in [home, *home.rglob("*")]:  # readable by the node's user, writable by nobody else
        path.chmod(0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
    (home / ".complete").write_text(version + "\n")
    return home


def ensure_user(name: str) -> pwd.struct_passwd:
    """The unprivileged system user the node runs as when Wirewatch runs as root; created with
    ``useradd --system`` (no home, no login shell) when missing. Raises ServiceError when it
    cannot be created."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--user-group", name], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"could not create the system user {name!r} for Elasticsearch (which refuses to run as root): "
                           f"{proc.stderr.strip()}; create it yourself or run Wirewatch as an ordinary user")
    return pwd.getpwnam(name)


class LocalElasticsearch:
    """The Elasticsearch node that ``wirewatch services`` manages when ``search_engine`` is
    ``elasticsearch``: HTTP on 127.0.0.1:``elasticsearch_port``, security off, single node."""

    name = "elasticsearch"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = Path(settings.state_dir).resolve() / "elasticsearch"
        self.conf = self.dir / "conf"
        self.data = self.dir / "data"
        self.logs = self.dir / "logs"
        self.tmp = self.dir / "tmp"
        self.pidfile = self.dir / "elasticsearch.pid"
        self.logfile = self.dir / "console.log"
        self.http_port = settings.elasticsearch_port
        self.url = f"http://127.0.0.1:{self.http_port}"

    @property
    def auth(self) -> tuple[str, str] | None:
        """Basic-auth credentials for the node when its security is on (else None)."""
        if not self.settings.elasticsearch_security:
            return None
        password = self.settings.search_password.get_secret_value() if self.settings.search_password else ""
        return (self.settings.search_username or "", password)

    def answers(self) -> bool:
        """True when the node's cluster health is yellow or green."""
        try:
            r = httpx.get(f"{self.url}/_cluster/health", timeout=3, auth=self.auth)
            return r.status_code == 200 and r.json().get("status") in ("green", "yellow")
        except (httpx.HTTPError, ValueError):
            return False

    def pid(self) -> int | None:
        """PID of the node we started, or None."""
        return read_pid(self.pidfile)

    def node_log_tail(self, chars: int = 3000) -> str:
        """The end of the node's own log, else of its console output."""
        src = self.logs / f"{CLUSTER_NAME}.log"
        if not src.exists():
            src = self.logfile
        return src.read_text(errors="replace")[-chars:] if src.exists() else "(no log yet)"

    def _write_config(self, home: Path) -> None:
        self.conf.mkdir(parents=True, exist_ok=True)
        for f in (home / "config").iterdir():
            if f.is_file() and f.name not in ("elasticsearch.yml", "jvm.options"):
                shutil.copy2(f, self.conf / f.name)
        (self.conf / "elasticsearch.yml").write_text("\n".join([
            f"cluster.name: {CLUSTER_NAME}",
            "node.name: node-1",
            "discovery.type: single-node",
            "network.host: 127.0.0.1",
            f"http.port: {self.http_port}",
            f"path.data: {self.data}",
            f"path.logs: {self.logs}",
            f"xpack.security.enabled: {'true' if self.settings.elasticsearch_security else 'false'}",
            *(["xpack.security.authc.api_key.enabled: true"] if self.settings.elasticsearch_security else []),
            # A development node on a shared disk: do not turn indices read-only when the disk
            # is above the 85/90/95% watermarks.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "",
        ]))
        (self.conf / "jvm.options").write_text(JVM_OPTIONS.format(logs=self.logs))

    def up(self, *, timeout_s: float = 180.0) -> str:
        """Start the node unless one answers; return "started", "running" or "external".

        Raises ServiceError (with the node log's tail) when Java/Maven are missing, the
        distribution cannot be fetched, the user cannot be created, or the node exits during
        start-up or is not healthy within ``timeout_s``.
        """
        if self.answers():
            return "running" if self.pid() else "external"
        java = find_java(self.settings.elasticsearch_java_home, min_major=JAVA_MIN, max_major=JAVA_MAX,
                         needed_by=f"Elasticsearch {self.settings.elasticsearch_version}", hint=JAVA_HINT)
        home = ensure_distribution(self.settings)
        for d in (self.dir, self.data, self.logs, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self._write_config(home)
        prefix: list[str] = []
        if _running_as_root():
            if not _reachable_by_others(self.dir.parent):
                raise ServiceError(f"{self.dir} lies in a folder the unprivileged user {self.settings.elasticsearch_user!r} "
                                   "cannot enter (a parent folder lacks o+x; e.g. a clone under /root): set "
                                   "WIREWATCH_STATE_DIR to a folder it can reach, such as /var/lib/wirewatch")
            user = ensure_user(self.settings.elasticsearch_user)
            for path in [self.dir, *self.dir.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
            prefix = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                      "--init-groups", "--reset-env", "--"]
        java_home = str(Path(java).resolve().parent.parent)
        heap = self.settings.elasticsearch_heap
        env = {"ES_JAVA_HOME": java_home, "ES_PATH_CONF": str(self.conf), "ES_TMPDIR": str(self.tmp),
               "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}", "PATH": "/usr/local/bin:/usr/bin:/bin"}
        if self.settings.elasticsearch_security:
            self._add_file_realm_user(home, prefix, env)
        # setpriv --reset-env clears the environment, so it is passed through env(1) after it.
        argv = [*prefix, "/usr/bin/env", *(f"{k}={v}" for k, v in env.items()), str(home / "bin" / "elasticsearch")]
        marker = f"-Des.path.conf={self.conf}"
        start_detached(argv, pidfile=self.pidfile, logfile=self.logfile, marker=marker, env=env, cwd=self.dir)
        if not wait_until(self.answers, timeout_s=timeout_s, interval_s=1.0, alive=lambda: self._starting()):
            what = "exited during start-up" if not self._starting() else f"did not become healthy at {self.url} within {timeout_s:.0f}s"
            raise ServiceError(f"Elasticsearch {what}; node log:\n{self.node_log_tail()}")
        return "started"

    def _add_file_realm_user(self, home: Path, prefix: list[str], env: dict[str, str]) -> None:
        """Create (or reset) the file-realm superuser ``search_username`` with ``search_password``
        (``bin/elasticsearch-users``, run as the node's user). Raises ServiceError when the
        credentials are missing or the tool fails."""
        user, password = self.auth or ("", "")
        if not user or len(password) < 6:
            raise ServiceError("elasticsearch_security needs search_username and a search_password of 6+ characters")
        tool = str(home / "bin" / "elasticsearch-users")
        run_env = [*prefix, "/usr/bin/env", *(f"{k}={v}" for k, v in env.items())]
        subprocess.run([*run_env, tool, "userdel", user], capture_output=True, text=True, cwd=self.dir)
        proc = subprocess.run([*run_env, tool, "useradd", user, "-p", password, "-r", "superuser"],
                              capture_output=True, text=True, cwd=self.dir)
        if proc.returncode != 0:
            raise ServiceError(f"elasticsearch-users could not add {user!r}: {(proc.stdout + proc.stderr).strip()[-500:]}")

    def _starting(self) -> bool:
        """True while the process we started lives (its command line gains the marker only
        once the launcher script execs the JVM, so the PID's mere existence counts until then)."""
        if self.pid() is not None:
            return True
        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            return "elasticsearch" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False

    def down(self) -> bool:
        """SIGTERM the node we started (never one we did not). True when one was stopped."""
        return stop(self.pidfile, timeout_s=60)
