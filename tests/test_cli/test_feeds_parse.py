"""`wirewatch feeds parse FILE... --entries [--url] [--content-type]` on invented fixtures."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from wirewatch.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def run(*args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["feeds", "parse", "--format", "json", *args])
    assert result.exit_code == 0, result.output[-2000:]
    return json.loads(result.stdout[result.stdout.index("["):])


def test_entries_show_guid_link_title_utc_date_and_warnings():
    [zones, bad] = run("--entries", str(FIXTURES / "time_zones.xml"), str(FIXTURES / "utf8_one_bad_byte.xml"))
    items = {i["title"]: i for i in zones["items"]}
    assert items["CEST"] == {"guid": "https://wire.example.test/cest", "link": "https://wire.example.test/cest",
                             "title": "CEST", "published": "2026-07-01T12:00:00+00:00",
                             "published_unknown_zone": None, "shared_link": False, "warnings": []}
    assert items["unknown"]["published"] is None
    assert items["unknown"]["published_unknown_zone"] == {"local": "2026-07-01T15:00:00", "zone": "XYZT"}
    assert items["unknown"]["warnings"] == ["unknown_zone"]
    assert bad["encoding_warning"] and [i["warnings"] for i in bad["items"]] == [[], ["encoding_replaced"], []]
    # without --entries, no items
    assert "items" not in run(str(FIXTURES / "time_zones.xml"))[0]


def test_url_resolves_relative_links_and_content_type_sets_the_charset():
    path = str(FIXTURES / "relative_links.xml")
    [served] = run("--entries", "--url", "https://gazette.example.test/feeds/main.xml",
                   "--content-type", "text/xml; charset=iso-8859-1", path)
    [item] = served["items"]
    assert item["link"] == "https://gazette.example.test/2026/pont"
    assert item["title"] == "Pont fermé à la circulation" and served["bozo"] is None
    assert item["published"] == "2026-12-05T17:00:00+00:00"  # CET is +01:00
    [local] = run("--entries", path)
    assert local["items"][0]["link"].startswith("http://localhost/")  # the file's own location


def test_shared_links_and_dropped_entries_are_shown():
    [live] = run("--entries", str(FIXTURES / "live_page_no_guid.xml"))
    assert [i["shared_link"] for i in live["items"]] == [True, True, False]
    assert live["dropped"] == {"duplicate_entry": 2}


def test_table_output_lists_entries():
    result = CliRunner().invoke(app, ["feeds", "parse", "--entries", str(FIXTURES / "time_zones.xml")])
    assert result.exit_code == 0
    assert "2026-07-01T12:00:00+00:00" in result.stdout and "XYZT" in result.stdout
