"""Request bodies for Wirewatch's indices: index templates, mappings and aliases.

Three kinds of index, each an alias over a versioned index so that a mapping change can be
rolled out by reindexing into ``-v2`` and moving the alias:

- ``<prefix>-articles`` -> ``<prefix>-articles-v1``: the enriched documents (docs/contract.md)
  plus a few derived fields added by :func:`pipeline.index.bulk.to_index_doc`.
- ``<prefix>-searches`` -> ``<prefix>-searches-v1``: saved searches. A ``percolator`` field
  ``query`` beside *the same field mappings as articles* (the percolator parses stored queries
  and percolated documents against this index's mapping), and the saved search's own metadata
  under ``search.*``.
- ``<prefix>-alerts`` -> ``<prefix>-alerts-v1``: alert events (one per saved search and story
  cluster).

Unknown fields: every mapping is ``"dynamic": false``. The contract says "add fields freely",
so a document carrying a field we did not map is still accepted and the field kept in
``_source``, but it is neither indexed nor searchable (and cannot break the mapping, which
``dynamic: true`` would allow, or reject documents, which ``strict`` would). Field names here
are read by the Kibana / OpenSearch Dashboards objects: renaming one is a breaking change.

The bodies are plain dicts shared by the OpenSearch and Elasticsearch code paths (composable
index templates, ``_index_template``, exist in both since ES 7.8 / OpenSearch 1.0); the only
choice is the text analysis (:func:`analysis`), whose component names, and so the mappings, are
the same whichever is chosen.
"""
from __future__ import annotations

import copy
from typing import Any

#: Mapping version; the concrete index names end in ``-v<MAPPING_VERSION>``.
MAPPING_VERSION = 1
#: Index kinds Wirewatch creates.
KINDS = ("articles", "searches", "alerts")
#: Priority of our composable templates (any value above the built-in 0..100 range used by
#: stack templates in Elasticsearch, which start at priority 100, so ours win on overlap).
TEMPLATE_PRIORITY = 200

#: Text analyses Wirewatch can use (the ``text_analysis`` setting); ``auto`` picks one per engine
#: with :meth:`pipeline.index.engine.SearchEngine.text_analysis`.
TEXT_ANALYSES = ("english", "standard")


def analysis(text_analysis: str = "english") -> dict[str, Any]:
    """The ``analysis`` index settings shared by every index, for ``text_analysis`` in
    :data:`TEXT_ANALYSES`. The component names are the same in both, so mappings never change:

    - ``ww_text`` (title, body, quotes, names' ``.text``): standard tokenizer and lowercase, plus,
      for ``english``, ASCII folding and English (Porter) stemming, so "crossing" finds "crossed"
      and "crossings" and "Juárez" finds "Juarez" (Porter rather than the lighter KStem because
      alerts favour recall).
    - ``ww_exact`` (the ``.exact`` sub-fields): the same without stemming; prefix, wildcard,
      fuzzy and regexp terms go there (:mod:`pipeline.alerts.query_routing`).
    - ``ww_folded`` normalizer: exact but case- (and, for ``english``, accent-) insensitive
      keyword filters.

    ``standard`` uses only the ``lowercase`` filter, which every engine has in its core; the
    stemmer and ``asciifolding`` filters live in the analysis-common module, which
    Elasticsearch's integ-test distribution lacks. Raises ``ValueError`` for another name.
    """
    if text_analysis == "english":
        folding = ["lowercase", "asciifolding"]
        return {
            "filter": {"ww_english_stem": {"type": "stemmer", "language": "english"}},
            "analyzer": {
                "ww_text": {"type": "custom", "tokenizer": "standard", "filter": [*folding, "ww_english_stem"]},
                "ww_exact": {"type": "custom", "tokenizer": "standard", "filter": folding},
            },
            "normalizer": {"ww_folded": {"type": "custom", "filter": folding}},
        }
    if text_analysis == "standard":
        return {
            "analyzer": {
                "ww_text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
                "ww_exact": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
            },
            "normalizer": {"ww_folded": {"type": "custom", "filter": ["lowercase"]}},
        }
    raise ValueError(f"unknown text analysis {text_analysis!r}; expected one of {TEXT_ANALYSES}")


#: The default analysis (``english``), kept for readers of the old constant.
ANALYSIS: dict[str, Any] = analysis("english")


def _exact() -> dict[str, Any]:
    return {"type": "text", "analyzer": "ww_exact"}


def _text(**extra: Any) -> dict[str, Any]:
    """A stemmed text field with its unstemmed ``exact`` sub-field (plus ``extra`` sub-fields)."""
    fields = {"exact": _exact(), **extra.pop("fields", {})}
    return {"type": "text", "analyzer": "ww_text", "fields": fields, **extra}


