"""Fixtures of the CLI tests: the ``wirewatch`` app run in-process with CliRunner. Test modules
import the ones they use (a second conftest.py would shadow tests/conftest.py for `from conftest
import ...`)."""
from __future__ import annotations

import pytest


@pytest.fixture()
def run_cli(monkeypatch, tmp_path):
    """Invoke ``wirewatch ARGS...`` in-process with an empty settings file (no services needed
    unless the command uses them); returns the click Result (exit_code, stdout, stderr)."""
    import structlog
    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    saved_logging = structlog.get_config()  # the CLI's callback reconfigures structlog

    cfg = tmp_path / "wirewatch.toml"
    cfg.write_text("")
    monkeypatch.setenv("WIREWATCH_CONFIG", str(cfg))
    get_settings.cache_clear()

    def invoke(*args: str, input: str | None = None):
        get_settings.cache_clear()
        # wide, so that rich does not wrap messages inside its boxes
        return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "250"})

    yield invoke
    get_settings.cache_clear()
    structlog.configure(**saved_logging)


@pytest.fixture()
def engine_cli(run_cli, monkeypatch, settings, search_url):
    """Like ``run_cli`` on the real search engine, with a per-test index prefix (indices created
    by ``wirewatch init``, deleted afterwards)."""
    import uuid

    from pipeline.index.engine import SearchEngine

    prefix = f"{settings.index_prefix}-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", prefix)
    monkeypatch.setenv("WIREWATCH_INDEX_REPLICAS", "0")
    res = run_cli("init", "--no-searches")
    assert res.exit_code == 0, res.output
    yield run_cli
    eng = SearchEngine.from_settings(settings.model_copy(update={"index_prefix": prefix}))
    eng.delete_all()
    eng.close()


@pytest.fixture()
def feeds_env(run_cli, monkeypatch, settings, redis_client):
    """``run_cli`` on a private Redis key prefix; yields (invoke, FeedRegistry on that prefix)."""
    import uuid

    from pipeline.feeds.registry import FeedRegistry

    prefix = f"{settings.redis_key_prefix}:clifeeds:{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("WIREWATCH_REDIS_KEY_PREFIX", prefix)
    yield run_cli, FeedRegistry(redis_client, settings.model_copy(update={"redis_key_prefix": prefix}))
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)
