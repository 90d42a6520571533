"""Generates deploy/kibana/wirewatch.ndjson and deploy/opensearch-dashboards/wirewatch.ndjson.

Run from the repository root: `python deploy/kibana/generate.py .` (then `pytest tests/test_cli/test_kibana_objects.py`).
Both files use the Kibana 7.10 saved-object format (migrationVersion per type), which Kibana 8.x and
OpenSearch Dashboards 2.x migrate on import. They differ only in the map: Kibana 8 removed the legacy
`tile_map` visualization (a Maps-app `map` object is used), OpenSearch Dashboards keeps `tile_map`.
Field names come from pipeline/index/mappings.py (flattened `speakers`, `place_names`, `geo_points`).
"""
import json, sys
from pathlib import Path

ART = "wirewatch-articles-dv"
ALR = "wirewatch-alerts-dv"
MIG = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3", "map": "7.10.0"}


def obj(type_, id_, attrs, refs=()):
    return {"type": type_, "id": id_, "attributes": attrs, "references": list(refs), "migrationVersion": {type_: MIG[type_]}}


def ssj(query="", index=True, filters=()):
    d = {"query": {"query": query, "language": "kuery"}, "filter": list(filters)}
    if index:
        d["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return json.dumps(d)


def idx_ref(dv):
    return {"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": dv}


def data_views():
    return [
        obj("index-pattern", ART, {"title": "wirewatch-articles", "timeFieldName": "published_at", "fields": "[]",
                                   "fieldFormatMap": json.dumps({"source.domain": {"id": "string"}})}),
        obj("index-pattern", ALR, {"title": "wirewatch-alerts", "timeFieldName": "matched_at", "fields": "[]",
                                   "fieldFormatMap": json.dumps({"latency_s": {"id": "number", "params": {"pattern": "0.000"}}})}),
    ]


def searches():
    def s(id_, title, dv, query, columns, sort_field):
        return obj("search", id_, {"title": title, "description": "", "hits": 0, "columns": columns,
                                   "sort": [[sort_field, "desc"]], "version": 1,
                                   "kibanaSavedObjectMeta": {"searchSourceJSON": ssj(query)}}, [idx_ref(dv)])
    return [
        s("wirewatch-search-latest", "Wirewatch: latest articles", ART, "",
          ["title", "source.domain", "persons.name", "place_names", "topics", "quote_count"], "published_at"),
        s("wirewatch-search-border", "Wirewatch: border crossings", ART, 'topics : "border-crossing" or title : "border"',
          ["title", "source.domain", "place_names", "countries"], "published_at"),
        s("wirewatch-search-quoted", "Wirewatch: articles with quotes", ART, "quote_count > 0",
          ["title", "speakers", "quote_count", "source.domain"], "published_at"),
        s("wirewatch-search-alerts", "Wirewatch: alert events", ALR, "",
          ["search_name", "title", "source_domain", "latency_s"], "matched_at"),
        # a story's timeline: filter on story.id (click one in "largest stories"), oldest first
        obj("search", "wirewatch-search-story-timeline", {
            "title": "Wirewatch: story timeline (filter on story.id)", "description": "", "hits": 0,
            "columns": ["source.domain", "title", "story.id", "dedupe.duplicate_of"], "sort": [["published_at", "asc"]],
            "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": ssj("story.id : *")}}, [idx_ref(ART)]),
    ]


def vis(id_, title, vtype, aggs, params, dv, query=""):
    vs = {"title": title, "type": vtype, "aggs": aggs, "params": params}
    return obj("visualization", id_, {"title": title, "visState": json.dumps(vs), "uiStateJSON": "{}", "description": "",
                                      "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": ssj(query)}}, [idx_ref(dv)])


def count(i="1"):
    return {"id": i, "enabled": True, "type": "count", "schema": "metric", "params": {}}


def date_hist(field, i="2"):
    return {"id": i, "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": field, "useNormalizedEsInterval": True, "interval": "auto", "drop_partials": False,
                       "min_doc_count": 1, "extended_bounds": {}}}


def terms(field, size, schema, i, label):
    return {"id": i, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "orderBy": "1", "order": "desc", "size": size, "otherBucket": False,
                       "missingBucket": False, "customLabel": label}}


