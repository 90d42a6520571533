"""Saved objects for Kibana and OpenSearch Dashboards: every line parses, every reference
resolves inside its file, every field an object names exists in our mappings
(pipeline/index/mappings.py) with a type that suits its use; and the import request, sent to a
real local HTTP server that records it, has the right path, parameters, header and body."""
from __future__ import annotations

import email.parser
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.index import mappings
from pipeline.errors import ServiceError
from savedobjects import DV_KIND, _data_view_kind, field_uses, flatten
from wirewatch.commands.kibana import OBJECT_FILES, import_objects, import_request, load_objects

FLAVOURS = sorted(OBJECT_FILES)
NUMERIC = {"integer", "long", "float", "double", "short", "byte", "half_float", "scaled_float"}
AGGREGATABLE = NUMERIC | {"keyword", "date", "boolean", "ip"}


FIELDS = {
    "articles": flatten(mappings.mapping_for("articles")["properties"]),
    "alerts": flatten(mappings.mapping_for("alerts")["properties"]),
}


def _objects(flavour: str) -> list[dict]:
    return load_objects(OBJECT_FILES[flavour])


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_line_parses_and_ids_unique(flavour):
    lines = [line for line in OBJECT_FILES[flavour].read_text().splitlines() if line.strip()]
    objs = [json.loads(line) for line in lines]
    assert len(objs) >= 14
    ids = [(o["type"], o["id"]) for o in objs]
    assert len(ids) == len(set(ids))
    for o in objs:
        assert {"type", "id", "attributes", "references"} <= set(o), o.get("id")
        assert o["attributes"].get("title"), o["id"]
        for key in ("visState", "panelsJSON", "layerListJSON", "mapStateJSON", "uiStateJSON", "optionsJSON"):
            if key in o["attributes"]:
                json.loads(o["attributes"][key])
    types = [o["type"] for o in objs]
    assert types.count("dashboard") == 1 and types.count("index-pattern") == 2 and types.count("search") >= 3


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_references_resolve_within_file(flavour):
    objs = _objects(flavour)
    by_key = {(o["type"], o["id"]) for o in objs}
    for o in objs:
        names = set()
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in by_key, f"{o['id']} -> {ref}"
            names.add(ref["name"])
        attrs = o["attributes"]
        meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta and "indexRefName" in json.loads(meta):
            assert json.loads(meta)["indexRefName"] in names
        if "panelsJSON" in attrs:
            panels = json.loads(attrs["panelsJSON"])
            assert panels and all(p["panelRefName"] in names for p in panels)
            assert len({p["panelIndex"] for p in panels}) == len(panels)
        if "layerListJSON" in attrs:
            for layer in json.loads(attrs["layerListJSON"]):
                ref_name = layer.get("sourceDescriptor", {}).get("indexPatternRefName")
                if ref_name:
                    assert ref_name in names


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_field_exists_in_mapping_with_a_suitable_type(flavour):
    objs = _objects(flavour)
    by_id = {o["id"]: o for o in objs if o["type"] == "index-pattern"}
    checked = 0
    for o in objs:
        kinds = _data_view_kind(o, by_id)
        for field, use in field_uses(o):
            for kind in kinds:
                spec = FIELDS[kind].get(field)
                assert spec is not None, f"{flavour}: {o['id']} uses {field!r}, not in the {kind} mapping"
                ftype = spec["type"]
                if use in ("agg", "numeric", "date", "geo", "sort"):
                    assert spec["nested"] is None, f"{o['id']}: {field} is inside nested {spec['nested']}; aggregations cannot see it"
                if use == "agg" or use == "sort":
                    assert ftype in AGGREGATABLE, f"{o['id']}: {field} is {ftype}, not aggregatable"
                elif use == "numeric":
                    assert ftype in NUMERIC, f"{o['id']}: {field} is {ftype}"
                elif use == "date":
                    assert ftype == "date", f"{o['id']}: {field} is {ftype}"
                elif use == "geo":
                    assert ftype == "geo_point", f"{o['id']}: {field} is {ftype}"
                checked += 1
    assert checked >= 25


