"""What the Kibana / OpenSearch Dashboards saved objects and the index mappings name, as
sets of dotted fields (shared by the saved-objects tests and the contract test)."""
from __future__ import annotations

import json
import re

from wirewatch.commands.kibana import load_objects

DV_KIND = {"wirewatch-articles": "articles", "wirewatch-alerts": "alerts"}


def flatten(properties: dict, prefix: str = "", nested: str | None = None, out: dict | None = None,
            multi_fields: bool = True) -> dict:
    """{"dotted.field": {"type": ..., "nested": <nested parent path or None>}}, with the
    multi-fields (``name.folded``) unless ``multi_fields=False``."""
    out = {} if out is None else out
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        ftype = spec.get("type", "object")
        if "properties" in spec:
            inner = path if ftype == "nested" else nested
            out[path] = {"type": ftype, "nested": nested}
            flatten(spec["properties"], path + ".", inner, out, multi_fields)
        else:
            out[path] = {"type": ftype, "nested": nested}
        for sub, subspec in (spec.get("fields") or {}).items() if multi_fields else ():
            out[f"{path}.{sub}"] = {"type": subspec.get("type"), "nested": nested}
    return out


def _kql_fields(query: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*(?::|<=|>=|<|>)", query or ""))


def field_uses(obj: dict) -> list[tuple[str, str]]:
    """(field, use) pairs an object names; use in {any, agg, date, geo, numeric, sort}."""
    attrs = obj["attributes"]
    uses: list[tuple[str, str]] = []
    if obj["type"] == "index-pattern" and attrs.get("timeFieldName"):
        uses.append((attrs["timeFieldName"], "date"))
    if obj["type"] == "search":
        uses += [(c, "any") for c in attrs.get("columns", [])]
        uses += [(s[0], "sort") for s in attrs.get("sort", [])]
    meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if meta:
        source = json.loads(meta)
        uses += [(f, "any") for f in _kql_fields(source.get("query", {}).get("query", ""))]
        for flt in source.get("filter", []):
            key = flt.get("meta", {}).get("key")
            if key:
                uses.append((key, "any"))
    if obj["type"] == "visualization":
        vis = json.loads(attrs["visState"])
        for agg in vis.get("aggs", []):
            field = agg.get("params", {}).get("field")
            if not field:
                continue
            kind = {"date_histogram": "date", "geohash_grid": "geo", "geotile_grid": "geo", "sum": "numeric",
                    "avg": "numeric", "max": "numeric", "min": "numeric", "percentiles": "numeric"}.get(agg["type"], "agg")
            uses.append((field, kind))
    if obj["type"] == "map":
        for layer in json.loads(attrs["layerListJSON"]):
            src = layer.get("sourceDescriptor", {})
            if src.get("geoField"):
                uses.append((src["geoField"], "geo"))
            for metric in src.get("metrics", []):
                if metric.get("field"):
                    uses.append((metric["field"], "numeric"))
    return uses


def _data_view_kind(obj: dict, by_id: dict) -> set[str]:
    kinds = set()
    for ref in obj.get("references", []):
        if ref["type"] == "index-pattern":
            kinds.add(DV_KIND[by_id[ref["id"]]["attributes"]["title"]])
    if obj["type"] == "index-pattern":
        kinds.add(DV_KIND[obj["attributes"]["title"]])
    return kinds


def objects(path) -> list[dict]:
    """The saved objects of one NDJSON file."""
    return load_objects(path)