def _name() -> dict[str, Any]:
    """A name: exact ``keyword`` (for aggregations), ``.folded`` (filters), ``.text`` (full text),
    ``.exact`` (full text without stemming: a sub-field cannot have sub-fields of its own)."""
    return {
        "type": "keyword",
        "ignore_above": 256,
        "fields": {
            "folded": {"type": "keyword", "normalizer": "ww_folded", "ignore_above": 256},
            "text": {"type": "text", "analyzer": "ww_text"},
            "exact": _exact(),
        },
    }


def article_properties() -> dict[str, Any]:
    """Field mappings of the article document (contract fields + derived fields).

    Derived fields (set by :func:`pipeline.index.bulk.to_index_doc`): ``locations[].location``
    (geo_point from lat/lon), ``geo_points`` (every location's point at the top level, for map
    visualizations and geo_distance filters without a nested query), ``speakers`` and
    ``place_names`` (flattened, so dashboards can aggregate without nested aggregations),
    ``quote_count``, ``indexed_at``/``enqueued_at`` (pipeline timestamps). ``story``
    (``id``, ``similarity``) is set by the story stage (:mod:`pipeline.dedupe.stories`).
    """
    return {
        "id": {"type": "keyword"},
        "url": {"type": "keyword", "ignore_above": 4096},
        "canonical_url": {"type": "keyword", "ignore_above": 4096},
        "declared_canonical_url": {"type": "keyword", "ignore_above": 4096},
        "title": _text(fields={"keyword": {"type": "keyword", "ignore_above": 512}}),
        "body": _text(),
        "language": {"type": "keyword"},
        "published_at": {"type": "date"},
        "fetched_at": {"type": "date"},
        "indexed_at": {"type": "date"},
        "enqueued_at": {"type": "date"},
        "authors": {"type": "keyword", "ignore_above": 256},
        "extraction": {"type": "keyword"},
        "item_guid": {"type": "keyword", "ignore_above": 4096},
        "published_unknown_zone": {"properties": {"local": {"type": "keyword"}, "zone": {"type": "keyword"}}},
        "truncated_fields": {"type": "keyword"},
        "source": {
            "properties": {
                "domain": {"type": "keyword", "normalizer": "ww_folded"},
                "feed_url": {"type": "keyword", "ignore_above": 4096},
                "feed_id": {"type": "keyword"},
            }
        },
        "persons": {"properties": {"name": _name(), "mentions": {"type": "integer"}}},
        "organizations": {"properties": {"name": _name(), "mentions": {"type": "integer"}}},
        "locations": {
            "type": "nested",
            "properties": {
                "name": _name(),
                "geonames_id": {"type": "long"},
                "country_code": {"type": "keyword"},
                "admin1": {"type": "keyword"},
                "feature": {"type": "keyword"},
                "lat": {"type": "float"},
                "lon": {"type": "float"},
                "location": {"type": "geo_point"},
                "mentions": {"type": "integer"},
            },
        },
        "countries": {"type": "keyword"},
        "quotes": {
            "type": "nested",
            "properties": {
                "text": _text(),
                "speaker": _name(),
                "speaker_text": {"type": "keyword", "ignore_above": 256},
                "verb": {"type": "keyword"},
                "start": {"type": "integer"},
                "end": {"type": "integer"},
            },
        },
        "topics": {"type": "keyword"},
        "dedupe": {
            "properties": {
                "content_hash": {"type": "keyword"},
                "cluster_id": {"type": "keyword"},
                "duplicate_of": {"type": "keyword"},
            }
        },
        "story": {"properties": {"id": {"type": "keyword"}, "similarity": {"type": "float"}}},
        "geo_points": {"type": "geo_point"},
        "speakers": _name(),
        "place_names": _name(),
        "quote_count": {"type": "integer"},
    }


def articles_mapping() -> dict[str, Any]:
    """The articles index mapping (``dynamic: false``, see the module docstring)."""
    return {"dynamic": False, "properties": article_properties()}


def searches_mapping() -> dict[str, Any]:
    """The saved-searches mapping: percolator ``query`` + article fields + ``search.*`` metadata.

    ``search.filters`` and ``search.notify`` are stored but not indexed (``enabled: false``):
    they are opaque structures (notify channel configs belong to :mod:`pipeline.alerts.notify`).
    """
    props = article_properties()
    props["query"] = {"type": "percolator"}
    props["search"] = {
        "properties": {
            "id": {"type": "keyword"},
            "name": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "ww_text"}}},
            "query": {"type": "keyword", "ignore_above": 8192},
            "enabled": {"type": "boolean"},
            "created_at": {"type": "date"},
            "updated_at": {"type": "date"},
            "filters": {"type": "object", "enabled": False},
            "notify": {"type": "object", "enabled": False},
            "alert_mode": {"type": "keyword"},
            "digest_period": {"type": "keyword"},
            "digest_timezone": {"type": "keyword"},
        }
    }
    return {"dynamic": False, "properties": props}


