"""Bad input to enrichment: oversized bodies are cut at a paragraph break and flagged; binary
and oversized files are refused by `wirewatch enrich` with a clear error."""
from __future__ import annotations

from typer.testing import CliRunner

from pipeline.enrich import enrich_text
from pipeline.settings import Settings

PARA = "Officials in Mexico City said on Friday that the caravan had reached Tapachula."


def test_long_body_is_truncated_at_a_paragraph_break_and_flagged():
    body = "\n\n".join([PARA] * 60)  # ~4,900 characters
    out = enrich_text(body, settings=Settings(enrich_max_chars=1000))
    cut = out["enrich_truncated_at"]
    assert 500 < cut <= 1000
    assert body[cut] == "\n"
    assert any(loc["name"] == "Tapachula" for loc in out["locations"])


def test_short_body_is_not_flagged():
    out = enrich_text(PARA, settings=Settings())
    assert "enrich_truncated_at" not in out


def _run(args):
    from wirewatch.cli import app

    return CliRunner().invoke(app, args)


def test_binary_file_refused(tmp_path):
    f = tmp_path / "random.txt"
    f.write_bytes(bytes(range(256)) * 20)
    result = _run(["enrich", str(f)])
    assert result.exit_code == 2
    assert "binary" in result.output


def test_oversized_file_refused(tmp_path):
    f = tmp_path / "huge.txt"
    f.write_text(PARA * 70_000)  # ~5.6 MB
    result = _run(["enrich", str(f)])
    assert result.exit_code == 2
    assert "cap" in result.output
