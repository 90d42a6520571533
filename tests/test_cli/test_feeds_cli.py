"""``wirewatch feeds ...`` commands against the real Redis (per-test key prefix)."""
from __future__ import annotations

import json

import pytest

from cli_fixtures import feeds_env, run_cli  # noqa: F401 - fixtures


@pytest.mark.integration
def test_poll_preview_of_a_blocked_feed_changes_no_state(feeds_env):
    run, registry = feeds_env
    # 127.0.0.1 is refused by the SSRF guard (the CLI's settings allow no private host)
    feed = registry.add("http://127.0.0.1:9/feed.xml")
    before = registry.get(feed.id).to_dict()
    due_before = registry.redis.zscore(registry._due, feed.id)
    res = run("feeds", "poll", "--due", "--preview", "--format", "json")
    assert res.exit_code == 0, res.output
    (out,) = json.loads(res.stdout)
    assert out["status"] == "error" and out["reason"] == "blocked"
    after = registry.get(feed.id)
    assert after.to_dict() == before
    assert after.status != "failing" and after.consecutive_errors == 0
    assert registry.redis.zscore(registry._due, feed.id) == due_before
    # without --preview the same poll is recorded, as a worker's would be
    res = run("feeds", "poll", feed.id, "--format", "json")
    assert res.exit_code == 0, res.output
    assert registry.get(feed.id).consecutive_errors == 1


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>A</title><link>https://news.example.org/a</link><guid>https://news.example.org/a</guid></item>
</channel></rss>"""


@pytest.mark.parametrize("fmt", [[], ["--format", "json"]])
def test_parse_exits_1_when_any_file_fails_and_names_a_missing_file(run_cli, tmp_path, fmt):
    good = tmp_path / "good.xml"
    good.write_bytes(RSS)
    missing = tmp_path / "missing.xml"
    res = run_cli("feeds", "parse", str(good), *fmt)
    assert res.exit_code == 0, res.output
    res = run_cli("feeds", "parse", str(missing), *fmt)
    assert res.exit_code == 1
    assert "no_such_file" in res.stdout and "unreadable" not in res.output
    res = run_cli("feeds", "parse", str(good), str(missing), *fmt)
    assert res.exit_code == 1
    if fmt:
        rows = json.loads(res.stdout)
        assert [r["ok"] for r in rows] == [True, False]
        assert rows[1]["error"] == "no_such_file" and rows[1]["message"] == f"{missing}: no such file"
