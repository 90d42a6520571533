"""``wirewatch worker`` option checking (no worker is started)."""
from __future__ import annotations

from cli_fixtures import run_cli  # noqa: F401 - fixtures


def test_unknown_pool_is_a_usage_error_not_a_traceback(run_cli):
    res = run_cli("worker", "--pool", "banana")
    assert res.exit_code == 2
    assert "Invalid value for '--pool'" in res.output and "'banana' is not one of" in res.output
    assert "Traceback" not in res.output and "BadParameter:" not in res.output
