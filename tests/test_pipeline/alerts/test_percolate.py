"""Alert stage on the real node: one alert per (search, story cluster), duplicates never alert,
only new events are returned, history and the notify hook."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.alerts.percolate import AlertEvent, alert_history, alert_id, match_alerts, notify_events, parse_time
from pipeline.index.engine import SearchEngine
from pipeline.alerts.searches import SavedSearch, SavedSearchStore

DOC = {
    "id": "a1", "url": "https://frontera.example/a1", "canonical_url": "https://frontera.example/a1",
    "title": "Dozens cross the Rio Grande near Ciudad Juárez", "body": "Migrants waded across the border river.",
    "language": "en", "published_at": "2026-11-28T13:45:00+00:00", "fetched_at": "2026-11-28T14:00:00+00:00",
    "source": {"domain": "frontera.example", "feed_url": "https://frontera.example/feed"},
    "persons": [{"name": "Marisol Pineda", "mentions": 2}], "organizations": [],
    "locations": [{"name": "Ciudad Juárez", "lat": 31.72024, "lon": -106.46084, "country_code": "MX", "mentions": 3}],
    "countries": ["MX", "US"], "quotes": [], "topics": ["border-crossing"],
    "dedupe": {"content_hash": "h1", "cluster_id": "c-border", "duplicate_of": None},
}


def _variant(doc_id: str, *, cluster: str, duplicate_of: str | None = None, **extra) -> dict:
    d = copy.deepcopy(DOC)
    d.update({"id": doc_id, "url": f"https://x.example/{doc_id}", "canonical_url": f"https://x.example/{doc_id}", **extra})
    d["dedupe"] = {"content_hash": doc_id, "cluster_id": cluster, "duplicate_of": duplicate_of}
    return d


def test_alert_id_is_deterministic_per_search_and_cluster():
    assert alert_id("s", "c") == alert_id("s", "c") != alert_id("s", "c2") != alert_id("s2", "c")
    assert len(alert_id("s", "c")) == 32


def test_parse_time_forms():
    assert parse_time("2026-11-28T14:00:00Z") == datetime(2026, 11, 28, 14, tzinfo=timezone.utc)
    assert parse_time("2026-11-28T14:00:00") == datetime(2026, 11, 28, 14, tzinfo=timezone.utc)
    assert parse_time(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_event_round_trip_keeps_notify_out_of_the_index():
    ev = AlertEvent(id="x", search_id="s", search_name="S", article_id="a", cluster_id="c", matched_at="t",
                    notify=[{"type": "webhook", "url": "https://hooks.example/secret"}])
    doc = ev.to_index_doc()
    assert doc["alert_id"] == "x" and "notify" not in doc and "id" not in doc
    assert AlertEvent.from_index_doc(doc).search_id == "s"


@pytest.fixture()
def engine(engine_settings, request):
    s = engine_settings.model_copy(update={"index_prefix": f"{engine_settings.index_prefix}-al-{request.node.name[:20].lower().replace('_', '')}"})
    eng = SearchEngine.from_settings(s)
    eng.ensure_setup()
    store = SavedSearchStore(eng)
    store.add(SavedSearch(name="Border", query="cross AND border", near={"lat": 31.72, "lon": -106.46, "distance_km": 100},
                          notify=[{"type": "log", "level": "info"}]))
    store.add(SavedSearch(name="Mexico", countries=["MX"]))
    store.add(SavedSearch(name="Quakes", query="earthquake"))
    yield eng
    eng.delete_all()
    eng.close()


@pytest.mark.integration
def test_each_search_alerts_once_per_story_cluster(engine, settings):
    now = datetime(2026, 11, 28, 14, 0, 5, tzinfo=timezone.utc)
    first = match_alerts(engine, [{**DOC, "enqueued_at": "2026-11-28T14:00:03.500+00:00"}], now=now, refresh=True)
    assert sorted(e.search_id for e in first) == ["border", "mexico"]
    ev = next(e for e in first if e.search_id == "border")
    assert ev.article_id == "a1" and ev.cluster_id == "c-border" and ev.latency_s == 1.5
    assert ev.notify == [{"type": "log", "level": "info"}] and ev.notified_at is None
    assert next(e for e in first if e.search_id == "mexico").notified_at is not None  # no channels
    assert ev.id == alert_id("border", "c-border")
    notify_events(engine, first, {DOC["id"]: DOC}, settings)
    assert engine.get(engine.alias("alerts"), ev.id)["notified_at"]
    # redelivery of the same document, then another article of the same story cluster: no new alert
    assert match_alerts(engine, [DOC]) == []
    assert match_alerts(engine, [_variant("a2", cluster="c-border")]) == []
    # another story: alerts again
    again = match_alerts(engine, [_variant("a3", cluster="c-other")], refresh=True)
    assert sorted(e.search_id for e in again) == ["border", "mexico"]
    engine.refresh(engine.alias("alerts"))
    assert engine.count(engine.alias("alerts")) == 4


@pytest.mark.integration
def test_an_event_recorded_but_never_notified_is_returned_again_for_its_own_article(engine, settings):
    """A crash between recording an event and notifying must not lose the notification."""
    first = match_alerts(engine, [DOC], refresh=True)
    border = next(e for e in first if e.search_id == "border")
    # ... the worker dies here; the task is redelivered: the un-notified event comes back once more
    again = match_alerts(engine, [DOC])
    assert [(e.id, e.article_id, e.notify) for e in again] == [(border.id, "a1", border.notify)]
    # another article of the same cluster does not take over the notification
    assert match_alerts(engine, [_variant("a9", cluster="c-border")]) == []
    notify_events(engine, again, {DOC["id"]: DOC}, settings)
    assert match_alerts(engine, [DOC]) == []
    engine.refresh(engine.alias("alerts"))
    assert engine.count(engine.alias("alerts")) == 2


@pytest.mark.integration
def test_two_articles_of_one_cluster_in_one_batch_alert_once(engine):
    events = match_alerts(engine, [_variant("b1", cluster="c1"), _variant("b2", cluster="c1")], refresh=True)
    assert sorted(e.search_id for e in events) == ["border", "mexico"]
    assert {e.article_id for e in events} == {"b1"}
    assert engine.count(engine.alias("alerts")) == 2


@pytest.mark.integration
def test_duplicates_never_alert(engine):
    dup = _variant("d1", cluster="c-dup", duplicate_of="some-original")
    assert match_alerts(engine, [dup], refresh=True) == []
    assert engine.count(engine.alias("alerts")) == 0
    # ... even when the batch also holds an original of another story
    events = match_alerts(engine, [dup, _variant("o1", cluster="c-orig")], refresh=True)
    assert {e.article_id for e in events} == {"o1"}


@pytest.mark.integration
def test_disabled_searches_do_not_alert(engine):
    SavedSearchStore(engine).disable("mexico")
    events = match_alerts(engine, [DOC])
    assert [e.search_id for e in events] == ["border"]


@pytest.mark.integration
def test_history_filters_by_search_and_time(engine):
    old = datetime.now(timezone.utc) - timedelta(days=3)
    match_alerts(engine, [_variant("h1", cluster="c-h1")], now=old)
    match_alerts(engine, [_variant("h2", cluster="c-h2", title="earthquake near the border", body="cross the border")])
    engine.refresh(engine.alias("alerts"))
    assert len(alert_history(engine)) == 5
    assert {e.article_id for e in alert_history(engine, search_id="quakes")} == {"h2"}
    recent = alert_history(engine, since=datetime.now(timezone.utc) - timedelta(hours=1))
    assert {e.article_id for e in recent} == {"h2"} and len(recent) == 3
    assert alert_history(engine, limit=1)[0].article_id == "h2"


@pytest.mark.integration
def test_notify_hook_sends_on_the_search_channels(engine, settings):
    events = match_alerts(engine, [DOC])
    results = notify_events(engine, events, {DOC["id"]: DOC}, settings)
    assert len(results) == 1  # only "border" has a channel (log)
    assert results[0].ok


@pytest.mark.integration
def test_cli_alerts_list(engine, monkeypatch, engine_environ):
    import json

    from typer.testing import CliRunner

    from pipeline.settings import get_settings
    from wirewatch.cli import app

    match_alerts(engine, [DOC], refresh=True)
    monkeypatch.setenv("WIREWATCH_INDEX_PREFIX", engine.prefix)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(app, ["alerts", "list", "--format", "json"])
        assert res.exit_code == 0, res.stderr
        assert sorted(e["search_id"] for e in json.loads(res.stdout)) == ["border", "mexico"]
        res = runner.invoke(app, ["alerts", "list", "--search", "border", "--since", "1h", "--format", "json"])
        assert [e["article_id"] for e in json.loads(res.stdout)] == ["a1"]
        res = runner.invoke(app, ["alerts", "list", "--since", "soon"])
        assert res.exit_code == 2  # a bad duration is a usage error
        res = runner.invoke(app, ["searches", "history", "mexico"])
        assert res.exit_code == 0 and "a1" in res.stdout
    finally:
        get_settings.cache_clear()


@pytest.mark.integration
def test_unknown_fields_and_missing_lists_do_not_break_matching(engine):
    doc = _variant("u1", cluster="c-u1", sentiment={"label": "neutral"}, brand_new_field=[1, 2])
    doc.pop("quotes")
    doc.pop("organizations")
    events = match_alerts(engine, [doc, {"id": "minimal", "title": "earthquake"}])
    assert sorted((e.search_id, e.article_id) for e in events) == [
        ("border", "u1"), ("mexico", "u1"), ("quakes", "minimal")]
    assert next(e for e in events if e.article_id == "minimal").cluster_id == "minimal"


def test_bench_generators_are_deterministic_and_python_check_follows_filter_semantics():
    from wirewatch.devtools.bench.alerts import generate_articles, generate_searches, python_matches

    a, b = generate_articles(300, seed=5), generate_articles(300, seed=5)
    assert a == b
    ids = [d["id"] for d in a]
    dups = [d for d in a if d["dedupe"]["duplicate_of"]]
    assert dups and all(ids.index(d["dedupe"]["cluster_id"]) < ids.index(d["id"]) for d in dups)
    searches = generate_searches(50, seed=5)
    assert len({s.id for s in searches}) == 50
    doc = {"persons": [{"name": "Sofía Tovar"}], "countries": ["MX"], "topics": ["flood"], "language": "es",
           "source": {"domain": "outlet1.example"}, "quotes": [{"speaker": "Sofía Tovar"}],
           "locations": [{"lat": 31.72, "lon": -106.46}]}
    assert python_matches(SavedSearch(name="x", persons=["sofia tovar"], countries=["mx"]), doc)
    assert python_matches(SavedSearch(name="x", speakers=["SOFÍA TOVAR"], near={"lat": 31.76, "lon": -106.49, "distance_km": 10}), doc)
    assert not python_matches(SavedSearch(name="x", near={"lat": 32.5, "lon": -117.0, "distance_km": 100}), doc)
    assert not python_matches(SavedSearch(name="x", topics=["flood"], language="en"), doc)
    with pytest.raises(ValueError):
        python_matches(SavedSearch(name="x", query="flood"), doc)


@pytest.mark.integration
def test_alert_writes_are_retried_and_a_final_failure_raises(engine):
    from pipeline.errors import EngineError

    concrete = f"{engine.prefix}-alerts-v1"
    block = {"index.blocks.read_only_allow_delete": True}
    unblock = {"index.blocks.read_only_allow_delete": None}
    engine.request("PUT", f"/{concrete}/_settings", block)
    try:
        calls: list[float] = []

        def sleep(seconds: float) -> None:
            calls.append(seconds)
            engine.request("PUT", f"/{concrete}/_settings", unblock)

        events = match_alerts(engine, [DOC], sleep=sleep)
        assert sorted(e.search_id for e in events) == ["border", "mexico"] and calls == [0.5]
        engine.request("PUT", f"/{concrete}/_settings", block)
        with pytest.raises(EngineError) as info:
            match_alerts(engine, [_variant("z1", cluster="c-z1")], sleep=lambda s: None)
        assert info.value.reason == "alert_write_failed" and info.value.transient is True
        assert info.value.events == []
    finally:
        engine.request("PUT", f"/{concrete}/_settings", unblock)
