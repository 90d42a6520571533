"""Settings: precedence of sources, derived URLs, and the shipped settings file staying complete."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_wirewatch_env(monkeypatch):
    """Each test starts from defaults: the caller's WIREWATCH_* variables must not leak in."""
    import os

    for key in list(os.environ):
        if key.startswith("WIREWATCH_"):
            monkeypatch.delenv(key)


def test_environment_overrides_file(tmp_path, monkeypatch):
    cfg = tmp_path / "w.toml"
    cfg.write_text('index_prefix = "fromfile"\nredis_port = 7000\n')
    monkeypatch.setenv("WIREWATCH_CONFIG", str(cfg))
    assert Settings().index_prefix == "fromfile"
    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", "fromenv")
    s = Settings()
    assert s.index_prefix == "fromenv"
    # only the port was set: the Redis URL follows it
    assert s.redis_url == "redis://127.0.0.1:7000/0"


def test_lists_from_environment_are_json(monkeypatch):
    monkeypatch.setenv("WIREWATCH_FETCH_ALLOW_HOSTS", '["127.0.0.1", "10.0.0.0/8"]')
    assert Settings().fetch_allow_hosts == ["127.0.0.1", "10.0.0.0/8"]


def test_secrets_are_not_in_repr(monkeypatch):
    monkeypatch.setenv("WIREWATCH_SEARCH_PASSWORD", "hunter2-secret")
    s = Settings()
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(s.model_dump())
    assert s.search_password.get_secret_value() == "hunter2-secret"


def test_every_setting_documented_in_shipped_file():
    text = (REPO / "config" / "wirewatch.toml").read_text()
    tomllib.loads(text)  # valid TOML (everything commented out)
    for name, info in Settings.model_fields.items():
        assert f"# {name} =" in text, f"{name} missing from config/wirewatch.toml (run `wirewatch config --toml`)"
        assert info.description, f"{name} has no description"


def test_jvm_options_must_be_options(monkeypatch):
    import pydantic

    monkeypatch.setenv("WIREWATCH_OPENSEARCH_JVM_OPTIONS", '["-XX:TieredStopAtLevel=1", "Xmx1g"]')
    with pytest.raises(pydantic.ValidationError, match="'Xmx1g' is not a JVM option"):
        Settings()
    monkeypatch.setenv("WIREWATCH_OPENSEARCH_JVM_OPTIONS", "[]")
    assert Settings().opensearch_jvm_options == []


def test_elasticsearch_settings_point_at_the_local_elasticsearch_node(monkeypatch):
    from wirewatch.devtools.services import local_services

    monkeypatch.delenv("WIREWATCH_SEARCH_URL", raising=False)
    s = Settings(search_engine="elasticsearch")
    assert s.search_url == "http://127.0.0.1:9200"
    assert Settings(search_engine="elasticsearch", elasticsearch_port=9222).search_url == "http://127.0.0.1:9222"
    assert Settings(search_engine="elasticsearch", search_url="https://es.example:9243").search_url == "https://es.example:9243"
    assert [svc.name for svc in local_services(s)] == ["redis", "elasticsearch"]
    assert [svc.name for svc in local_services(Settings(search_engine="opensearch"))] == ["redis", "opensearch"]
