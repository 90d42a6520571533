"""One adapter for the search engines: OpenSearch through ``opensearch-py``, Elasticsearch through
the official ``elasticsearch`` client.

Every request goes through :meth:`SearchEngine.request` (method, path, JSON body), so request
bodies, paths and parameters are shared by both engines; the only engine-specific code is
building the client (:meth:`SearchEngine.from_settings`), sending one request
(:class:`_OpenSearchTransport` / :class:`_ElasticsearchTransport`) and translating the clients'
exceptions into :class:`~pipeline.errors.EngineError`. Percolation, bulk, search, validate,
aliases and composable index templates use the same REST paths and bodies in OpenSearch 2.x/3.x
and Elasticsearch 7.17/8.x/9.x; the tests run every one of them against OpenSearch 2.19 and 3.x
and Elasticsearch 7.17 (the ``elasticsearch`` client 8.x; the 9.x client refuses 7.17 nodes).
The text analysis of new indices is the one thing chosen per engine (:meth:`SearchEngine.text_analysis`).

Errors: every failure raises :class:`EngineError` (``transient=True`` when the engine is
unreachable, timed out or overloaded: connection errors, 429, 502, 503, 504) with ``status``
(HTTP status or None) and ``body`` (the engine's JSON error, or None) attributes; a query the
engine refuses raises :class:`InvalidQueryError` carrying the engine's own message. Credentials
never reach logs or error messages: they live in ``SecretStr`` settings and in the client.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pipeline.errors import EngineError, InvalidQueryError
from pipeline.logs import get_logger
from pipeline.index import mappings

log = get_logger(__name__)

#: The clients' own loggers warn (with tracebacks) on every non-2xx answer, including the 404s
#: and 409s this adapter expects; the adapter raises or logs failures itself, with reasons.
CLIENT_LOGGERS = ("opensearch", "elastic_transport.transport")

#: HTTP statuses after which a retry may succeed (rate limited, bad gateway, unavailable, timeout).
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
#: Hits fetched per page when collecting every percolator match (the index.max_result_window
#: default is 10,000; a page of 1,000 keeps responses small).
PERCOLATE_PAGE_SIZE = 1000
#: Documents per percolate query; larger batches are split into chunks sent in one ``_msearch``
#: (see :meth:`SearchEngine.percolate` for the measurement behind the figure).
PERCOLATE_CHUNK_DOCS = 25
#: Returned by a transport for a 404 when the caller said the object may be missing.
MISSING = object()
#: Longest engine error message kept (characters). An engine echoes the query it refused, so a
#: 1 MB query would otherwise come back as a 1 MB message for every log line and terminal.
ERROR_MESSAGE_MAX = 1000
#: Server-side time budget of one search or percolate request (the search body's ``timeout``,
#: the same key in Elasticsearch 7.x-9.x and OpenSearch 2.x/3.x): shards stop collecting and
#: return what they have (``timed_out: true``). The client also stops waiting after
#: ``settings.search_query_timeout_s``.
SEARCH_TIMEOUT = "10s"


def cut_message(text: str, limit: int = ERROR_MESSAGE_MAX) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters cut]"


def engine_error_message(body: Any) -> str:
    """The engine's own message from an error response body.

    Takes ``error.root_cause[0].reason`` and the deepest ``caused_by.reason`` found in
    ``error`` or ``error.failed_shards[].reason`` (where parse errors of a query string say
    what is wrong), e.g. ``"Failed to parse query [title:(] :: Cannot parse 'title:(': ..."``.
    Falls back to ``str(body)``.
    """
    if not isinstance(body, dict):
        return str(body) if body else "unknown error"
    err = body.get("error", body)
    if isinstance(err, str):
        return err
    if not isinstance(err, dict):
        return str(err)
    parts: list[str] = []

    def add(text: Any) -> None:
        if isinstance(text, str) and text and not any(text in p for p in parts):
            parts.append(text)

    roots = err.get("root_cause") or []
    if roots and isinstance(roots[0], dict):
        add(roots[0].get("reason"))
    else:
        add(err.get("reason"))

    def deepest(node: Any) -> None:
        while isinstance(node, dict):
            add(node.get("reason") if isinstance(node.get("reason"), str) else None)
            node = node.get("caused_by")

    deepest(err.get("caused_by"))
    for shard in err.get("failed_shards") or []:
        reason = shard.get("reason") if isinstance(shard, dict) else None
        if isinstance(reason, dict):
            deepest(reason)
    if not parts:
        add(err.get("type"))
    return cut_message(" :: ".join(parts)) if parts else json.dumps(err)[:500]


def _engine_error(message: str, *, status: int | None, body: Any, transient: bool) -> EngineError:
    message = cut_message(message)
    reason = "engine_unreachable" if status is None and transient else "engine_error"
    if status == 429:
        reason = "engine_overloaded"
    exc = EngineError(message, reason=reason, transient=transient)
    exc.status = status  # type: ignore[attr-defined]
    exc.body = body  # type: ignore[attr-defined]
    return exc


def _params(params: dict[str, Any] | None) -> dict[str, str] | None:
    """Query-string parameters as strings (booleans as ``true``/``false``, as the engines require)."""
    if not params:
        return None
    out: dict[str, str] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


class _OpenSearchTransport:
    """Sends one request with ``opensearch-py``."""

    def __init__(self, client: Any):
        self.client = client

    def send(self, method: str, path: str, body: Any, params: dict[str, str] | None, ndjson: bool,
             missing_ok: bool = False, timeout_s: float | None = None) -> Any:
        from opensearchpy import exceptions as ox

        headers = {"content-type": "application/x-ndjson"} if ndjson else None
        if timeout_s is not None:  # opensearch-py takes a per-request socket timeout from params
            params = {**(params or {}), "request_timeout": timeout_s}
        try:
            resp = self.client.transport.perform_request(method, path, params=params, body=body, headers=headers,
                                                         ignore=(404,) if missing_ok else ())
            if missing_ok and isinstance(resp, dict) and resp.get("status") == 404 and "error" in resp:
                return MISSING
            return resp
        except ox.ConnectionTimeout as exc:
            raise _engine_error(f"search engine timed out: {type(exc).__name__}", status=None, body=None, transient=True) from None
        except ox.ConnectionError as exc:
            raise _engine_error(f"search engine unreachable: {exc.error if hasattr(exc, 'error') else type(exc).__name__}",
                                status=None, body=None, transient=True) from None
        except ox.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            info = exc.info if isinstance(exc.info, dict) else None
            raise _engine_error(engine_error_message(info or exc.error), status=status, body=info,
                                transient=status in TRANSIENT_STATUSES) from None

    def close(self) -> None:
        self.client.close()


class _ElasticsearchTransport:
    """Sends one request with the official ``elasticsearch`` client (8.x; tested against 7.17)."""

    def __init__(self, client: Any):
        self.client = client

    def send(self, method: str, path: str, body: Any, params: dict[str, str] | None, ndjson: bool,
             missing_ok: bool = False, timeout_s: float | None = None) -> Any:
        import elastic_transport
        import elasticsearch

        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
        try:
            client = self.client.options(request_timeout=timeout_s) if timeout_s is not None else self.client
            resp = client.perform_request(method, path, params=params, headers=headers, body=body)
            return resp.body
        except elasticsearch.ApiError as exc:
            status = exc.meta.status if exc.meta is not None else None
            if missing_ok and status == 404:
                return exc.body if isinstance(exc.body, dict) and "found" in exc.body else MISSING
            body_ = exc.body if isinstance(exc.body, dict) else None
            raise _engine_error(engine_error_message(body_ or exc.message), status=status, body=body_,
                                transient=status in TRANSIENT_STATUSES) from None
        except elastic_transport.ConnectionTimeout:
            raise _engine_error("search engine timed out", status=None, body=None, transient=True) from None
        except elastic_transport.TransportError as exc:
            raise _engine_error(f"search engine unreachable: {type(exc).__name__}", status=None, body=None,
                                transient=True) from None

    def close(self) -> None:
        self.client.close()


@dataclass
class SetupStep:
    """One object :meth:`SearchEngine.ensure_setup` handled.

    ``kind``: articles | searches | alerts; ``what``: template | index | alias | mapping | analysis;
    ``name``: the object's name; ``status``: created | existed | updated.
    """

    kind: str
    what: str
    name: str
    status: str

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON output."""
        return {"kind": self.kind, "what": self.what, "name": self.name, "status": self.status}


