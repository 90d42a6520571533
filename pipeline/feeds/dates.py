"""Entry dates written with a time-zone abbreviation: the right UTC instant, or a flag.

feedparser's RFC 822 date parser knows a dozen North American abbreviations (EST, CDT, PST
...) plus MET/MEST, and reads every other one (CEST, BST, IST, AEST, NZDT ...) as UTC without a
word: a CEST date comes out two hours late. :func:`resolve_entry_date` re-reads the date as
written when it ends in an alphabetic zone:

* an abbreviation in :data:`ZONE_ABBREVIATIONS` gives its UTC offset (an ambiguous one is
  resolved by the feed's country-code domain, see :data:`AMBIGUOUS_ZONES`);
* a numeric offset written next to the abbreviation (``+0200 (CEST)``) wins over the name;
* any other abbreviation is *not* shifted by a guess: the entry gets no UTC instant and keeps
  the wall-clock time as written with the zone's name (:class:`EntryDate` ``local`` and
  ``zone``), flagged as of unknown zone;
* dates without an alphabetic zone (numeric offsets, ``Z``, W3C/ISO dates) are feedparser's.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any
from urllib.parse import urlsplit

#: UTC offsets in minutes of the time-zone abbreviations news feeds write, east positive.
#: Source: the tz database (IANA tzdata 2024+, the abbreviations its zones use for current
#: times: e.g. Europe/Berlin CET/CEST, Europe/London GMT/BST, Australia/Sydney AEST/AEDT,
#: Pacific/Auckland NZST/NZDT, Asia/Kolkata IST); ``tests/test_pipeline/feeds/test_dates.py`` checks every
#: entry against the tz database Python's ``zoneinfo`` reads. Abbreviations tzdata uses with
#: more than one offset are in :data:`AMBIGUOUS_ZONES` with the default chosen here.
ZONE_ABBREVIATIONS: dict[str, int] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
    "WEST": 60, "BST": 60, "CET": 60, "MET": 60, "WAT": 60,
    "CEST": 120, "MEST": 120, "EET": 120, "CAT": 120, "SAST": 120,
    "EEST": 180, "MSK": 180, "EAT": 180, "IDT": 180,
    "PKT": 300, "IST": 330, "WIB": 420,
    "HKT": 480, "AWST": 480, "WITA": 480,
    "JST": 540, "KST": 540, "WIT": 540, "ACST": 570,
    "AEST": 600, "ChST": 600, "ACDT": 630, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
    "NDT": -150, "NST": -210, "ADT": -180, "AST": -240,
    "EDT": -240, "EST": -300, "CDT": -300, "CST": -360,
    "MDT": -360, "MST": -420, "PDT": -420, "PST": -480,
    "AKDT": -480, "AKST": -540, "HDT": -540, "HST": -600, "SST": -660,
}

#: Abbreviations the tz database uses for several offsets: ``{abbreviation: {country-code
#: top-level domain: offset in minutes}}``. A feed served from one of these domains gets that
#: country's offset; any other feed gets :data:`ZONE_ABBREVIATIONS`' default, chosen as the
#: reading most feeds using the abbreviation mean:
#:
#: * IST: India Standard Time +05:30 (Asia/Kolkata) by default, the country with by far the
#:   most news sites writing it; Irish Standard Time +01:00 (Europe/Dublin, summer) on ``.ie``;
#:   Israel Standard Time +02:00 (Asia/Jerusalem) on ``.il``.
#: * CST/CDT: North American Central -06:00/-05:00 by default (the many US and Canadian
#:   sites); China Standard Time +08:00 on ``.cn``, ``.tw``, ``.mo`` (Asia/Shanghai,
#:   Asia/Taipei, Asia/Macau); Cuba -05:00/-04:00 on ``.cu`` (America/Havana).
#: * PST: North American Pacific -08:00 by default; Philippine Standard Time +08:00 on
#:   ``.ph`` (Asia/Manila).
AMBIGUOUS_ZONES: dict[str, dict[str, int]] = {
    "IST": {"ie": 60, "il": 120},
    "CST": {"cn": 480, "tw": 480, "mo": 480, "cu": -300},
    "CDT": {"cu": -240},
    "PST": {"ph": 480},
}

# "<date> <time>[ <numeric offset>][ (ABBR)| ABBR]": the abbreviation last, alone or in parentheses.
_ZONE_TAIL = re.compile(
    r"^(?P<head>.*?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*"
    r"(?P<offset>(?:GMT|UTC)?[+-]\d{1,2}(?::?\d{2})?)?\s*"
    r"\(?(?P<abbr>[A-Za-z]{1,5})\)?\s*$"
)
_ISO_HEAD = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*$")


@dataclass
class EntryDate:
    """An entry's date.

    ``ts`` epoch seconds (UTC) and ``iso`` its ISO-8601 form with ``+00:00``, both None when the
    instant is not known; ``local`` the wall-clock time as written (ISO-8601 without offset) and
    ``zone`` the abbreviation, set only when the zone is unknown; ``warning`` a reason code
    (``unknown_zone``) or None.
    """

    ts: float | None = None
    iso: str | None = None
    local: str | None = None
    zone: str | None = None
    warning: str | None = None

    def unknown_zone(self) -> dict[str, str] | None:
        """``{"local": ..., "zone": ...}`` for a date of unknown zone, else None (the
        ``published_unknown_zone`` field of references, articles and documents)."""
        return {"local": self.local, "zone": self.zone} if self.local else None


def iso_utc(ts: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC (``2026-12-06T12:00:00+00:00``), None when out of range."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def zone_offset_minutes(abbr: str, feed_url: str | None = None) -> int | None:
    """UTC offset (minutes, east positive) of a zone abbreviation, or None when unknown.

    Case-insensitive. Ambiguous abbreviations follow :data:`AMBIGUOUS_ZONES` by the
    country-code top-level domain of ``feed_url``.
    """
    key = next((k for k in ZONE_ABBREVIATIONS if k.upper() == abbr.upper()), None)
    if key is None:
        return None
    tld = (urlsplit(feed_url or "").hostname or "").rsplit(".", 1)[-1].lower()
    return AMBIGUOUS_ZONES.get(key.upper(), {}).get(tld, ZONE_ABBREVIATIONS[key])


def _numeric_offset_minutes(text: str) -> int | None:
    m = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?", text, re.IGNORECASE)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    if minutes > 14 * 60:
        return None
    return -minutes if m.group(1) == "-" else minutes


def _wall_clock(head: str) -> datetime | None:
    """The date and time written in ``head`` (no zone), or None when it is neither RFC 822 nor ISO."""
    m = _ISO_HEAD.match(head)
    try:
        if m:
            y, mo, d, h, mi, s = (int(g or 0) for g in m.groups())
            return datetime(y, mo, d, h, mi, s)
        parts = parsedate_tz(head + " +0000")
        if parts is None:
            return None
        y = parts[0]
        if y < 100:  # two-digit years as RFC 2822 section 4.3 reads them
            y += 2000 if y < 50 else 1900
        return datetime(y, *parts[1:6])
    except (ValueError, OverflowError, TypeError):
        return None


def resolve_entry_date(raw: str | None, parsed: Any, feed_url: str | None = None) -> EntryDate:
    """The UTC instant of an entry date (rules in the module docstring).

    ``raw`` is the date as written in the feed (feedparser's ``published``/``updated``),
    ``parsed`` feedparser's ``*_parsed`` struct_time (UTC) or None, ``feed_url`` the feed's
    address (for ambiguous abbreviations). Never raises; an unreadable date gives an empty
    :class:`EntryDate`.
    """
    fp_ts = None
    if parsed:
        try:
            fp_ts = float(calendar.timegm(parsed))
        except (TypeError, ValueError, OverflowError):
            fp_ts = None
    m = _ZONE_TAIL.match((raw or "").strip())
    if not m or len(m.group("abbr")) == 1 and not m.group("offset"):
        # no alphabetic zone (or a one-letter military zone, left to feedparser)
        return EntryDate(ts=fp_ts, iso=iso_utc(fp_ts))
    wall = _wall_clock(m.group("head"))
    if wall is None:
        return EntryDate(ts=fp_ts, iso=iso_utc(fp_ts))
    offset = _numeric_offset_minutes(m.group("offset")) if m.group("offset") else None
    if offset is None:
        offset = zone_offset_minutes(m.group("abbr"), feed_url)
    if offset is None:
        return EntryDate(local=wall.isoformat(), zone=m.group("abbr"), warning="unknown_zone")
    try:
        ts = (wall.replace(tzinfo=timezone.utc) - timedelta(minutes=offset)).timestamp()
    except (OverflowError, ValueError):
        return EntryDate(ts=fp_ts, iso=iso_utc(fp_ts))
    return EntryDate(ts=ts, iso=iso_utc(ts))


__all__ = ["AMBIGUOUS_ZONES", "EntryDate", "ZONE_ABBREVIATIONS", "iso_utc", "resolve_entry_date",
           "zone_offset_minutes"]
