"""Tests for ``wirewatch bench enrich`` (wirewatch/devtools/bench/enrich.py): a small real run, no timing
assertions (figures come from the benchmark itself)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.settings import Settings
from wirewatch.devtools.bench import enrich as bench

KEYS = ("articles", "words", "articles_per_s", "words_per_s", "baseline_words_per_s", "ratio", "load_s", "peak_rss_mb")


def test_load_texts_has_gold_and_site_articles():
    texts = bench.load_texts()
    sources = [t["source"] for t in texts]
    assert any(s.startswith("tests/gold/") for s in sources)
    assert any(s.startswith("seeds/site/") and s.endswith(".html") for s in sources)
    assert all(bench.word_count(t["text"]) > 20 for t in texts)


def test_repeat_to_cycles_exactly():
    assert bench.repeat_to([1, 2, 3], 7) == [1, 2, 3, 1, 2, 3, 1]
    assert bench.repeat_to([1, 2, 3], 2) == [1, 2]
    assert bench.repeat_to([], 5) == []


def test_word_count():
    assert bench.word_count("  Two words\nand\tthree  ") == 4
    assert bench.word_count("") == 0


def test_small_run_has_every_key_and_sane_values():
    result = bench.run(Settings(), n_articles=10, rounds=2, load_runs=2)
    for key in KEYS:
        assert result[key] is not None, key
    texts = bench.repeat_to(bench.load_texts(), 10)
    assert result["articles"] == 10
    assert result["words"] == sum(bench.word_count(t["text"]) for t in texts)
    assert result["articles_per_s"] > 0 and result["words_per_s"] > 0 and result["baseline_words_per_s"] > 0
    assert result["ratio"] == pytest.approx(result["words_per_s"] / result["baseline_words_per_s"], rel=0.01)
    assert 0 < result["ratio"] < 10
    assert result["load_s"] > 0
    assert result["peak_rss_mb"] >= result["rss_after_load_mb"] > 0
    assert sum(r["articles"] for r in result["per_round"]) == 10
    assert result["load_breakdown"]["model_s"] > 0
    assert len(result["load_s_runs"]) == 2 and min(result["load_s_runs"]) <= result["load_s"] <= max(result["load_s_runs"])
    assert result["load_cpu_s"] > 0
    stages = result["stages_ms_per_article"]
    assert stages["total"] > 0 and stages["spacy_and_rest"] > 0 and stages["places"] >= 0
    import pipeline.enrich as enrich_mod
    assert enrich_mod.extract_quotes.__name__ == "extract_quotes"  # the timing wrappers are removed


def test_cli_json_writes_result(tmp_path, monkeypatch):
    from wirewatch.cli import app

    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["bench", "enrich", "--articles", "4", "--rounds", "2", "--load-runs", "1", "--format", "json"])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout[out.stdout.index("{"):])
    written = json.loads((tmp_path / "bench-results" / "enrich.json").read_text())
    assert printed["articles"] == written["articles"] == 4
    assert all(k in written for k in KEYS)