def bar_params(mode="stacked"):
    return {"type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
            "addTimeMarker": False,
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                              "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100},
                              "title": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                           "scale": {"type": "linear", "mode": "normal"}, "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                           "title": {"text": "Count"}}],
            "seriesParams": [{"show": True, "type": "histogram", "mode": mode, "data": {"label": "Count", "id": "1"},
                              "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "showCircles": True}]}


def hbar_params():
    p = bar_params("normal")
    p["type"] = "horizontal_bar"
    p["categoryAxes"][0]["position"] = "left"
    p["valueAxes"][0]["position"] = "bottom"
    return p


def table_params():
    return {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
            "totalFunc": "sum", "percentageCol": "", "sort": {"columnIndex": None, "direction": None}}


def visualizations():
    return [
        vis("wirewatch-vis-articles-by-topic", "Wirewatch: articles over time by topic", "histogram",
            [count(), date_hist("published_at"), terms("topics", 10, "group", "3", "Topic")], bar_params(), ART),
        vis("wirewatch-vis-top-persons", "Wirewatch: top persons", "horizontal_bar",
            [count(), terms("persons.name", 20, "segment", "2", "Person")], hbar_params(), ART),
        vis("wirewatch-vis-top-organizations", "Wirewatch: top organizations", "horizontal_bar",
            [count(), terms("organizations.name", 20, "segment", "2", "Organization")], hbar_params(), ART),
        vis("wirewatch-vis-quoted-speakers", "Wirewatch: most-quoted speakers (articles quoting them)", "table",
            [count(), terms("speakers", 20, "bucket", "2", "Speaker"),
             {"id": "3", "enabled": True, "type": "sum", "schema": "metric", "params": {"field": "quote_count", "customLabel": "Quotes in those articles"}}],
            table_params(), ART, query="quote_count > 0"),
        vis("wirewatch-vis-top-places", "Wirewatch: places in the news", "table",
            [count(), terms("place_names", 25, "bucket", "2", "Place"), terms("countries", 3, "bucket", "3", "Country")],
            table_params(), ART),
        vis("wirewatch-vis-top-sources", "Wirewatch: articles per source", "pie",
            [count(), terms("source.domain", 15, "segment", "2", "Source")],
            {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True,
             "labels": {"show": False, "values": True, "last_level": True, "truncate": 100}}, ART),
        vis("wirewatch-vis-stories-over-time", "Wirewatch: stories over time (distinct stories, articles)", "histogram",
            [{"id": "1", "enabled": True, "type": "cardinality", "schema": "metric", "params": {"field": "story.id", "customLabel": "Stories"}},
             date_hist("published_at")], bar_params("normal"), ART, query="story.id : *"),
        vis("wirewatch-vis-largest-stories", "Wirewatch: largest stories (articles, outlets)", "table",
            [count(), terms("story.id", 20, "bucket", "2", "Story"),
             {"id": "3", "enabled": True, "type": "cardinality", "schema": "metric", "params": {"field": "source.domain", "customLabel": "Outlets"}}],
            table_params(), ART, query="story.id : *"),
        vis("wirewatch-vis-story-timeline", "Wirewatch: story timeline by outlet (filter on story.id)", "histogram",
            [count(), date_hist("published_at"), terms("source.domain", 10, "group", "3", "Outlet")], bar_params(), ART,
            query="story.id : *"),
        vis("wirewatch-vis-alerts-over-time", "Wirewatch: alert events over time", "histogram",
            [count(), date_hist("matched_at"), terms("search_name", 10, "group", "3", "Saved search")], bar_params(), ALR),
        vis("wirewatch-vis-alert-latency", "Wirewatch: alert latency (s)", "table",
            [{"id": "1", "enabled": True, "type": "percentiles", "schema": "metric",
              "params": {"field": "latency_s", "percents": [50, 95, 99], "customLabel": "Latency s"}},
             {"id": "2", "enabled": True, "type": "max", "schema": "metric", "params": {"field": "latency_s"}},
             terms("search_name", 20, "bucket", "3", "Saved search")],
            table_params(), ALR),
    ]


def kibana_map():
    layers = [
        {"id": "basemap", "label": None, "minZoom": 0, "maxZoom": 24, "alpha": 1, "visible": True,
         "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True}, "style": {"type": "TILE"}, "type": "VECTOR_TILE"},
        {"id": "places", "label": "Places in the news", "minZoom": 0, "maxZoom": 24, "alpha": 0.75, "visible": True,
         "sourceDescriptor": {"id": "places-grid", "type": "ES_GEO_GRID", "geoField": "geo_points", "requestType": "point",
                              "resolution": "FINE", "metrics": [{"type": "count"}], "applyGlobalQuery": True,
                              "indexPatternRefName": "layer_1_source_index_pattern"},
         "style": {"type": "VECTOR", "properties": {
             "fillColor": {"type": "DYNAMIC", "options": {"color": "Blues", "field": {"name": "doc_count", "origin": "source"}, "fieldMetaOptions": {"isEnabled": True, "sigma": 3}}},
             "lineColor": {"type": "STATIC", "options": {"color": "#FFFFFF"}},
             "lineWidth": {"type": "STATIC", "options": {"size": 1}},
             "iconSize": {"type": "DYNAMIC", "options": {"minSize": 6, "maxSize": 28, "field": {"name": "doc_count", "origin": "source"}, "fieldMetaOptions": {"isEnabled": True, "sigma": 3}}}}},
         "type": "VECTOR"},
    ]
    state = {"zoom": 1.5, "center": {"lon": -40, "lat": 25}, "timeFilters": {"from": "now-7d", "to": "now"},
             "refreshConfig": {"isPaused": True, "interval": 0}, "query": {"query": "", "language": "kuery"}, "filters": [], "settings": {}}
    return obj("map", "wirewatch-map-places", {"title": "Wirewatch: map of places", "description": "Every resolved place of every article (geo_points), gridded.",
                                                "layerListJSON": json.dumps(layers), "mapStateJSON": json.dumps(state),
                                                "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []})},
               [{"name": "layer_1_source_index_pattern", "type": "index-pattern", "id": ART}])


def osd_map():
    aggs = [count(), {"id": "2", "enabled": True, "type": "geohash_grid", "schema": "segment",
                      "params": {"field": "geo_points", "autoPrecision": True, "isFilteredByCollar": True, "useGeocentroid": True,
                                 "mapZoom": 2, "mapCenter": [25, -40], "precision": 2}}]
    params = {"mapType": "Scaled Circle Markers", "isDesaturated": True, "addTooltip": True, "heatClusterSize": 1.5,
              "legendPosition": "bottomright", "mapZoom": 2, "mapCenter": [25, -40], "colorSchema": "Yellow to Red",
              "wms": {"enabled": False, "options": {"format": "image/png", "transparent": True}}}
    return vis("wirewatch-map-places", "Wirewatch: map of places", "tile_map", aggs, params, ART)


def dashboard(panels):
    # panels: list of (type, id, w, h)
    x = y = 0
    row_h = 0
    pj, refs = [], []
    for i, (ptype, pid, w, h) in enumerate(panels):
        if x + w > 48:
            x, y, row_h = 0, y + row_h, 0
        pj.append({"version": "7.10.0", "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                   "panelIndex": str(i + 1), "embeddableConfig": {}, "panelRefName": f"panel_{i}"})
        refs.append({"name": f"panel_{i}", "type": ptype, "id": pid})
        x += w
        row_h = max(row_h, h)
    return obj("dashboard", "wirewatch-dashboard", {
        "title": "Wirewatch: news coverage and alerts", "hits": 0,
        "description": "Articles over time by topic, people, organizations, quoted speakers, places, alert events, and stories: "
                       "stories over time, the largest stories, and a story's timeline (click a story.id to filter).",
        "panelsJSON": json.dumps(pj), "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
        "version": 1, "timeRestore": True, "timeFrom": "now-7d", "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": ssj(index=False)}}, refs)


def build(flavour):
    objs = data_views() + searches() + visualizations()
    m = kibana_map() if flavour == "kibana" else osd_map()
    objs.append(m)
    panels = [("visualization", "wirewatch-vis-articles-by-topic", 48, 14),
              (m["type"], m["id"], 28, 18), ("visualization", "wirewatch-vis-top-places", 20, 18),
              ("visualization", "wirewatch-vis-top-persons", 16, 15), ("visualization", "wirewatch-vis-top-organizations", 16, 15),
              ("visualization", "wirewatch-vis-quoted-speakers", 16, 15),
              ("visualization", "wirewatch-vis-alerts-over-time", 24, 14), ("visualization", "wirewatch-vis-alert-latency", 12, 14),
              ("visualization", "wirewatch-vis-top-sources", 12, 14),
              ("search", "wirewatch-search-latest", 48, 15),
              # stories: over time, the largest, and one story's timeline (click a story.id in the
              # table: the dashboard filter narrows the timeline panels to that story)
              ("visualization", "wirewatch-vis-stories-over-time", 24, 14),
              ("visualization", "wirewatch-vis-largest-stories", 24, 14),
              ("visualization", "wirewatch-vis-story-timeline", 48, 14),
              ("search", "wirewatch-search-story-timeline", 48, 15)]
    objs.append(dashboard(panels))
    return objs


root = Path(sys.argv[1])
for flavour, folder in (("kibana", "kibana"), ("opensearch", "opensearch-dashboards")):
    d = root / "deploy" / folder
    d.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(o, ensure_ascii=False, sort_keys=True) for o in build(flavour)]
    (d / "wirewatch.ndjson").write_text("\n".join(lines) + "\n")
    print(d, len(lines))
