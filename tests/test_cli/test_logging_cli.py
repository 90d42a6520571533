"""Logs of interactive commands: no JSON lines beside the command's own output, no event that
only repeats what the command prints, warnings of anything else kept, INFO with -v."""
from __future__ import annotations

import pytest

from cli_fixtures import feeds_env, run_cli  # noqa: F401 - fixtures


def test_reported_events_are_dropped_and_other_warnings_kept(capsys):
    import structlog

    from pipeline.logs import configure_logging, get_logger, reported_by_caller

    saved = structlog.get_config()
    try:
        configure_logging("WARNING", "console")
        log = get_logger("t")
        with reported_by_caller("fetch_failed"):
            log.warning("fetch_failed", reason="blocked")
            log.warning("feed_304_hid_change", hidden=2)
            log.info("fetched")
        log.warning("fetch_failed", reason="timeout")
        err = capsys.readouterr().err.splitlines()
    finally:
        structlog.configure(**saved)
    assert len(err) == 2
    assert "feed_304_hid_change" in err[0] and "hidden=2" in err[0]
    assert "fetch_failed" in err[1] and "reason=timeout" in err[1]


def test_fetch_error_is_one_line_not_a_log_line(run_cli):
    res = run_cli("fetch", "http://127.0.0.1:9/x")  # refused by the SSRF guard
    assert res.exit_code == 1
    assert res.stderr.splitlines() == ["error: blocked: 127.0.0.1 is a loopback address"]


@pytest.mark.integration
def test_feeds_disable_and_poll_print_no_log_lines(feeds_env):
    run, registry = feeds_env
    feed = registry.add("http://127.0.0.1:9/feed.xml")
    res = run("feeds", "poll", "--due")
    assert res.exit_code == 0 and "blocked" in res.stdout
    assert res.stderr == ""
    res = run("feeds", "disable", feed.id)
    assert res.exit_code == 0
    assert res.stderr.splitlines() == [f"disabled {feed.id} http://127.0.0.1:9/feed.xml: manual"]
    res = run("-v", "feeds", "enable", feed.id)
    assert res.exit_code == 0
    assert "feed_enabled" in res.stderr and "{" not in res.stderr  # INFO with -v, readable, not JSON
