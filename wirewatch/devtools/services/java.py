"""Finding a JDK of the major version a local search node needs.

The nodes differ: the OpenSearch 2.19 runner needs Java 17+, the OpenSearch 3.x runner Java 21+
(its jars are class-file version 65), and Elasticsearch 7.17 runs on Java 11-21 (it installs a
SecurityManager, which Java 24 removed: JEP 486). One machine often has several JDKs, so the
search looks at, in order: the ``java_home`` setting, ``$JAVA_HOME``, ``java`` on PATH, then every
JDK under ``/usr/lib/jvm`` (where Debian packages and Temurin install them), and takes the first
whose major version is in range.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from pipeline.errors import ServiceError

#: Where Debian's and Adoptium's JDK packages install (one folder per JDK).
JVM_ROOT = Path("/usr/lib/jvm")


@lru_cache(maxsize=32)
def java_major(java: str) -> int:
    """Major version of the ``java`` binary at ``java`` (``17`` for "17.0.15"; 0 when unknown)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def candidates(java_home: Path | None) -> list[str]:
    """Every ``java`` binary worth trying, in order of preference, without duplicates."""
    paths: list[Path] = []
    if java_home:
        paths.append(Path(java_home) / "bin" / "java")
    if os.environ.get("JAVA_HOME"):
        paths.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        paths.append(Path(on_path))
    if JVM_ROOT.is_dir():
        paths.extend(sorted(JVM_ROOT.glob("*/bin/java")))
    seen: set[str] = set()
    out: list[str] = []
    for p in paths:
        if not p.exists():
            continue
        real = str(p.resolve())
        if real not in seen:
            seen.add(real)
            out.append(str(p))
    return out


def find_java(java_home: Path | None, *, min_major: int, max_major: int | None = None, needed_by: str, hint: str) -> str:
    """Path of a ``java`` whose major version is in ``[min_major, max_major]``.

    An explicit ``java_home`` (the setting) that is out of range is an error rather than
    skipped, so a user's choice is never silently overridden. Raises ServiceError naming what
    was found, what ``needed_by`` needs, and ``hint`` (what to install).
    """
    wanted = f"Java {min_major}" + (f"-{max_major}" if max_major else "+")
    found = candidates(java_home)
    if java_home:
        explicit = str(Path(java_home) / "bin" / "java")
        if not Path(explicit).exists():
            raise ServiceError(f"java_home {java_home} has no bin/java; {needed_by} needs {wanted}: {hint}")
        major = java_major(explicit)
        if major < min_major or (max_major and major > max_major):
            raise ServiceError(f"java_home {java_home} is Java {major}; {needed_by} needs {wanted}: {hint}")
        return explicit
    for java in found:
        major = java_major(java)
        if major >= min_major and (max_major is None or major <= max_major):
            return java
    seen = ", ".join(f"{j} (Java {java_major(j)})" for j in found) or "none"
    raise ServiceError(f"{needed_by} needs {wanted}; found: {seen}. {hint}")
