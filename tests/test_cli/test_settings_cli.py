"""The settings file as the CLI reads it: a key that is no setting is named in a warning."""
from __future__ import annotations

from cli_fixtures import run_cli  # noqa: F401 - fixtures

def test_unknown_key_in_the_settings_file_is_named(run_cli, tmp_path, monkeypatch):
    cfg = tmp_path / "ww.toml"
    cfg.write_text('log_levl = "DEBUG"\nindex_prefix = "x"\nfrobnicate = 1\n')
    monkeypatch.setenv("WIREWATCH_CONFIG", str(cfg))
    res = run_cli("config", "--format", "json")
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert warnings == [
        f"warning: {cfg}: unknown setting 'log_levl' is ignored (did you mean 'log_level'? `wirewatch config` lists every setting)",
        f"warning: {cfg}: unknown setting 'frobnicate' is ignored (`wirewatch config` lists every setting)",
    ]


def test_known_keys_give_no_warning(run_cli, tmp_path, monkeypatch):
    cfg = tmp_path / "ww.toml"
    cfg.write_text('index_prefix = "x"\nlog_level = "INFO"\n')
    monkeypatch.setenv("WIREWATCH_CONFIG", str(cfg))
    res = run_cli("config", "--format", "json")
    assert res.exit_code == 0 and "warning:" not in res.stderr


def test_invalid_setting_is_one_clear_line_naming_its_variable(run_cli, monkeypatch):
    monkeypatch.setenv("WIREWATCH_REDIS_URL", "ftp://example.org")
    res = run_cli("status")
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "error: invalid settings: redis_url (WIREWATCH_REDIS_URL): must start with redis://, rediss:// or unix://"]
