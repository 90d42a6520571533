"""Failure drills on real services: nothing lost, nothing doubled.

The drills run on their OWN Redis and OpenSearch, on free ports picked at run time
(:func:`wirewatch.devtools.chaos.free_ports`), started in a temporary state folder by
:class:`wirewatch.devtools.chaos.Rig` and shut down at the end: they stop, kill and restart those, never
the shared development services. Real ``wirewatch worker`` processes on separate queues do the
work. Each drill serves :data:`N` generated articles and then checks the index, alerts and
dead letters against the expected ids (:meth:`wirewatch.devtools.chaos.Batch.verify`).

The unit tests at the end (generated site, settings guard, the ``doc`` replay handler on the
shared Redis under this session's key prefix) need no rig.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from wirewatch.devtools import chaos
from wirewatch.devtools.loadgen import GeneratedSite

#: Articles per drill (the issue suggests 30-60; fewer keeps the module under ~8 minutes).
N = 30


@pytest.fixture(scope="module")
def rig(settings):
    from wirewatch.devtools.services.opensearch_node import java_binary

    try:
        java_binary(settings)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Java for a local OpenSearch node: {exc}")
    state = Path(tempfile.mkdtemp(prefix="wirewatch-test-chaos-"))
    redis_port, base = chaos.free_ports()  # never fixed ports: parallel sessions run this module too
    s = chaos.drill_settings(settings, state, redis_port=redis_port, opensearch_base_port=base, tag="tchaos")
    r = chaos.Rig(s)
    try:
        r.start()
        r.wait_workers_ready()
        yield r
    finally:
        r.close()


def _assert_exactly_once(res: chaos.ScenarioResult) -> None:
    detail = json.dumps(res.to_dict(), indent=1)
    assert res.sent == N
    assert res.lost == 0, detail
    assert res.duplicated == 0, detail
    assert res.indexed == N - res.poison, detail
    assert res.alerts_doubled == 0, detail
    assert res.alerts == res.alerts_expected, detail
    assert res.marked_duplicate == 0, detail
    assert res.steps_doubled == 0, detail  # no side effect ran twice for one task id



@pytest.mark.integration
@pytest.mark.slow
def test_sigkill_enrich_pool_process_loses_and_doubles_nothing(rig):
    res = chaos.scenario_kill_enrich(rig, N, seed=101)
    assert any(n.startswith("SIGKILL enrich pool pid") for n in res.notes), res.notes
    _assert_exactly_once(res)
    assert res.dead_lettered == 0


@pytest.mark.integration
@pytest.mark.slow
def test_sigkill_index_worker_mid_batch_is_redelivered(rig):
    res = chaos.scenario_kill_index(rig, N, seed=102)
    assert any(n.startswith("SIGKILL index worker") for n in res.notes), res.notes
    _assert_exactly_once(res)


@pytest.mark.integration
@pytest.mark.slow
def test_opensearch_down_30s_during_ingestion(rig):
    res = chaos.scenario_opensearch_down(rig, N, seed=103)
    assert any(n.startswith("OpenSearch back") for n in res.notes), res.notes
    _assert_exactly_once(res)
    assert res.dead_lettered == 0


@pytest.mark.integration
@pytest.mark.slow
def test_redis_restart_with_aof_during_ingestion(rig):
    res = chaos.scenario_redis_restart(rig, N, seed=104)
    assert any(n.startswith("Redis restarted") for n in res.notes), res.notes
    _assert_exactly_once(res)


@pytest.mark.integration
@pytest.mark.slow
def test_poison_article_is_dead_lettered_with_its_reason(rig):
    res = chaos.scenario_poison(rig, N, seed=105, poison=2)
    _assert_exactly_once(res)
    assert res.poison == 2
    assert res.poison_dead_lettered == 2
    from pipeline.deadletter import DeadLetters

    entries = DeadLetters(rig.redis, rig.settings).list(kind="task:wirewatch.enrich_article", limit=1000)
    assert {e["reason"] for e in entries} == {"chaos_poison"}
    assert all("ChaosPoison" in e["error"] for e in entries)


@pytest.mark.integration
@pytest.mark.slow
def test_dead_webhook_does_not_block_or_double_alerts(rig):
    res = chaos.scenario_notify_down(rig, N, seed=106)
    _assert_exactly_once(res)
    assert res.alerts > 0, "the drill needs at least one matching article"
    assert res.notifications == 0
    assert res.notifications_dead_lettered == res.alerts


# --- no rig needed ------------------------------------------------------------------------------

def test_isolated_settings_refuse_the_shared_services(settings, tmp_path):
    with pytest.raises(ValueError):
        chaos.isolated_settings(settings, state_dir=tmp_path, redis_port=6390, opensearch_base_port=9270)
    with pytest.raises(ValueError):
        chaos.isolated_settings(settings, state_dir=tmp_path, redis_port=6399, opensearch_base_port=9250)
    s = chaos.isolated_settings(settings, state_dir=tmp_path, redis_port=6399, opensearch_base_port=9280)
    assert s.redis_url == "redis://127.0.0.1:6399/0"
    assert s.search_url == "http://127.0.0.1:9281"
    assert s.state_dir == tmp_path
    assert s.chaos_poison_marker is None


def test_generated_site_marks_only_poison_pages():
    import httpx

    with GeneratedSite(12, feeds=3, poison={4}, poison_marker=chaos.POISON_MARKER) as site:
        pages = [httpx.get(u).text for u in site.expected_urls]
        assert [chaos.POISON_MARKER in p for p in pages] == [i == 4 for i in range(12)]
        assert len(site.poison_ids()) == 1 and site.poison_ids() <= set(site.expected_ids())


@pytest.mark.integration
def test_doc_replay_handler_requeues_from_the_furthest_stored_stage(settings, redis_client):
    from pipeline.store import PayloadStore
    from workers.replay import doc_replay_factory

    sent: list[tuple[str, list]] = []
    handle = doc_replay_factory(settings, send_task=lambda name, args: sent.append((name, args)))
    store = PayloadStore(redis_client, settings)
    store.put("doc", "d1", {"id": "d1"})
    store.put("article", "a1", {"id": "a1"})
    assert handle({"id": "d1"}) == "wirewatch.index_batch"
    assert handle({"id": "a1"}) == "wirewatch.enrich_article"
    assert sent == [("wirewatch.index_batch", [["d1"]]), ("wirewatch.enrich_article", ["a1", None])]
    with pytest.raises(LookupError):
        handle({"id": "gone"})
    with pytest.raises(ValueError):
        handle({})


def test_dlq_command_knows_the_doc_kind(settings):
    from workers.replay import handler_for

    assert callable(handler_for("doc", settings))