def test_field_extraction_catches_unknown_fields():
    bad = {"type": "visualization", "id": "x", "references": [],
           "attributes": {"visState": json.dumps({"aggs": [{"type": "terms", "params": {"field": "quotes.speaker"}}]}),
                          "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "nosuch : 1 and topics:x"}})}}}
    uses = dict(field_uses(bad))
    assert uses == {"quotes.speaker": "agg", "nosuch": "any", "topics": "any"}
    assert FIELDS["articles"]["quotes.speaker"]["nested"] == "quotes"  # why dashboards use `speakers`
    assert "nosuch" not in FIELDS["articles"]


def test_required_visualizations_present():
    for flavour in FLAVOURS:
        objs = _objects(flavour)
        fields_used = {f for o in objs for f, _ in field_uses(o)}
        for needed in ("published_at", "topics", "persons.name", "organizations.name", "speakers", "geo_points", "matched_at"):
            assert needed in fields_used, (flavour, needed)
        dash = next(o for o in objs if o["type"] == "dashboard")
        assert len(json.loads(dash["attributes"]["panelsJSON"])) >= 7
    assert any(o["type"] == "map" for o in _objects("kibana"))
    osd_vis = [json.loads(o["attributes"]["visState"])["type"] for o in _objects("opensearch") if o["type"] == "visualization"]
    assert "tile_map" in osd_vis


def test_titles_follow_index_prefix(settings):
    objs = load_objects(OBJECT_FILES["kibana"], settings)
    titles = sorted(o["attributes"]["title"] for o in objs if o["type"] == "index-pattern")
    assert titles == sorted([settings.index_name("alerts"), settings.index_name("articles")])


# --- the import request against a real local HTTP server -------------------------------------
class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status=200, answer=None):
        self.status, self.answer, self.requests = status, answer, []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        answer = self.server.answer
        if answer is None:
            answer = {"success": True, "successCount": body.count(b'"migrationVersion":')}
        data = json.dumps(answer).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def recorder():
    servers = []

    def start(**kw):
        srv = _Recorder(**kw)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _multipart_file(req: dict) -> tuple[str, bytes]:
    raw = b"Content-Type: " + req["headers"]["Content-Type"].encode() + b"\r\n\r\n" + req["body"]
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    (part,) = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
    return part.get_filename(), part.get_payload(decode=True)


@pytest.mark.parametrize("flavour,header", [("kibana", "kbn-xsrf"), ("opensearch", "osd-xsrf")])
def test_import_request_reaches_server(recorder, settings, flavour, header):
    srv = recorder()
    objs = load_objects(OBJECT_FILES[flavour], settings)
    answer = import_objects(objs, srv.url + "/", flavour, settings, space="news")
    assert answer == {"success": True, "successCount": len(objs)}
    (req,) = srv.requests
    assert req["path"] == "/s/news/api/saved_objects/_import?overwrite=true"
    assert req["headers"][header] == "true"
    other = "osd-xsrf" if header == "kbn-xsrf" else "kbn-xsrf"
    assert other not in req["headers"]
    filename, payload = _multipart_file(req)
    assert filename.endswith(".ndjson")
    sent = [json.loads(line) for line in payload.decode().splitlines()]
    assert [(o["type"], o["id"]) for o in sent] == [(o["type"], o["id"]) for o in objs]
    assert {o["attributes"]["title"] for o in sent if o["type"] == "index-pattern"} == {settings.index_name("articles"), settings.index_name("alerts")}


def test_import_errors_are_helpful(recorder, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceError) as err:
        import_objects([], f"http://127.0.0.1:{port}", "kibana", settings)
    assert err.value.reason == "unreachable" and "docker compose" in str(err.value)
    srv = recorder(status=400, answer={"statusCode": 400, "message": "Request must contain a kbn-xsrf header."})
    with pytest.raises(ServiceError) as err:
        import_objects([], srv.url, "kibana", settings)
    assert err.value.reason == "import_failed" and "kbn-xsrf" in str(err.value)
    srv2 = recorder(status=200, answer={"hello": "not kibana"})
    with pytest.raises(ServiceError) as err:
        import_objects([], srv2.url, "kibana", settings)
    assert err.value.reason == "not_dashboards"
    with pytest.raises(Exception):
        import_request([], "http://x", "grafana")


def test_cli_import_json(recorder, tmp_path: Path):
    from wirewatch.cli import app

    srv = recorder(answer={"success": False, "successCount": 15,
                           "errors": [{"id": "wirewatch-map-places", "type": "map", "error": {"type": "unknown"}}]})
    from pipeline.logs import configure_logging

    result = CliRunner().invoke(app, ["kibana", "import", "--url", srv.url, "--dashboards", "kibana", "--format", "json"])
    configure_logging("INFO", "json")  # structlog was bound to CliRunner's stderr, now closed
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["success"] is False and out["errors"][0]["id"] == "wirewatch-map-places" and out["objects"] == 20
    assert srv.requests[0]["headers"]["kbn-xsrf"] == "true"


# --- the visualizations' aggregations on the real OpenSearch node ----------------------------
def _es_aggs(vis_aggs: list[dict]) -> tuple[dict, list[str]]:
    """Translate a visState's aggs into a nested aggregation body (bucket aggs nest in order,
    metrics sit in the innermost level) and return it with the bucket agg names in order."""
    metrics, buckets = {}, []
    for agg in vis_aggs:
        p, t = agg.get("params", {}), agg["type"]
        if t == "count":
            continue
        if t in ("sum", "max", "min", "avg", "cardinality"):
            metrics[f"m{agg['id']}"] = {t: {"field": p["field"]}}
        elif t == "percentiles":
            metrics[f"m{agg['id']}"] = {"percentiles": {"field": p["field"], "percents": p["percents"]}}
        elif t == "terms":
            buckets.append((f"b{agg['id']}", {"terms": {"field": p["field"], "size": p["size"]}}))
        elif t == "date_histogram":
            buckets.append((f"b{agg['id']}", {"date_histogram": {"field": p["field"], "fixed_interval": "1d", "min_doc_count": 1}}))
        elif t == "geohash_grid":
            buckets.append((f"b{agg['id']}", {"geohash_grid": {"field": p["field"], "precision": p.get("precision", 2)}}))
        else:
            raise AssertionError(f"untranslated agg type {t}")
    body: dict = dict(metrics)
    for name, spec in reversed(buckets):
        spec = dict(spec)
        if body:
            spec["aggs"] = body
        body = {name: spec}
    return body, [n for n, _ in buckets]


def _sample_docs() -> list[dict]:
    from pipeline.index.bulk import to_index_doc

    base = [
        ("a1", "2024-05-01T10:00:00+00:00", ["border-crossing"], ["Ana Lopez"], ["Border Patrol"],
         [("Tijuana", 32.53, -117.02)], [("We are ready", "Ana Lopez"), ("Not yet", "Luis Videgaray")]),
        ("a2", "2024-05-02T11:00:00+00:00", ["migration", "border-crossing"], ["Mike Pompeo", "Ana Lopez"], ["State Department"],
         [("Ciudad Hidalgo", 14.68, -92.15), ("Mexico City", 19.43, -99.13)], [("Talks went well", "Mike Pompeo")]),
        ("a3", "2024-05-02T12:00:00+00:00", ["economy"], ["Luis Videgaray"], ["Radio Formula"], [], [("Unclear", None)]),
    ]
    docs = []
    for aid, when, topics, persons, orgs, places, quotes in base:
        docs.append(to_index_doc({
            "id": aid, "url": f"https://example.org/{aid}", "canonical_url": f"https://example.org/{aid}", "title": aid,
            "body": "text", "language": "en", "published_at": when, "fetched_at": when,
            "source": {"domain": "example.org", "feed_url": "https://example.org/rss"},
            "persons": [{"name": n, "mentions": 1} for n in persons],
            "organizations": [{"name": n, "mentions": 1} for n in orgs],
            "locations": [{"name": n, "lat": la, "lon": lo, "country_code": "MX", "mentions": 1} for n, la, lo in places],
            "countries": ["MX"], "topics": topics,
            "quotes": [{"text": t, "speaker": s, "speaker_text": s, "verb": "said", "start": 0, "end": 1} for t, s in quotes],
            "dedupe": {"content_hash": aid, "cluster_id": aid, "duplicate_of": None},
            "story": {"id": "s-a3" if aid == "a3" else "s-a1", "similarity": None},
        }))
    return docs


@pytest.mark.integration
def test_visualization_aggregations_run_on_real_mapping(engine_settings):
    """Every aggregation the visualizations ask for (the Kibana objects on Elasticsearch, the
    OpenSearch Dashboards objects on OpenSearch) runs on our real mapping and returns buckets
    (nested fields would return none; text fields would be refused)."""
    import httpx

    from pipeline.index.engine import SearchEngine

    settings = engine_settings
    with SearchEngine.from_settings(settings) as eng:
        analysis = eng.text_analysis()
    flavour = "kibana" if settings.search_engine == "elasticsearch" else "opensearch"
    prefix = f"{settings.index_prefix}-kbn"
    client = httpx.Client(base_url=settings.search_url, timeout=30)
    created = []
    try:
        for kind in ("articles", "alerts"):
            body = mappings.create_index_body(prefix, kind, 1, 0, analysis)
            name = mappings.concrete_index_name(prefix, kind)
            client.put(f"/{name}", json=body).raise_for_status()
            created.append(name)
        lines = []
        for doc in _sample_docs():
            lines += [json.dumps({"index": {"_index": f"{prefix}-articles", "_id": doc["id"]}}), json.dumps(doc)]
        for i, (sid, lat) in enumerate([("border", 0.4), ("border", 1.2), ("pompeo", 0.8)]):
            ev = {"alert_id": f"e{i}", "search_id": sid, "search_name": sid, "article_id": f"a{i + 1}", "cluster_id": f"a{i + 1}",
                  "matched_at": f"2024-05-0{i + 1}T10:00:05+00:00", "latency_s": lat}
            lines += [json.dumps({"index": {"_index": f"{prefix}-alerts", "_id": ev["alert_id"]}}), json.dumps(ev)]
        r = client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n", headers={"Content-Type": "application/x-ndjson"})
        r.raise_for_status()
        assert not r.json()["errors"], r.text[:500]

        objs = _objects(flavour)
        titles = {o["id"]: o["attributes"]["title"] for o in objs if o["type"] == "index-pattern"}
        ran = 0
        for o in objs:
            if o["type"] != "visualization":
                continue
            vis = json.loads(o["attributes"]["visState"])
            aggs, bucket_names = _es_aggs(vis["aggs"])
            dv = titles[o["references"][0]["id"]]
            index = f"{prefix}-{DV_KIND[dv]}"
            resp = client.post(f"/{index}/_search", json={"size": 0, "aggs": aggs})
            assert resp.status_code == 200, (o["id"], resp.text[:300])
            result = resp.json()["aggregations"]
            if bucket_names:
                top = result[bucket_names[0]]["buckets"]
                assert top, f"{o['id']}: no buckets from {bucket_names[0]}"
            ran += 1
        assert ran >= 8
        # the values people will see: most-quoted speakers and the map's points
        resp = client.post(f"/{prefix}-articles/_search", json={"size": 0, "aggs": {
            "s": {"terms": {"field": "speakers"}}, "g": {"geohash_grid": {"field": "geo_points", "precision": 3}}}}).json()
        speakers = {b["key"]: b["doc_count"] for b in resp["aggregations"]["s"]["buckets"]}
        assert speakers == {"Ana Lopez": 1, "Luis Videgaray": 1, "Mike Pompeo": 1}
        assert len(resp["aggregations"]["g"]["buckets"]) == 3
    finally:
        for name in created:
            client.delete(f"/{name}")
        client.close()