@dataclass
class BulkItem:
    """Per-document result of a bulk request: ``status`` is the HTTP status of the item,
    ``error`` the engine's message (None on success), ``error_type`` its type
    (e.g. ``version_conflict_engine_exception``)."""

    id: str
    status: int
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item was written (2xx)."""
        return 200 <= self.status < 300

    @property
    def conflict(self) -> bool:
        """True for a 409 (``op_type=create`` on an existing id)."""
        return self.status == 409

    @property
    def transient(self) -> bool:
        """True when retrying the item may succeed (429 and 5xx other than 501)."""
        return self.status in TRANSIENT_STATUSES or self.status in (500,)


class SearchEngine:
    """The search-engine adapter. Build with :meth:`from_settings`; ``prefix`` names indices.

    ``engine`` is ``"opensearch"`` or ``"elasticsearch"``. Aliases: :meth:`alias` gives
    ``<prefix>-articles`` / ``-searches`` / ``-alerts``.
    """

    def __init__(self, transport: Any, *, engine: str, prefix: str, shards: int = 1, replicas: int = 0,
                 text_analysis: str = "auto", query_timeout_s: float | None = None):
        self._transport = transport
        self.query_timeout_s = query_timeout_s
        self.engine = engine
        self.prefix = prefix
        self.shards = shards
        self.replicas = replicas
        self._text_analysis = text_analysis

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Any) -> "SearchEngine":
        """Build the client named by ``settings.search_engine`` from the ``search_*`` settings.

        Basic auth (``search_username``/``search_password``), API key (``search_api_key``; sent
        as ``Authorization: ApiKey`` to OpenSearch, which has no native API keys), TLS
        verification on unless ``search_verify_certs`` is false, ``search_ca_certs``,
        ``search_timeout_s``. Raises ``ConfigError``-free: an unreachable engine only shows on
        the first request (:class:`EngineError`, transient).
        """
        for name in CLIENT_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        hosts = [u.strip() for u in settings.search_url.split(",") if u.strip()]
        password = settings.search_password.get_secret_value() if settings.search_password else None
        api_key = settings.search_api_key.get_secret_value() if settings.search_api_key else None
        ca = str(settings.search_ca_certs) if settings.search_ca_certs else None
        if settings.search_engine == "elasticsearch":
            from elasticsearch import Elasticsearch

            kwargs: dict[str, Any] = {
                "verify_certs": settings.search_verify_certs,
                "request_timeout": settings.search_timeout_s,
                "max_retries": 1,
                "retry_on_timeout": False,
            }
            if ca:
                kwargs["ca_certs"] = ca
            if settings.search_username:
                kwargs["basic_auth"] = (settings.search_username, password or "")
            if api_key:
                kwargs["api_key"] = api_key
            transport: Any = _ElasticsearchTransport(Elasticsearch(hosts, **kwargs))
        else:
            from opensearchpy import OpenSearch

            kwargs = {
                "verify_certs": settings.search_verify_certs,
                "timeout": settings.search_timeout_s,
                "max_retries": 1,
                "retry_on_timeout": False,
                "ssl_show_warn": settings.search_verify_certs,
            }
            if ca:
                kwargs["ca_certs"] = ca
            if settings.search_username:
                kwargs["http_auth"] = (settings.search_username, password or "")
            if api_key:
                kwargs["headers"] = {"authorization": f"ApiKey {api_key}"}
            transport = _OpenSearchTransport(OpenSearch(hosts, **kwargs))
        log.debug("search_engine_client", engine=settings.search_engine, hosts=len(hosts))
        return cls(transport, engine=settings.search_engine, prefix=settings.index_prefix,
                   shards=settings.index_shards, replicas=settings.index_replicas,
                   text_analysis=getattr(settings, "text_analysis", "auto"),
                   query_timeout_s=getattr(settings, "search_query_timeout_s", None))

    def close(self) -> None:
        """Close the client's connections."""
        self._transport.close()

    def __enter__(self) -> "SearchEngine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- names ---------------------------------------------------------------------------
    def alias(self, kind: str) -> str:
        """``<prefix>-<kind>`` for kind in articles | searches | alerts."""
        return mappings.alias_name(self.prefix, kind)

    # --- raw ----------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                *, ndjson: bool = False, timeout_s: float | None = None) -> Any:
        """Send one request; return the decoded JSON body. Raises :class:`EngineError`.

        ``timeout_s`` replaces the client's timeout (``search_timeout_s``) for this request.
        """
        if timeout_s is None:
            return self._transport.send(method, path, body, _params(params), ndjson)
        return self._transport.send(method, path, body, _params(params), ndjson, timeout_s=timeout_s)

    # --- cluster --------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """``GET /``: name, cluster_name, version.number and version.distribution."""
        return self.request("GET", "/")

    def ping(self) -> bool:
        """True when the engine answers ``GET /``; never raises."""
        try:
            self.info()
            return True
        except EngineError:
            return False

    def health(self) -> dict[str, Any]:
        """Cluster health (``status`` green | yellow | red, nodes, shards). Raises EngineError.

        (No ``timeout`` query parameter: opensearch-py reads a ``timeout`` param as its own
        socket timeout; the client's ``search_timeout_s`` applies.)
        """
        return self.request("GET", "/_cluster/health")

    def text_analysis(self) -> str:
        """The text analysis new indices get (:func:`pipeline.index.mappings.analysis`): the
        ``text_analysis`` setting, or for ``auto`` ``english`` when the engine has the English
        stemmer and ASCII folding (the analysis-common module) and ``standard`` when it lacks
        them, as Elasticsearch's integ-test distribution does. Probed once with ``_analyze``.
        Raises EngineError when the engine is unreachable.
        """
        if self._text_analysis == "auto":
            probe = {"tokenizer": "standard", "text": "Crossings",
                     "filter": ["lowercase", "asciifolding", {"type": "stemmer", "language": "english"}]}
            try:
                self.request("POST", "/_analyze", probe)
                self._text_analysis = "english"
            except EngineError as exc:
                if getattr(exc, "status", None) != 400:
                    raise
                self._text_analysis = "standard"
            log.debug("text_analysis_chosen", analysis=self._text_analysis)
        return self._text_analysis

    # --- set-up ---------------------------------------------------------------------------
    def ensure_setup(self, kinds: Sequence[str] = mappings.KINDS) -> list[SetupStep]:
        """Create, idempotently, the index templates, versioned indices and aliases.

        For each kind: the template ``<prefix>-<kind>`` is put when missing or different from
        this code's (``_meta.body_sha256``); the index ``<prefix>-<kind>-v1`` is created with the alias
        ``<prefix>-<kind>`` unless the alias exists, in which case the current mapping is put
        on it (additive changes apply; a conflicting change raises EngineError). Returns what
        was created, updated or already there. Raises EngineError (transient when unreachable).
        """
        steps: list[SetupStep] = []
        analysis = self.text_analysis()
        for kind in kinds:
            tname = mappings.template_name(self.prefix, kind)
            body = mappings.index_template(self.prefix, kind, self.shards, self.replicas, analysis)
            existing = self._get_or_none(f"/_index_template/{tname}")
            digest = None
            if existing and existing.get("index_templates"):
                meta = existing["index_templates"][0]["index_template"].get("_meta") or {}
                digest = meta.get("body_sha256")
            if digest == body["_meta"]["body_sha256"]:
                steps.append(SetupStep(kind, "template", tname, "existed"))
            else:
                self.request("PUT", f"/_index_template/{tname}", body)
                steps.append(SetupStep(kind, "template", tname, "created" if existing is None else "updated"))

            alias = self.alias(kind)
            concrete = mappings.concrete_index_name(self.prefix, kind)
            alias_info = self._get_or_none(f"/_alias/{alias}")
            if alias_info:
                for index in sorted(alias_info):
                    if self._add_missing_analysis(index, analysis):
                        steps.append(SetupStep(kind, "analysis", index, "updated"))
                self.request("PUT", f"/{alias}/_mapping", mappings.mapping_for(kind))
                steps.append(SetupStep(kind, "alias", f"{alias} -> {', '.join(sorted(alias_info))}", "existed"))
                continue
            if self._get_or_none(f"/{alias}") is not None:
                raise EngineError(f"{alias} exists as a concrete index, not an alias; move its data "
                                  f"into {concrete} and delete it", reason="setup_conflict")
            if self._get_or_none(f"/{concrete}") is not None:
                self.request("POST", "/_aliases", {"actions": [
                    {"add": {"index": concrete, "alias": alias, "is_write_index": True}}]})
                steps.append(SetupStep(kind, "index", concrete, "existed"))
                steps.append(SetupStep(kind, "alias", f"{alias} -> {concrete}", "created"))
                continue
            try:
                self.request("PUT", f"/{concrete}",
                             mappings.create_index_body(self.prefix, kind, self.shards, self.replicas, analysis),
                             params={"wait_for_active_shards": 1})
                status = "created"
            except EngineError as exc:
                if "resource_already_exists" not in json.dumps(getattr(exc, "body", None) or {}):
                    raise
                status = "existed"  # created concurrently by another process
            steps.append(SetupStep(kind, "index", concrete, status))
            steps.append(SetupStep(kind, "alias", f"{alias} -> {concrete}", status))
        return steps

    def _add_missing_analysis(self, index: str, analysis: str) -> bool:
        """Give an existing index the analyzers/normalizers of :func:`mappings.analysis` it
        lacks (an index made by an older Wirewatch has no ``ww_exact``), so the current mapping
        can be put on it. Analysis settings change only on a closed index: the index is closed
        for the update and reopened (seconds). Existing components are never changed. Returns
        True when something was added. Raises EngineError.

        Documents indexed before get the new sub-fields when they are indexed again (or with
        ``_update_by_query``, where the engine has the reindex module; Elasticsearch's
        integ-test node has not).
        """
        current = (self.request("GET", f"/{index}/_settings").get(index, {}).get("settings", {})
                   .get("index", {}).get("analysis", {}))
        wanted = mappings.analysis(analysis)
        missing: dict[str, Any] = {}
        for section, components in wanted.items():
            have = current.get(section) or {}
            add = {name: spec for name, spec in components.items() if name not in have}
            if add:
                missing[section] = add
        if not missing:
            return False
        log.info("index_analysis_update", index=index, added=sorted(n for c in missing.values() for n in c))
        self.request("POST", f"/{index}/_close", params={"wait_for_active_shards": 1})
        try:
            self.request("PUT", f"/{index}/_settings", {"analysis": missing})
        finally:
            self.request("POST", f"/{index}/_open", params={"wait_for_active_shards": 1})
        return True

    def delete_all(self) -> list[str]:
        """Delete every index and template of this prefix (tests, benchmarks). Returns names deleted."""
        deleted: list[str] = []
        for kind in mappings.KINDS:
            for name in sorted(self._get_or_none(f"/{self.prefix}-{kind}-v*") or {}):
                self.request("DELETE", f"/{name}")
                deleted.append(name)
            tname = mappings.template_name(self.prefix, kind)
            if self._get_or_none(f"/_index_template/{tname}") is not None:
                self.request("DELETE", f"/_index_template/{tname}")
                deleted.append(f"template:{tname}")
        return deleted

    # --- documents --------------------------------------------------------------------------
    def bulk(self, lines: Iterable[dict[str, Any]], *, refresh: bool | str | None = None) -> list[BulkItem]:
        """Send NDJSON ``lines`` (action and source lines alternating, as the Bulk API wants).

        Returns one :class:`BulkItem` per action, in order. Raises EngineError when the whole
        request fails.
        """
        payload = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
        if not payload:
            return []
        resp = self.request("POST", "/_bulk", payload, params={"refresh": refresh}, ndjson=True)
        items: list[BulkItem] = []
        for item in resp.get("items", []):
            (_action, res), = item.items()
            err = res.get("error")
            items.append(BulkItem(
                id=str(res.get("_id")), status=int(res.get("status", 500)),
                error=engine_error_message({"error": err}) if err else None,
                error_type=err.get("type") if isinstance(err, dict) else None,
            ))
        return items

    def bulk_index(self, index: str, docs: Sequence[dict[str, Any]], id_field: str = "id", *,
                   op_type: str = "index", refresh: bool | str | None = None) -> list[BulkItem]:
        """Write ``docs`` to ``index`` with ``_id = doc[id_field]``; one :class:`BulkItem` per doc.

        ``op_type="index"`` overwrites (idempotent re-indexing); ``"create"`` refuses an existing
        id with a 409 item (``BulkItem.conflict``).
        """
        lines: list[dict[str, Any]] = []
        for doc in docs:
            lines.append({op_type: {"_index": index, "_id": str(doc[id_field])}})
            lines.append(doc)
        return self.bulk(lines, refresh=refresh)

    def index_doc(self, index: str, doc_id: str, doc: dict[str, Any], *, op_type: str = "index",
                  refresh: bool | str | None = None) -> dict[str, Any]:
        """Write one document; ``op_type="create"`` raises EngineError (status 409) if it exists."""
        return self.request("PUT", f"/{index}/_doc/{doc_id}", doc, params={"op_type": op_type, "refresh": refresh})

    def update_doc(self, index: str, doc_id: str, partial: dict[str, Any], *, refresh: bool | str | None = None) -> dict[str, Any]:
        """Partial update (``_update`` with ``doc``). Raises EngineError (status 404) if missing."""
        return self.request("POST", f"/{index}/_update/{doc_id}", {"doc": partial}, params={"refresh": refresh})

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """The document's ``_source``, or None when it does not exist."""
        resp = self._get_or_none(f"/{index}/_doc/{doc_id}")
        if not resp or not resp.get("found"):
            return None
        return resp.get("_source")

    def mget(self, index: str, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Several documents by id in one request: id -> ``_source`` (None when missing)."""
        if not ids:
            return {}
        resp = self.request("POST", f"/{index}/_mget", {"ids": list(ids)})
        return {d["_id"]: (d.get("_source") if d.get("found") else None) for d in resp.get("docs", [])}

    def delete(self, index: str, doc_id: str, *, refresh: bool | str | None = None) -> bool:
        """Delete one document; True if it existed."""
        try:
            self.request("DELETE", f"/{index}/_doc/{doc_id}", params={"refresh": refresh})
            return True
        except EngineError as exc:
            if getattr(exc, "status", None) == 404:
                return False
            raise

    def refresh(self, index: str) -> None:
        """Make recent writes to ``index`` (alias or name) visible to search."""
        self.request("POST", f"/{index}/_refresh")

    # --- queries ----------------------------------------------------------------------------
    def search(self, index: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        """``POST /<index>/_search`` with ``body``; a 400 raises InvalidQueryError (engine message).

        Every search has a time budget: the body's ``timeout`` (:data:`SEARCH_TIMEOUT`, unless the
        body sets one) on the server and ``query_timeout_s`` (``settings.search_query_timeout_s``)
        on the client; a client timeout raises a transient EngineError.
        """
        body = body if "timeout" in body else {**body, "timeout": SEARCH_TIMEOUT}
        try:
            return self.request("POST", f"/{index}/_search", body, params=params or None, timeout_s=self.query_timeout_s)
        except EngineError as exc:
            raise self._as_invalid_query(exc)

    def msearch(self, index: str, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several searches on ``index`` in one request; one response (or ``{"error": ...}``) each."""
        lines: list[dict[str, Any]] = []
        for body in bodies:
            lines.append({"index": index})
            lines.append(body if "timeout" in body else {**body, "timeout": SEARCH_TIMEOUT})
        payload = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines)
        return self.request("POST", "/_msearch", payload, ndjson=True, timeout_s=self.query_timeout_s).get("responses", [])

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        """Number of documents matching ``query`` (all when None); 400 -> InvalidQueryError."""
        body = {"query": query} if query is not None else None
        try:
            return int(self.request("POST", f"/{index}/_count", body, timeout_s=self.query_timeout_s)["count"])
        except EngineError as exc:
            raise self._as_invalid_query(exc)

    def validate_query(self, index: str, query: dict[str, Any]) -> str | None:
        """Ask the engine whether ``query`` runs on ``index``: None if so, else the engine's own message.

        Runs a ``_count`` (cheap, and unlike ``_validate/query`` it reports errors in the same
        structured form as a real search). Raises EngineError when the engine is unreachable.
        """
        try:
            self.count(index, query)
            return None
        except InvalidQueryError as exc:
            return str(exc)

    def percolate(self, docs: Sequence[dict[str, Any]], *, index: str | None = None,
                  filters: Sequence[dict[str, Any]] = (), source: Any = None,
                  sort_field: str = "search.id", chunk_docs: int | None = None) -> list[list[dict[str, Any]]]:
        """Match ``docs`` against the stored queries of ``index`` (default: the saved searches)
        in ONE HTTP request.

        Up to ``chunk_docs`` (default :data:`PERCOLATE_CHUNK_DOCS`) documents go into one
        multi-document ``percolate`` query; a larger batch becomes one ``_msearch`` request with
        one percolate search per chunk, which the engine runs concurrently. (Measured on the
        project's node with 1,000 saved searches: one 50-document percolate took about 0.4 s,
        two 25-document ones in parallel about 0.2-0.27 s, because the engine computes each
        hit's matching document slots over every document of the query.) A chunk with more
        than :data:`PERCOLATE_PAGE_SIZE` matching queries is paged with ``search_after``.

        ``filters`` restrict which stored queries are considered (e.g. enabled ones); ``source``
        is the ``_source`` filter of returned hits. Returns, for each doc (same order), the list
        of matching hits (``{"_id", "_source"}``). Raises EngineError / InvalidQueryError.
        """
        if not docs:
            return []
        index = index or self.alias("searches")
        chunk = max(1, chunk_docs or PERCOLATE_CHUNK_DOCS)
        docs = list(docs)
        out: list[list[dict[str, Any]]] = [[] for _ in docs]

        def body_for(part: list[dict[str, Any]]) -> dict[str, Any]:
            body: dict[str, Any] = {
                "query": {"bool": {"filter": [{"percolate": {"field": "query", "documents": part}}, *filters]}},
                "size": PERCOLATE_PAGE_SIZE,
                "sort": [{sort_field: "asc"}],
                "track_total_hits": False,
            }
            if source is not None:
                body["_source"] = source
            return body

        def collect(hits: list[dict[str, Any]], offset: int, n: int) -> None:
            for hit in hits:
                slots = (hit.get("fields") or {}).get("_percolator_document_slot")
                if slots is None:
                    slots = [0] if n == 1 else []
                for slot in slots:
                    out[offset + int(slot)].append({"_id": hit["_id"], "_source": hit.get("_source") or {}})

        starts = list(range(0, len(docs), chunk))
        bodies = [body_for(docs[i:i + chunk]) for i in starts]
        if len(bodies) == 1:
            responses = [self.search(index, bodies[0])]
        else:
            responses = self.msearch(index, bodies)
        for start, body, resp in zip(starts, bodies, responses):
            if "error" in resp:
                status = resp.get("status")
                exc = InvalidQueryError(engine_error_message(resp)) if status == 400 else _engine_error(
                    engine_error_message(resp), status=status, body=resp, transient=status in TRANSIENT_STATUSES)
                raise exc
            n = len(docs[start:start + chunk])
            hits = resp.get("hits", {}).get("hits", [])
            collect(hits, start, n)
            while len(hits) >= PERCOLATE_PAGE_SIZE:
                body["search_after"] = hits[-1]["sort"]
                hits = self.search(index, body).get("hits", {}).get("hits", [])
                collect(hits, start, n)
        return out

    # --- helpers ----------------------------------------------------------------------------
    def _get_or_none(self, path: str) -> Any:
        """GET ``path``; None when the engine answers 404 (no warning logged by the client)."""
        resp = self._transport.send("GET", path, None, None, False, missing_ok=True)
        return None if resp is MISSING else resp

    @staticmethod
    def _as_invalid_query(exc: EngineError) -> EngineError:
        if getattr(exc, "status", None) == 400:
            new = InvalidQueryError(str(exc))
            new.status = 400  # type: ignore[attr-defined]
            new.body = getattr(exc, "body", None)  # type: ignore[attr-defined]
            return new
        return exc
