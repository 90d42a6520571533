"""The index stage's batching protocol (pipeline.index.batch) against the real Redis and
OpenSearch: hand-over, claim, redelivery, the dead letter's replay call, indexing stored
documents."""
from __future__ import annotations

import uuid

import pytest

from pipeline.deadletter import DeadLetters
from pipeline.document import article_document
from pipeline.index.batch import claim_batch, dead_letter_call, hand_to_index, index_stored
from pipeline.index.engine import SearchEngine
from pipeline.index.pending import PendingPool
from pipeline.models import Article
from pipeline.stats import Counters
from pipeline.store import PayloadStore


@pytest.fixture
def pool(redis_client, settings):
    p = PendingPool(redis_client, settings, f"batch-{uuid.uuid4().hex[:8]}")
    yield p
    redis_client.delete(p.key)


def test_hand_to_index_adds_before_it_sends(pool):
    seen = []
    hand_to_index(pool, "d1", lambda ids: seen.append((ids, pool.any_pending(ids))))
    assert seen == [(["d1"], True)]


def test_claim_batch_takes_the_others_and_a_redelivery_gets_its_claim_back(pool):
    pool.add(["a", "b", "c"])
    assert claim_batch(pool, "t1", ["b"], linger_s=0.0, limit=2) == ["b", "a"]
    assert claim_batch(pool, "t1", ["b"], linger_s=0.0, limit=2) == ["b", "a"]     # same task id
    assert claim_batch(pool, "t2", ["a"], linger_s=0.0, limit=2) is None          # taken by t1
    assert claim_batch(pool, "t3", ["c"], linger_s=0.0, limit=2) == ["c"]


def test_dead_letter_call_records_the_claim_when_there_is_one(pool):
    assert dead_letter_call(pool, "t1", ["x"]) == ([["x"]], {"pooled": True})
    pool.add(["x", "y"])
    claim_batch(pool, "t1", ["x"], linger_s=0.0, limit=5)
    assert dead_letter_call(pool, "t1", ["x"]) == ([["x", "y"]], {})
    pool.release("t1")
    assert dead_letter_call(pool, "t1", ["x"]) == ([["x"]], {"pooled": True})


def test_index_stored_indexes_what_is_stored_and_dead_letters_the_rest(redis_client, engine_settings):
    settings = engine_settings
    s = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-batch",
                                    "redis_key_prefix": f"{settings.redis_key_prefix}:batch"})
    store, dl, counters = PayloadStore(redis_client, s), DeadLetters(redis_client, s), Counters(redis_client, s)
    art = Article(id="s1", url="https://news.example.org/s1", canonical_url="https://news.example.org/s1",
                  title="Stored", body="A stored document.", language="en")
    store.put("doc", "s1", article_document(art))
    with SearchEngine.from_settings(s) as engine:
        engine.ensure_setup()
        out = index_stored(engine, store, dl, counters, ["s1", "expired"])
    assert out.indexed == ["s1"] and out.read == 1 and out.dead_lettered == ["expired"]
    [entry] = dl.list()
    assert entry["kind"] == "doc" and entry["reason"] == "payload_missing" and entry["payload"] == {"id": "expired"}
    assert counters.all()["indexed"] == 1
