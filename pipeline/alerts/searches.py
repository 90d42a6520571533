"""Saved searches: a Lucene query string over title and body plus structured filters, stored as
percolator queries in ``<prefix>-searches``.

One query builder (:func:`build_query`) serves the percolator (:func:`to_percolator_query`),
``wirewatch search`` and ``wirewatch searches test``, so a saved search alerts on exactly the
articles a search with the same filters finds.

Semantics of a saved search (documented in the CLI help too):

- ``query``: Lucene query-string syntax (``query_string``) over ``title`` (boost 2) and ``body``;
  terms are ANDed unless the query says ``OR`` (``default_operator: AND``; alerts should be
  precise). Text is matched case- and accent-insensitively with English (Porter) stemming where
  the engine has it (the ``text_analysis`` setting, :func:`pipeline.index.mappings.analysis`).
  Prefix, wildcard, fuzzy and regexp terms (``crossing*``, ``body:cr?ssing``, ``crosing~``)
  match the unstemmed words (:mod:`pipeline.alerts.query_routing`), so ``crossing*`` finds "crossing".
- each list filter matches when ANY of its values matches (``persons: [A, B]`` = A or B);
  different filters are ANDed. Names (persons, organizations, speakers) compare
  case- and accent-insensitively against the canonical names of the enriched document
  (``persons[].name``, ``organizations[].name``, ``quotes[].speaker``); countries are ISO 3166
  alpha-2 codes; domains match ``source.domain`` exactly (a leading ``www.`` is dropped).
- ``near``: the article names at least one place within ``distance_km`` of a point
  (``geo_distance`` over ``geo_points``, the article's resolved locations); the point is given
  as ``lat``/``lon`` or as a ``place`` name resolved through the gazetteer when the search is
  added, and stored resolved.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pipeline.index import mappings
from pipeline.index.engine import SearchEngine
from pipeline.errors import ConfigError, EngineError, InvalidQueryError
from pipeline.logs import get_logger
from pipeline.alerts.query_routing import route_multiterm

log = get_logger(__name__)

#: Fields a saved search's query string runs over, with boosts (a word in the title counts
#: twice as much for relevance; matching itself is unaffected).
QUERY_FIELDS = ["title^2", "body"]
#: Stemmed text fields -> their unstemmed siblings, where prefix/wildcard/fuzzy terms are sent.
_EXACT_FIELDS = mappings.exact_fields("articles")
#: Largest distance accepted by ``near`` (half the Earth's circumference, ~20,037 km).
MAX_DISTANCE_KM = 20_037.0
#: Saved searches fetched per page when listing.
LIST_PAGE = 1000

#: Longest query string accepted, characters. Saved searches with long OR-lists of names stay
#: far below it; a 1 MB query makes the engine echo it back in its error.
QUERY_MAX_CHARS = 10_000
#: Deepest nesting of parentheses accepted. Lucene's query parser recurses once per level; at
#: about 2,200 levels OpenSearch 2.19's parser overflowed its stack and the request never
#: finished (issue 16). No real query needs more than a handful.
QUERY_MAX_DEPTH = 32

_SLUG_RE = re.compile(r"[^a-z0-9]+")
FILTER_KEYS = ("persons", "organizations", "speakers", "countries", "topics", "language", "domains", "near")


def slugify(name: str, max_len: int = 64) -> str:
    """``"Border crossings near Tijuana"`` -> ``"border-crossings-near-tijuana"`` (ASCII, max_len)."""
    import unicodedata

    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_RE.sub("-", ascii_).strip("-")[:max_len].strip("-")
    return slug or "search"


def query_depth(query: str) -> int:
    """Deepest nesting of ``(`` groups in a Lucene query string, outside quoted phrases and
    not escaped with a backslash (Lucene's escape character)."""
    depth = deepest = 0
    quoted = escaped = False
    for ch in query:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest


def query_problem(query: str | None) -> str | None:
    """Why ``query`` is refused before it reaches the engine, or None: longer than
    :data:`QUERY_MAX_CHARS` characters, or parentheses nested deeper than :data:`QUERY_MAX_DEPTH`."""
    if not query:
        return None
    if len(query) > QUERY_MAX_CHARS:
        return f"the query is {len(query):,} characters long; the limit is {QUERY_MAX_CHARS:,}"
    depth = query_depth(query)
    if depth > QUERY_MAX_DEPTH:
        return f"the query nests parentheses {depth} deep; the limit is {QUERY_MAX_DEPTH}"
    return None


def _list(v: Any) -> Any:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return v


class Near(BaseModel):
    """Distance filter: within ``distance_km`` of ``place`` (a name) or ``lat``/``lon`` (degrees)."""

    model_config = ConfigDict(extra="forbid")

    place: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    distance_km: float = Field(100.0, gt=0, le=MAX_DISTANCE_KM)

    @model_validator(mode="after")
    def _point_or_place(self) -> "Near":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("near needs both lat and lon")
        if self.lat is None and not self.place:
            raise ValueError("near needs a place or lat/lon")
        return self

    @property
    def resolved(self) -> bool:
        """True when the point is known (lat/lon set)."""
        return self.lat is not None and self.lon is not None


class SearchFilters(BaseModel):
    """Structured filters (see the module docstring for their semantics)."""

    model_config = ConfigDict(extra="forbid")

    persons: list[str] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    language: str | None = None
    domains: list[str] = Field(default_factory=list)
    near: Near | None = None

    @field_validator("persons", "organizations", "speakers", "countries", "topics", "domains", mode="before")
    @classmethod
    def _as_list(cls, v: Any) -> Any:
        return _list(v)

    @field_validator("persons", "organizations", "speakers", "topics")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        return [x.strip() for x in v if x and x.strip()]

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        out = [x.strip().upper() for x in v if x and x.strip()]
        for c in out:
            if not re.fullmatch(r"[A-Z]{2}", c):
                raise ValueError(f"country {c!r} is not an ISO 3166 alpha-2 code (e.g. MX, US)")
        return out

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            d = d.strip().lower()
            d = re.sub(r"^[a-z]+://", "", d).split("/")[0]
            if d.startswith("www."):
                d = d[4:]
            if d:
                out.append(d)
        return out

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        # articles carry ISO 639-1 codes (pipeline.language, pipeline.fetch.extract); a region
        # subtag ("en-US") is dropped, as extraction drops it from declared languages
        code = (v or "").strip().lower().replace("_", "-").split("-")[0]
        if not code:
            return None
        if not re.fullmatch(r"[a-z]{2}", code):
            raise ValueError(f"language {v!r} is not an ISO 639-1 code (two letters, e.g. en, es, fr)")
        return code

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not any(getattr(self, k) for k in FILTER_KEYS)


class SavedSearch(BaseModel):
    """A saved search. ``id`` is a slug (default: from ``name``); filters may be given flat
    (``persons: [...]``) or under ``filters``; ``notify`` is a list of channel configs, stored as
    given (validated by :mod:`pipeline.alerts.notify` when that module is present)."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    name: str = Field(min_length=1, max_length=200)
    query: str | None = None
    filters: SearchFilters = Field(default_factory=SearchFilters)
    enabled: bool = True
    notify: list[dict[str, Any]] = Field(default_factory=list)
    #: How matches are notified: ``article`` (every matching story cluster of copies, as
    #: before), ``story`` (the first matching article of a story, then nothing more for that
    #: story) or ``digest`` (matches are recorded and sent grouped by story once per
    #: ``digest_period``, :mod:`pipeline.alerts.digests`).
    alert_mode: Literal["article", "story", "digest"] = "article"
    digest_period: Literal["hourly", "daily"] = "daily"
    #: IANA time zone whose hours and days the digest periods follow (``Europe/Paris``).
    digest_timezone: str = "UTC"
    created_at: str | None = None
    updated_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_filters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            flat = {k: data.pop(k) for k in FILTER_KEYS if k in data}
            if flat:
                filters = dict(data.get("filters") or {})
                filters.update(flat)
                data["filters"] = filters
        return data

    @field_validator("query")
    @classmethod
    def _query_limits(cls, v: str | None, info: ValidationInfo) -> str | None:
        if (info.context or {}).get("stored"):
            return v  # already in the index (perhaps from before the limits): readable, never re-sent as is
        problem = query_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("digest_timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. UTC, Europe/Paris, America/Mexico_City)") from None
        return v

    @model_validator(mode="after")
    def _slug_and_content(self) -> "SavedSearch":
        self.id = slugify(self.id or self.name)
        if self.query is not None and not self.query.strip():
            self.query = None
        if self.query is None and self.filters.is_empty():
            raise ValueError("a saved search needs a query or at least one filter")
        return self


# --- query building ---------------------------------------------------------------------------

def build_query(query: str | None, filters: SearchFilters | None = None) -> dict[str, Any]:
    """The engine query for a query string and filters (shared by percolator and search).

    ``near`` must be resolved (lat/lon) first: :func:`resolve_near`. Returns ``match_all`` when
    neither is given. Raises ``ValueError`` for an unresolved ``near`` and
    :class:`InvalidQueryError` (reason ``query_too_complex``) for a query over the limits of
    :func:`query_problem`, before anything is sent.
    """
    problem = query_problem(query)
    if problem:
        raise InvalidQueryError(problem, reason="query_too_complex")
    filters = filters or SearchFilters()
    must: list[dict[str, Any]] = []
    flt: list[dict[str, Any]] = []
    if query and query.strip():
        routed = route_multiterm(query, _EXACT_FIELDS, QUERY_FIELDS)
        must.append({"query_string": {"query": routed, "fields": list(QUERY_FIELDS), "default_operator": "AND"}})
    if filters.persons:
        flt.append({"terms": {"persons.name.folded": filters.persons}})
    if filters.organizations:
        flt.append({"terms": {"organizations.name.folded": filters.organizations}})
    if filters.speakers:
        flt.append({"nested": {"path": "quotes", "query": {"terms": {"quotes.speaker.folded": filters.speakers}}}})
    if filters.countries:
        flt.append({"terms": {"countries": filters.countries}})
    if filters.topics:
        flt.append({"terms": {"topics": filters.topics}})
    if filters.language:
        flt.append({"term": {"language": filters.language}})
    if filters.domains:
        flt.append({"terms": {"source.domain": filters.domains}})
    if filters.near is not None:
        if not filters.near.resolved:
            raise ValueError(f"near {filters.near.place!r} is not resolved to coordinates")
        flt.append({"geo_distance": {"distance": f"{filters.near.distance_km:g}km",
                                     "geo_points": {"lat": filters.near.lat, "lon": filters.near.lon}}})
    if not must and not flt:
        return {"match_all": {}}
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if flt:
        body["filter"] = flt
    return {"bool": body}


def to_percolator_query(search: SavedSearch) -> dict[str, Any]:
    """The query stored in the percolator field ``query`` for ``search`` (``near`` resolved)."""
    return build_query(search.query, search.filters)


def _coords(found: Any) -> tuple[float, float] | None:
    if found is None:
        return None
    if isinstance(found, dict):
        lat, lon = found.get("lat"), found.get("lon")
    elif isinstance(found, (tuple, list)) and len(found) >= 2:
        lat, lon = found[0], found[1]
    else:
        lat, lon = getattr(found, "lat", None), getattr(found, "lon", None)
    if lat is None or lon is None:
        return None
    return float(lat), float(lon)


def default_place_resolver(name: str) -> Any:
    """Resolve a place name through the gazetteer (``pipeline.enrich.places.resolve_place``).

    Returns whatever the gazetteer returns (a dict/object with ``lat``/``lon``, or None). The
    gazetteer is imported on first use (it takes seconds to load), not when searches are.
    """
    from pipeline.enrich.places import resolve_place

    return resolve_place(name)


def resolve_near(filters: SearchFilters, resolver: Callable[[str], Any] | None = None) -> SearchFilters:
    """Return ``filters`` with ``near.lat/lon`` filled from ``near.place`` when missing.

    Raises ConfigError (reason ``place_unresolved``) when the gazetteer does not know the place.
    """
    near = filters.near
    if near is None or near.resolved:
        return filters
    found = _coords((resolver or default_place_resolver)(near.place or ""))
    if found is None:
        raise ConfigError(f"unknown place {near.place!r}: the gazetteer has no match; give lat/lon instead",
                          reason="place_unresolved")
    return filters.model_copy(update={"near": near.model_copy(update={"lat": found[0], "lon": found[1]})})


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- store ----------------------------------------------------------------------------------------

class SavedSearchStore:
    """Saved searches in ``<prefix>-searches`` (one document per search, ``_id`` = search id).

    The document is ``{"query": <percolator query>, "search": {id, name, query, enabled,
    filters, notify, created_at, updated_at}}``. Writes refresh the index so the next
    percolation sees them. ``resolver`` resolves ``near.place`` (default: the gazetteer).
    """

    def __init__(self, engine: SearchEngine, settings: Any = None, *, resolver: Callable[[str], Any] | None = None):
        self.engine = engine
        self.settings = settings
        self.resolver = resolver
        self.index = engine.alias("searches")

    # -- validation
    def prepare(self, search: SavedSearch) -> SavedSearch:
        """Resolve ``near``, check notify channels, and have the engine validate the query.

        Returns the resolved search. Raises InvalidQueryError with the engine's own message when
        the articles index refuses the query, ConfigError for an unknown place, a bad channel or a
        target the SSRF guard refuses (reason ``blocked_target``; ``settings.notify_allow_hosts``).
        """
        search = search.model_copy(update={"filters": resolve_near(search.filters, self.resolver)})
        from pipeline.alerts.notify import check_targets

        if search.notify:
            # the SSRF guard on every target; without settings nothing is allowlisted
            check_targets(search.notify, self.settings)
        message = self.engine.validate_query(self.engine.alias("articles"), to_percolator_query(search))
        if message is not None:
            raise InvalidQueryError(message)
        return search

    def _doc(self, search: SavedSearch) -> dict[str, Any]:
        return {
            "query": to_percolator_query(search),
            "search": {
                "id": search.id, "name": search.name, "query": search.query, "enabled": search.enabled,
                "filters": search.filters.model_dump(exclude_defaults=True),
                "notify": search.notify, "created_at": search.created_at, "updated_at": search.updated_at,
                "alert_mode": search.alert_mode, "digest_period": search.digest_period,
                "digest_timezone": search.digest_timezone,
            },
        }

    @staticmethod
    def _from_source(source: dict[str, Any]) -> SavedSearch:
        s = dict(source.get("search") or {})
        return SavedSearch.model_validate({k: v for k, v in s.items() if v is not None or k == "query"},
                                          context={"stored": True})

    # -- CRUD
    def add(self, search: SavedSearch, *, replace: bool = False) -> SavedSearch:
        """Validate and store ``search``; returns the stored (resolved) search.

        Raises InvalidQueryError (engine's message) for a refused query, ConfigError for an
        unknown place or when ``search.id`` exists and ``replace`` is False.
        """
        existing = self.get(search.id) if replace else None
        search = self.prepare(search)
        now = _now_iso()
        search = search.model_copy(update={"created_at": (existing.created_at if existing else None) or search.created_at or now,
                                           "updated_at": now})
        try:
            # op_type=create refuses an existing id atomically (two concurrent adds cannot both win)
            self.engine.index_doc(self.index, search.id, self._doc(search), op_type="index" if replace else "create",
                                  refresh=True)
        except EngineError as exc:
            if getattr(exc, "status", None) == 409:
                raise ConfigError(f"saved search {search.id!r} exists; delete it first or use replace",
                                  reason="exists") from None
            if getattr(exc, "status", None) == 400:
                raise InvalidQueryError(str(exc)) from None
            raise
        log.info("saved_search_stored", search_id=search.id, replaced=existing is not None)
        return search

    def get(self, search_id: str) -> SavedSearch | None:
        """The saved search, or None."""
        src = self.engine.get(self.index, search_id)
        return self._from_source(src) if src else None

    def list(self, *, enabled: bool | None = None) -> list[SavedSearch]:
        """All saved searches sorted by id (only enabled/disabled ones when ``enabled`` is set)."""
        query: dict[str, Any] = {"term": {"search.enabled": enabled}} if enabled is not None else {"match_all": {}}
        body: dict[str, Any] = {"query": query, "size": LIST_PAGE, "sort": [{"search.id": "asc"}], "_source": ["search"]}
        out: list[SavedSearch] = []
        while True:
            hits = self.engine.search(self.index, body)["hits"]["hits"]
            out.extend(self._from_source(h["_source"]) for h in hits)
            if len(hits) < LIST_PAGE:
                return out
            body["search_after"] = hits[-1]["sort"]

    def _set_enabled(self, search_id: str, enabled: bool) -> SavedSearch:
        if self.get(search_id) is None:
            raise ConfigError(f"no saved search {search_id!r}", reason="not_found")
        self.engine.update_doc(self.index, search_id, {"search": {"enabled": enabled, "updated_at": _now_iso()}}, refresh=True)
        return self.get(search_id)  # type: ignore[return-value]

    def disable(self, search_id: str) -> SavedSearch:
        """Stop alerting on this search (kept, percolation skips it). ConfigError if unknown."""
        return self._set_enabled(search_id, False)

    def enable(self, search_id: str) -> SavedSearch:
        """Alert on this search again. ConfigError if unknown."""
        return self._set_enabled(search_id, True)

    def delete(self, search_id: str) -> bool:
        """Delete the saved search; True if it existed. Its alert history stays."""
        return self.engine.delete(self.index, search_id, refresh=True)

    def bulk_add(self, searches: Iterable[SavedSearch], *, validate: bool = True) -> list[str]:
        """Store many searches in one bulk request (benchmarks, YAML files); returns ids written.

        ``near`` must be resolvable; with ``validate`` each query is validated first (one
        ``_count`` each). Raises InvalidQueryError / EngineError on the first failure.
        """
        docs = []
        now = _now_iso()
        for s in searches:
            s = self.prepare(s) if validate else s.model_copy(update={"filters": resolve_near(s.filters, self.resolver)})
            s = s.model_copy(update={"created_at": s.created_at or now, "updated_at": now})
            doc = self._doc(s)
            doc["_wid"] = s.id
            docs.append(doc)
        lines: list[dict[str, Any]] = []
        for d in docs:
            lines.append({"index": {"_index": self.index, "_id": d.pop("_wid")}})
            lines.append(d)
        items = self.engine.bulk(lines, refresh=True)
        bad = [i for i in items if not i.ok]
        if bad:
            raise InvalidQueryError(f"saved search {bad[0].id!r} refused: {bad[0].error}")
        return [i.id for i in items]

    # -- YAML
    def load_yaml(self, path: Path | str) -> list[dict[str, str]]:
        """Upsert the saved searches of a YAML file (``searches: [ {name, query, ...}, ... ]``).

        Returns ``[{"id", "status"}]`` with status created | updated | unchanged. A search whose
        definition (query, filters, notify, enabled) equals the stored one is left alone.
        Raises ConfigError for a malformed file, InvalidQueryError for a refused query.
        """
        searches = read_searches_yaml(path)
        results = []
        for s in searches:
            existing = self.get(s.id)
            if existing is not None:
                resolved = s.model_copy(update={"filters": resolve_near(s.filters, self.resolver)})
                if _definition(existing) == _definition(resolved):
                    results.append({"id": s.id, "status": "unchanged"})
                    continue
            self.add(s, replace=True)
            results.append({"id": s.id, "status": "updated" if existing else "created"})
        return results

    # -- matching over the index
    def matching_articles(self, search: SavedSearch, *, limit: int = 20, since: datetime | None = None,
                          include_duplicates: bool = False) -> dict[str, Any]:
        """Recent indexed articles the search matches (what ``searches test`` shows).

        Returns the engine's search response (newest first, highlights on title/body).
        ``since`` restricts to ``fetched_at >= since``; duplicates (``dedupe.duplicate_of``
        set) are left out unless ``include_duplicates``, as alerts leave them out.
        """
        search = search.model_copy(update={"filters": resolve_near(search.filters, self.resolver)})
        return run_search(self.engine, search.query, search.filters, limit=limit, sort="date", since=since,
                          include_duplicates=include_duplicates)


def _definition(s: SavedSearch) -> dict[str, Any]:
    return {"name": s.name, "query": s.query, "filters": s.filters.model_dump(), "enabled": s.enabled, "notify": s.notify,
            "alert_mode": s.alert_mode, "digest_period": s.digest_period, "digest_timezone": s.digest_timezone}


def read_searches_yaml(path: Path | str) -> list[SavedSearch]:
    """Parse a saved-searches YAML file into :class:`SavedSearch` objects (not resolved).

    Format: a mapping with a ``searches`` list (or a bare list); each item a SavedSearch.
    Raises ConfigError naming the file and the item for anything malformed (one line per
    problem, :func:`pipeline.errors.validation_problems`), or a file that is not UTF-8.
    """
    import yaml
    from pydantic import ValidationError

    from pipeline.errors import validation_problems

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x}); "
                          "save the file as UTF-8", reason="searches_file") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: {exc}", reason="searches_file") from None
    items = data.get("searches") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"{p}: expected a 'searches' list", reason="searches_file")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(SavedSearch.model_validate(item))
        except ValidationError as exc:
            # one line per problem: "<file>: searches[0].query: ..." (the CLI prints each line)
            raise ConfigError("\n".join(validation_problems(exc, where=f"{p}: searches[{i}]")),
                              reason="searches_file") from None
    ids = [s.id for s in out]
    dup = {x for x in ids if ids.count(x) > 1}
    if dup:
        raise ConfigError(f"{p}: duplicate saved-search ids {sorted(dup)}", reason="searches_file")
    return out


# --- ad-hoc search --------------------------------------------------------------------------------

def run_search(engine: SearchEngine, query: str | None, filters: SearchFilters | None = None, *, limit: int = 20,
               sort: str = "relevance", since: datetime | None = None, include_duplicates: bool = True,
               fragment_chars: int = 160) -> dict[str, Any]:
    """Search the articles alias with the saved-search semantics; returns the engine's response.

    ``sort``: ``relevance`` (score, then newest) or ``date`` (``published_at`` newest first,
    undated last, then ``fetched_at``). Highlights: up to 2 fragments of ``fragment_chars`` from
    title and body, matched words between « and »; when a matching document has a field longer
    than the engine's highlighting limit, the search is repeated without highlights and the
    response carries ``"highlight_skipped": "field_over_highlight_limit"``. Raises
    InvalidQueryError with the engine's message (or ``query_too_complex``), EngineError otherwise.
    """
    q = build_query(query, filters)
    extra: list[dict[str, Any]] = []
    if since is not None:
        extra.append({"range": {"fetched_at": {"gte": since.astimezone(timezone.utc).isoformat()}}})
    must_not = [] if include_duplicates else [{"exists": {"field": "dedupe.duplicate_of"}}]
    if extra or must_not:
        q = {"bool": {"must": [q], "filter": extra, "must_not": must_not}}
    by_date = [{"published_at": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
               {"fetched_at": {"order": "desc", "missing": "_last", "unmapped_type": "date"}}]
    body: dict[str, Any] = {
        "query": q,
        "size": limit,
        "sort": by_date if sort == "date" else ["_score", *by_date],
        "track_scores": True,
        "_source": {"excludes": ["body", "quotes.text"]},
        # The .exact sub-fields carry the matches of prefix/wildcard/fuzzy terms (query_routing).
        "highlight": {"fields": {"title": {"number_of_fragments": 0}, "body": {"fragment_size": fragment_chars, "number_of_fragments": 2},
                                 "title.exact": {"number_of_fragments": 0},
                                 "body.exact": {"fragment_size": fragment_chars, "number_of_fragments": 2}},
                      "pre_tags": ["«"], "post_tags": ["»"]},
    }
    index = engine.alias("articles")
    try:
        resp = engine.search(index, body)
    except EngineError as exc:
        if not _highlight_limit(str(exc)):
            raise
        resp = None
    else:
        failures = (resp.get("_shards") or {}).get("failures") or []
        if not any(_highlight_limit(str(f)) for f in failures):
            return resp
    # A document indexed before the field caps (pipeline.sanitize) has a field longer than the
    # highlighter analyses (index.highlight.max_analyzed_offset, 1,000,000 characters by
    # default); the engine then fails the whole search. Search again without highlights: the
    # hits matter more than the fragments, and the request stays the same on every engine.
    log.warning("highlight_skipped", index=index, reason="field_over_highlight_limit")
    body.pop("highlight")
    resp = engine.search(index, body)
    resp["highlight_skipped"] = "field_over_highlight_limit"
    return resp


def _highlight_limit(message: str) -> bool:
    """True when an engine error is the highlighter's analysed-length limit (the setting's name
    is in the message in Elasticsearch 7.x-9.x and OpenSearch 2.x/3.x alike)."""
    return "max_analyzed_offset" in message or "max_analyzer_offset" in message
