"""``wirewatch enrich PATH``: unreadable input gets one classified error line and exit 1."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["bad.html", "bad.txt"])
def test_undecodable_bytes_give_a_classified_error(run_cli, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe\x00\x00garbage")  # a UTF-32-LE byte-order mark, then bytes that are not UTF-32
    res = run_cli("enrich", str(path))
    assert res.exit_code == 1
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output and "FetchError" not in res.output
    assert f"{name}:" in res.stderr and "(reason: bad_encoding)" in res.stderr
