"""Issue 14, item 3: entry dates in time zones feedparser does not know.

The fixtures (tests/fixtures/feeds/time_zones*.xml, invented) write one instant in many zones;
every known zone must give that instant, an unknown one no instant but its wall-clock time and
a flag. The abbreviation table is checked against the tz database itself.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.feeds.dates import AMBIGUOUS_ZONES, ZONE_ABBREVIATIONS, resolve_entry_date, zone_offset_minutes
from pipeline.feeds.parse import parse_feed
from pipeline.fetch.article import fetch_article

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"


def test_every_known_zone_gives_the_same_instant():
    parsed = parse_feed((FIXTURES / "time_zones.xml").read_bytes(), feed_url="https://wire.example.test/f.xml",
                        feed_id="z")
    by_title = {e.title: e for e in parsed.entries}
    known = [t for t in by_title if t != "unknown"]
    assert len(known) == 9
    for title in known:
        assert by_title[title].published == "2026-07-01T12:00:00+00:00", title
        assert by_title[title].published_unknown_zone is None and by_title[title].warnings == []
    assert len(parsed.published_ts) == 9


def test_unknown_zone_is_flagged_not_shifted():
    parsed = parse_feed((FIXTURES / "time_zones.xml").read_bytes(), feed_url="https://wire.example.test/f.xml",
                        feed_id="z")
    unknown = next(e for e in parsed.entries if e.title == "unknown")
    assert unknown.published is None
    assert unknown.published_unknown_zone == {"local": "2026-07-01T15:00:00", "zone": "XYZT"}
    assert unknown.warnings == ["unknown_zone"]


def test_zone_names_after_iso_dates_in_atom():
    parsed = parse_feed((FIXTURES / "time_zones_atom.xml").read_bytes(), feed_url="https://southern.example.test/a",
                        feed_id="z")
    assert [e.published for e in parsed.entries] == ["2026-12-06T12:00:00+00:00"] * 2


@pytest.mark.parametrize("url, expected_minutes", [
    ("https://news.example.in/feed", 330),     # default: India Standard Time
    ("https://news.example.ie/feed", 60),      # Irish Standard Time (summer)
    ("https://news.example.co.il/feed", 120),  # Israel Standard Time
    (None, 330),
])
def test_ist_is_resolved_by_the_feeds_country_domain(url, expected_minutes):
    assert zone_offset_minutes("IST", url) == expected_minutes
    d = resolve_entry_date("Wed, 01 Jul 2026 12:00:00 IST", None, url)
    assert d.ts == 1_782_907_200 - expected_minutes * 60  # 2026-07-01T12:00:00Z minus the offset


def test_cst_default_and_on_chinese_domains():
    assert zone_offset_minutes("cst", "https://x.example.com/") == -360
    assert zone_offset_minutes("CST", "https://x.example.cn/") == 480
    assert zone_offset_minutes("CDT", "https://x.example.cu/") == -240


def test_dates_without_alphabetic_zone_are_feedparsers():
    import time

    parsed = time.strptime("2026-07-01 12:00:00", "%Y-%m-%d %H:%M:%S")
    for raw in ("2026-07-01T14:00:00+02:00", "2026-07-01T12:00:00Z", "Wed, 01 Jul 2026 12:00:00 Z"):
        d = resolve_entry_date(raw, parsed)
        assert d.iso == "2026-07-01T12:00:00+00:00" and d.warning is None
    assert resolve_entry_date("", None).iso is None
    assert resolve_entry_date("not a date", None).iso is None


def test_table_agrees_with_the_tz_database():
    """Every abbreviation and offset of the table (and of each ambiguous reading) is used by some
    zone of the tz database Python's zoneinfo reads, at some time in 2024-2026."""
    zoneinfo = pytest.importorskip("zoneinfo")
    from datetime import datetime

    try:
        zones = zoneinfo.available_timezones()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no tz database: {exc}")
    if not zones:
        pytest.skip("no tz database")
    seen: dict[str, set[int]] = {}
    for name in zones:
        try:
            tz = zoneinfo.ZoneInfo(name)
        except Exception:  # noqa: BLE001 - a broken zone file is not our table's fault
            continue
        for year in (2024, 2025, 2026):
            for month in (1, 4, 7, 10):
                dt = datetime(year, month, 15, 12, tzinfo=tz)
                seen.setdefault(dt.tzname(), set()).add(int(dt.utcoffset().total_seconds() // 60))
    for abbr, minutes in ZONE_ABBREVIATIONS.items():
        if abbr in ("UT", "Z"):  # RFC 822 names, not tzdata abbreviations
            continue
        assert minutes in seen.get(abbr, set()), (abbr, minutes, seen.get(abbr))
    for abbr, readings in AMBIGUOUS_ZONES.items():
        assert set(readings.values()) <= seen[abbr], (abbr, readings, seen[abbr])
        # every abbreviation the tz database uses with several offsets is listed as ambiguous
    ambiguous_in_tzdata = {a for a in ZONE_ABBREVIATIONS if len(seen.get(a, ())) > 1}
    assert ambiguous_in_tzdata <= set(AMBIGUOUS_ZONES), ambiguous_in_tzdata - set(AMBIGUOUS_ZONES)


def test_unknown_zone_reaches_the_article(settings):
    """An entry whose page cannot be fetched falls back to its summary: the article keeps the
    flag and no invented instant (a connection refused on a closed local port)."""
    import socket

    from pipeline.fetch.http import GuardedClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parsed = parse_feed((FIXTURES / "time_zones.xml").read_bytes(), feed_url="https://wire.example.test/f.xml",
                        feed_id="z")
    ref = next(e for e in parsed.entries if e.title == "unknown")
    ref.link = f"http://127.0.0.1:{port}/gone"
    ref.summary = "The wire reported the event in a zone nobody defines."
    client = GuardedClient(settings)
    try:
        art = fetch_article(ref, client, settings)
    finally:
        client.close()
    assert art.extraction == "summary"
    assert art.published_at is None
    assert art.published_unknown_zone == {"local": "2026-07-01T15:00:00", "zone": "XYZT"}
