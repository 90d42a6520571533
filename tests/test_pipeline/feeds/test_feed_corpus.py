"""`wirewatch feeds parse` over feedparser's own 1,768 test feeds (../shared/corpora/feedparser-tests).

No exception may escape, every file gets exactly one result, and every failure carries a
classified reason. The counts per reason are printed (run with ``-s`` to see them) and
written to ``bench-results/feed_corpus.json``.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wirewatch.cli import app

#: Reasons a feed file may fail with; anything else is an unclassified failure.
KNOWN_REASONS = {"empty", "entity_bomb", "not_a_feed", "xml_error", "json_error", "parser_crash", "unreadable"}
EXPECTED_FILES = 1768


@pytest.fixture
def quiet_cli(monkeypatch):
    """Keep CLI logs out of CliRunner's captured stdout and away from its stderr (closed after
    each invoke): warnings and above go to the process's real stderr; structlog restored after."""
    import logging
    import sys

    import structlog

    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    monkeypatch.setattr("wirewatch.cli.configure_logging", lambda *a, **k: None)
    yield
    structlog.configure(**saved)


@pytest.fixture(scope="module")
def corpus_files(shared_dir) -> list[Path]:
    root = shared_dir / "corpora" / "feedparser-tests"
    if not root.is_dir():
        pytest.skip(f"{root} is not present")
    return sorted(p for p in root.rglob("*.xml") if p.is_file())


def test_parse_whole_corpus(corpus_files, quiet_cli):
    assert len(corpus_files) == EXPECTED_FILES
    result = CliRunner().invoke(app, ["feeds", "parse", "--format", "json", *map(str, corpus_files)])
    assert result.exception is None, result.output[-2000:]
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["file"] for r in rows] == [str(p) for p in corpus_files]  # one result per file, in order
    for r in rows:
        assert set(r) >= {"file", "ok", "entries", "error"}
        assert isinstance(r["ok"], bool) and isinstance(r["entries"], int)
        if r["ok"]:
            assert r["error"] is None
        else:
            assert r["error"] in KNOWN_REASONS, r
    # feedparser's corpus holds documents in many encodings (illformed/chardet: Big5, EUC-JP,
    # KOI8-R ... with no declaration): none is a UTF-8 text with stray bytes, so the UTF-8
    # repair (pipeline.feeds.parse.repair_utf8) must leave every one of them to feedparser
    repaired = [r["file"] for r in rows if r.get("encoding_warning")]
    assert repaired == [], repaired
    failures = Counter(r["error"] for r in rows if not r["ok"])
    bozo = Counter(r.get("bozo") for r in rows if r["ok"] and r.get("bozo"))
    summary = {
        "files": len(rows),
        "ok": sum(r["ok"] for r in rows),
        "failed": sum(not r["ok"] for r in rows),
        "failures_by_reason": dict(failures),
        "ok_but_bozo_by_reason": dict(bozo),
        "files_with_entries": sum(1 for r in rows if r["entries"]),
        "entries": sum(r["entries"] for r in rows),
        "illformed_ok": sum(1 for r in rows if "/illformed/" in r["file"] and r["ok"]),
        "illformed_files": sum(1 for r in rows if "/illformed/" in r["file"]),
    }
    print("\nfeed corpus:", json.dumps(summary, indent=2))
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "feed_corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    # the corpus is feedparser's own: nearly every file is a feed it reads
    assert summary["ok"] >= EXPECTED_FILES - 10
    assert failures.get("parser_crash", 0) == 0


def test_known_hostile_corpus_files(corpus_files):
    from wirewatch.commands.feeds import parse_file

    by_name = {p.name: p for p in corpus_files}
    assert parse_file(by_name["rss_empty_document.xml"])["error"] == "empty"
    # an external parameter entity (a DTD fetched from the network) is refused before parsing
    assert parse_file(by_name["doctype_contains_entity_decl.xml"])["error"] == "entity_bomb"
    # a flat internal entity is harmless and expands
    ok = parse_file(by_name["entity_in_doctype.xml"])
    assert ok["ok"] and ok["error"] is None
    # ill-formed feeds still give what can be recovered
    cdata = parse_file(by_name["rss_incomplete_cdata.xml"])
    assert cdata["ok"] and cdata["bozo"] == "xml_error"
