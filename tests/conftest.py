"""Shared fixtures.

Integration tests use the real Redis and search engines that ``wirewatch services up`` starts
(``.ci/run`` starts them before pytest). Tests of the search engine take ``engine_settings``
(or ``search_url``), which runs them once per engine of :mod:`tests.engines` (OpenSearch 2.19,
OpenSearch 3, Elasticsearch 7.17; ``WIREWATCH_TEST_ENGINES`` narrows the set). Each test session gets its own Redis key prefix and
index prefix, so sessions never see each other's data. When a service does not answer the
integration tests skip with the reason, unless ``WIREWATCH_TEST_REQUIRE_SERVICES=1`` (set by
``.ci/run``), where they fail instead, so CI cannot pass by skipping.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from pipeline.settings import Settings
from engines import engine_overrides, selected

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SESSION_TAG = f"t{uuid.uuid4().hex[:8]}"


def _unavailable(what: str, detail: str):
    msg = f"{what} not reachable ({detail}); start it with `wirewatch services up`"
    if os.environ.get("WIREWATCH_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (it only exists on the project's machines)")
    return SHARED


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings for tests: the local services, a per-session key/index prefix, 127.0.0.1 allowed
    for fetching and as a notification target."""
    return Settings(
        redis_key_prefix=f"wwtest:{SESSION_TAG}",
        index_prefix=f"wwtest-{SESSION_TAG}",
        index_replicas=0,
        fetch_allow_hosts=["127.0.0.1", "localhost"],
        notify_allow_hosts=["127.0.0.1", "localhost"],  # local webhook receivers; tests of the guard clear it
        host_min_delay_s=0.0,
    )


@pytest.fixture(scope="session")
def redis_client(settings):
    """A ``redis.Redis`` on the test Redis (decode_responses=False). Keys are deleted at the end."""
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not there
        _unavailable("Redis", f"{settings.redis_url}: {exc}")
    yield client
    keys = list(client.scan_iter(f"{settings.redis_key_prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session", autouse=True)
def _drop_session_indices(settings):
    """At the end of the session, delete the indices and templates of the session's prefix
    (when the engine answers), so test runs leave nothing behind on a shared node."""
    yield
    try:
        from pipeline.index.engine import SearchEngine

        with SearchEngine.from_settings(settings) as engine:
            if engine.ping():
                engine.delete_all()
    except Exception:  # noqa: BLE001 - clean-up is best effort; the node may be gone
        pass


@pytest.fixture(scope="session", params=selected())
def engine_settings(request, settings) -> Settings:
    """The test settings pointed at one search engine (one run per engine of
    :mod:`tests.engines`), after checking it answers; skip/fail otherwise. At the end of the
    session the indices and templates of the session's prefix are deleted there."""
    import httpx

    # Pipeline state in Redis (dedupe, feed registry) belongs with the engine's indices: one
    # Redis key prefix per engine, under the session's (cleaned by ``redis_client``).
    s = settings.model_copy(update={**engine_overrides(request.param),
                                    "redis_key_prefix": f"{settings.redis_key_prefix}:{request.param}"})
    try:
        httpx.get(s.search_url, timeout=5).raise_for_status()
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"{request.param} search engine", f"{s.search_url}: {exc}")
    yield s
    try:
        from pipeline.index.engine import SearchEngine

        with SearchEngine.from_settings(s) as engine:
            engine.delete_all()
    except Exception:  # noqa: BLE001 - clean-up is best effort
        pass


@pytest.fixture(scope="session")
def search_url(settings) -> str:
    """The default search engine's URL (``settings``: OpenSearch 2.19) after checking it answers;
    skip/fail otherwise. Tests meant for every engine take ``engine_settings`` instead."""
    import httpx

    try:
        httpx.get(settings.search_url, timeout=5).raise_for_status()
    except Exception as exc:  # noqa: BLE001
        _unavailable("OpenSearch", f"{settings.search_url}: {exc}")
    return settings.search_url


@pytest.fixture()
def engine_environ(monkeypatch, engine_settings):
    """Point CLI invocations (``WIREWATCH_*`` variables) at the engine under test."""
    monkeypatch.setenv("WIREWATCH_SEARCH_ENGINE", engine_settings.search_engine)
    monkeypatch.setenv("WIREWATCH_SEARCH_URL", engine_settings.search_url)
    return engine_settings
