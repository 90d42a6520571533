"""``wirewatch enrich PATH``: unusable input gets one classified error line and exit 2 (the
exit status of every file enrich cannot use, tests/test_pipeline/enrich)."""
from __future__ import annotations

import pytest

from cli_fixtures import run_cli  # noqa: F401 - fixtures


@pytest.mark.parametrize("name", ["bad.html", "bad.txt"])
def test_undecodable_bytes_give_a_classified_error(run_cli, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe\x00\x00garbage")  # a UTF-32-LE byte-order mark, then bytes that are not UTF-32
    res = run_cli("enrich", str(path))
    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output and "FetchError" not in res.output
    assert f"{name}:" in res.stderr and "(reason: bad_encoding)" in res.stderr


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "ftp://example.org/a", "https://"])
def test_url_must_be_http_or_https(run_cli, tmp_path, url):
    path = tmp_path / "a.txt"
    path.write_text("The mayor spoke in Lyon on Monday.")
    res = run_cli("enrich", str(path), "--url", url)
    assert res.exit_code == 2
    assert "Invalid value for '--url'" in res.output and "is not an http:// or https:// URL" in res.output