def alerts_mapping() -> dict[str, Any]:
    """The alert-events mapping: one document per (saved search, story cluster)."""
    return {
        "dynamic": False,
        "properties": {
            "alert_id": {"type": "keyword"},
            "search_id": {"type": "keyword"},
            "search_name": {"type": "keyword"},
            "article_id": {"type": "keyword"},
            "cluster_id": {"type": "keyword"},
            "story_id": {"type": "keyword"},
            "mode": {"type": "keyword"},
            "matched_at": {"type": "date"},
            "notified_at": {"type": "date"},
            "enqueued_at": {"type": "date"},
            "indexed_at": {"type": "date"},
            "latency_s": {"type": "float"},
            "title": _text(fields={"keyword": {"type": "keyword", "ignore_above": 512}}),
            "url": {"type": "keyword", "ignore_above": 4096},
            "source_domain": {"type": "keyword"},
            "published_at": {"type": "date"},
            "topics": {"type": "keyword"},
            "countries": {"type": "keyword"},
        },
    }


_MAPPINGS = {"articles": articles_mapping, "searches": searches_mapping, "alerts": alerts_mapping}


def index_settings(shards: int, replicas: int, text_analysis: str = "english") -> dict[str, Any]:
    """Index settings: shard/replica counts (from :class:`pipeline.settings.Settings`) and
    :func:`analysis` of ``text_analysis``."""
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "analysis": copy.deepcopy(analysis(text_analysis)),
    }


def exact_fields(kind: str = "articles") -> dict[str, str]:
    """Every stemmed text field of ``kind``'s mapping -> its unstemmed sibling, found by walking
    the mapping: ``{"title": "title.exact", "body": "body.exact",
    "persons.name.text": "persons.name.exact", ...}`` (used by :mod:`pipeline.alerts.query_routing`)."""
    out: dict[str, str] = {}

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            path = f"{prefix}{name}"
            subs = spec.get("fields") or {}
            if "exact" in subs:
                if spec.get("type") == "text":
                    out[path] = f"{path}.exact"
                if "text" in subs:
                    out[f"{path}.text"] = f"{path}.exact"
            if "properties" in spec:
                walk(spec["properties"], f"{path}.")

    walk(mapping_for(kind)["properties"], "")
    return out


def alias_name(prefix: str, kind: str) -> str:
    """Alias of ``kind``: ``<prefix>-<kind>`` (same as ``Settings.index_name``)."""
    return f"{prefix}-{kind}"


def concrete_index_name(prefix: str, kind: str, version: int = MAPPING_VERSION) -> str:
    """Versioned index behind the alias: ``<prefix>-<kind>-v<version>``."""
    return f"{prefix}-{kind}-v{version}"


def template_name(prefix: str, kind: str) -> str:
    """Name of the composable index template of ``kind``: ``<prefix>-<kind>``."""
    return f"{prefix}-{kind}"


def mapping_for(kind: str) -> dict[str, Any]:
    """Mapping of ``kind`` in :data:`KINDS`; ``KeyError`` for an unknown kind."""
    return _MAPPINGS[kind]()


def index_template(prefix: str, kind: str, shards: int, replicas: int, text_analysis: str = "english") -> dict[str, Any]:
    """Composable index template for ``<prefix>-<kind>-v*`` carrying settings and mapping.

    Any later version (``-v2`` created for a reindex) gets the same settings and mapping.
    ``_meta.body_sha256`` fingerprints the rest of the body so set-up can tell a stale template.
    """
    body: dict[str, Any] = {
        "index_patterns": [f"{prefix}-{kind}-v*"],
        "priority": TEMPLATE_PRIORITY,
        "template": {"settings": index_settings(shards, replicas, text_analysis), "mappings": mapping_for(kind)},
    }
    body["_meta"] = {"managed_by": "wirewatch", "kind": kind, "mapping_version": MAPPING_VERSION,
                     "body_sha256": body_digest(body)}
    return body


def body_digest(body: dict[str, Any]) -> str:
    """SHA-256 of a request body in canonical JSON (sorted keys): tells whether a stored template
    differs from the one this code would write."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_index_body(prefix: str, kind: str, shards: int, replicas: int, text_analysis: str = "english") -> dict[str, Any]:
    """Body creating ``<prefix>-<kind>-v1`` with its alias (the write index) and full mapping.

    The mapping is repeated here (not only in the template) so the index is right even where
    templates are managed by someone else.
    """
    return {
        "settings": index_settings(shards, replicas, text_analysis),
        "mappings": mapping_for(kind),
        "aliases": {alias_name(prefix, kind): {"is_write_index": True}},
    }
