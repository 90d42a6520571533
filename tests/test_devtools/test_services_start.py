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
