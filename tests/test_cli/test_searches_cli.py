"""``wirewatch searches`` and ``wirewatch search`` on the real search engine: what a new user
types, and the clear errors they get."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

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
