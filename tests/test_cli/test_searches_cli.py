"""``wirewatch searches`` and ``wirewatch search`` on the real search engine: what a new user
types, and the clear errors they get."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_fixtures import engine_cli, run_cli  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_near_with_the_default_radius_lists_and_shows_it(engine_cli):
    res = engine_cli("searches", "add", "Tijuana migrants", "-q", "migrants", "--near", "Tijuana")
    assert res.exit_code == 0, res.output
    assert "near Tijuana ≤100 km" in res.stdout
    res = engine_cli("searches", "list")
    assert res.exit_code == 0, res.output
    assert "near Tijuana ≤100 km" in res.stdout
    res = engine_cli("searches", "list", "--format", "json")
    (found,) = json.loads(res.stdout)
    assert found["filters"]["near"]["distance_km"] == 100
    assert found["filters"]["near"]["place"] == "Tijuana"


@pytest.mark.integration
def test_the_demo_searches_file_lists(engine_cli):
    res = engine_cli("searches", "load", str(REPO / "config" / "searches.yaml"))
    assert res.exit_code == 0, res.output
    res = engine_cli("searches", "list")
    assert res.exit_code == 0, res.output
    assert "≤100 km" in res.stdout


def _no_pydantic_report(res) -> None:
    assert res.exit_code == 1, res.output
    assert "validation error" not in res.output and "errors.pydantic.dev" not in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args, lines", [
    (["searches", "add", "Nothing"], ["error: a saved search needs a query or at least one filter"]),
    (["search", "migrants", "--near", "999,999"],
     ["error: --near latitude: Input should be less than or equal to 90",
      "error: --near longitude: Input should be less than or equal to 180"]),
    (["search", "migrants", "--near", "Tijuana", "--within-km", "-5"],
     ["error: --within-km: Input should be greater than 0"]),
    (["search", "migrants", "--country", "MEX"],
     ["error: --country: country 'MEX' is not an ISO 3166 alpha-2 code (e.g. MX, US)"]),
])
def test_invalid_options_give_one_line_per_problem(run_cli, args, lines):
    res = run_cli(*args)
    _no_pydantic_report(res)
    assert res.stderr.strip().splitlines() == lines


@pytest.mark.parametrize("text, lines", [
    (b"searches:\n  - nope: 1\n", ["searches[0].name: required", "searches[0].nope: unknown field"]),
    (b"- [a, b]\n", ["searches[0]: expected a mapping, got list"]),
    (b"searches:\n  - name: caf\xe9\n    query: x\n", ["not UTF-8 text (byte 23 is 0xe9); save the file as UTF-8"]),
])
def test_bad_searches_file_gives_one_line_per_problem(run_cli, tmp_path, text, lines):
    path = tmp_path / "s.yaml"
    path.write_bytes(text)
    res = run_cli("searches", "load", str(path))  # refused before the engine is asked
    _no_pydantic_report(res)
    assert res.stderr.strip().splitlines() == [f"error: {path}: {x}" for x in lines]


@pytest.mark.integration
def test_adding_an_existing_id_names_the_replace_option(engine_cli):
    assert engine_cli("searches", "add", "Quakes", "-q", "earthquake").exit_code == 0
    res = engine_cli("searches", "add", "Quakes", "-q", "quake")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: saved search 'quakes' exists; pass --replace to replace it, or choose another --id"
    assert engine_cli("searches", "add", "Quakes", "-q", "quake", "--replace").exit_code == 0


def test_language_must_be_an_iso_639_1_code(run_cli):
    res = run_cli("search", "migrants", "--language", "english")
    _no_pydantic_report(res)
    assert res.stderr.strip() == "error: --language: language 'english' is not an ISO 639-1 code (two letters, e.g. en, es, fr)"


@pytest.mark.integration
def test_alerts_of_an_unknown_search_is_an_error(engine_cli):
    res = engine_cli("alerts", "list", "--search", "nosuch")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: no saved search 'nosuch' (see `wirewatch searches list`)"
    assert engine_cli("searches", "add", "Quakes", "-q", "earthquake").exit_code == 0
    res = engine_cli("alerts", "list", "--search", "quakes", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout) == []


@pytest.mark.integration
def test_search_json_shows_the_default_radius(engine_cli):
    res = engine_cli("search", "migrants", "--near", "31.72,-106.46", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["filters"]["near"] == {"lat": 31.72, "lon": -106.46, "distance_km": 100.0}
