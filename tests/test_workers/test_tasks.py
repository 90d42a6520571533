"""workers/tasks.py: the tasks as wiring. Each test runs the tasks in this process (Celery's
eager mode: a task's ``.delay`` runs the next task at once, nothing goes through a broker)
against the real Redis and OpenSearch, with a per-test index prefix and no linger."""
from __future__ import annotations

import uuid

import pytest

from httpserver import ARTICLE_HTML, local_server  # noqa: F401  (pytest fixture)
from pipeline.alerts.searches import SavedSearch, SavedSearchStore
from pipeline.index.engine import SearchEngine
from pipeline.index.pending import PendingPool
from pipeline.models import Article, ArticleRef
from workers import runtime as runtime_mod
from workers import tasks
from workers.app import app


@pytest.fixture()
def rt(engine_settings, redis_client, request):
    """A :class:`workers.runtime.Runtime` on the test services, installed as the process
    runtime, with a fresh index prefix and one saved search; tasks run eagerly."""
    tag = request.node.name[:24].lower().replace("_", "")
    settings = engine_settings
    s = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}-tk-{tag}",
                                    "redis_key_prefix": f"{settings.redis_key_prefix}:tk:{tag}",
                                    "index_linger_s": 0.0})
    engine = SearchEngine.from_settings(s)
    engine.ensure_setup()
    SavedSearchStore(engine).add(SavedSearch(name="River", query="river AND crossing"))
    runtime = runtime_mod.Runtime(s)
    saved, runtime_mod._runtime = runtime_mod._runtime, runtime
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield runtime
    finally:
        app.conf.task_always_eager = eager
        runtime_mod._runtime = saved
        engine.delete_all()


def _indexed(rt, doc_id: str) -> dict | None:
    rt.engine.request("POST", f"/{rt.engine.alias('articles')}/_refresh")
    hits = rt.engine.request("POST", f"/{rt.engine.alias('articles')}/_search",
                             {"query": {"ids": {"values": [doc_id]}}})["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def test_fetch_then_duplicate_run_the_whole_chain(rt, local_server):
    page_b = ARTICLE_HTML.replace('href="/article?utm_source=test"', 'href="/copy"').replace("three weeks", "three long weeks")
    local_server.add("/story", ARTICLE_HTML.replace('href="/article?utm_source=test"', 'href="/story"'),
                     content_type="text/html; charset=utf-8")
    local_server.add("/copy", page_b, content_type="text/html; charset=utf-8")
    ref = dict(feed_id="f1", feed_url=local_server.url("/feed.xml"), guid="g1", title="River")
    first = tasks.fetch_article.apply(args=[ArticleRef(link=local_server.url("/story"), **ref).to_dict()]).get()
    second = tasks.fetch_article.apply(args=[ArticleRef(link=local_server.url("/copy"), **{**ref, "guid": "g2"}).to_dict()]).get()
    original, duplicate = _indexed(rt, first), _indexed(rt, second)
    assert original and original["dedupe"]["duplicate_of"] is None and original["source"]["feed_id"] == "f1"
    assert duplicate["dedupe"]["duplicate_of"] == first and duplicate["enrichment_source"] == first
    assert duplicate["dedupe"]["cluster_id"] == original["dedupe"]["cluster_id"] == first
    counts = rt.counters.all()
    assert counts.get("fetched") == 2 and counts.get("duplicates") == 1 and counts.get("enriched") == 1
    assert counts.get("indexed") == 2
    assert rt.index_pool.size() == 0                       # both claims taken and released
    assert rt.deadletters.count() == 0


def test_enrich_of_a_missing_article_is_dead_lettered_with_its_reason(rt):
    assert tasks.enrich_article.apply(args=["no-such-article"]).get() is None
    [entry] = rt.deadletters.list()
    assert entry["kind"] == "task:wirewatch.enrich_article" and entry["reason"] == "payload_missing"
    assert entry["payload"]["args"] == ["no-such-article"]
    assert rt.counters.all().get("dead_lettered") == 1


def test_index_task_dead_letters_a_missing_document_and_indexes_the_rest(rt):
    art = Article(id="kept", url="https://news.example.org/k", canonical_url="https://news.example.org/k",
                  title="River crossing reopens", body="The river crossing reopened on Tuesday.", language="en")
    from pipeline.document import article_document

    rt.store.put("doc", art.id, article_document(art))
    assert tasks.index_batch.apply(args=[["kept", "gone"]]).get() == 1
    assert _indexed(rt, "kept")["title"] == "River crossing reopens"
    [entry] = rt.deadletters.list()
    assert entry["kind"] == "doc" and entry["payload"] == {"id": "gone"} and entry["reason"] == "payload_missing"


def test_backoff_grows_with_full_jitter_up_to_the_cap():
    samples = [tasks.backoff_s(a) for a in range(12) for _ in range(50)]
    assert all(0 <= d <= tasks.BACKOFF_CAP_S for d in samples)
    assert max(tasks.backoff_s(0) for _ in range(200)) <= tasks.BACKOFF_BASE_S
    assert max(tasks.backoff_s(11) for _ in range(200)) > tasks.BACKOFF_BASE_S * 2 ** 5


def test_index_task_dead_lettered_before_reading_its_claim_records_the_claim(redis_client, settings, monkeypatch):
    """The last retry of a pooled index task fails on Redis before it reads the claim an earlier
    attempt made (same task id). The dead letter must name the claimed ids as an unpooled call:
    the pooled call it was sent with, replayed under a new task id, finds its id neither pending
    nor claimed by it and indexes nothing, so the claim's ids would be lost."""
    import redis

    from pipeline.deadletter import DeadLetters
    from workers import runtime as runtime_mod
    from workers.tasks import MAX_RETRIES, index_batch

    class TimesOutOnce(PendingPool):  # fault injection on our own class; Redis itself is real
        failures = 1

        def claimed(self, task_id):
            if self.failures:
                self.failures -= 1
                raise redis.TimeoutError("injected: Redis did not answer")
            return super().claimed(task_id)

    tag = uuid.uuid4().hex[:8]
    rt = runtime_mod.Runtime(settings)
    pool = TimesOutOnce(redis_client, settings, f"test-{tag}")
    rt.__dict__["index_pool"] = pool
    monkeypatch.setattr(runtime_mod, "_runtime", rt)
    mine, other, task_id = f"mine-{tag}", f"other-{tag}", f"task-{tag}"
    pool.add([mine, other], now=1.0)
    assert pool.claim(task_id, [mine], limit=10) == [mine, other]  # an earlier attempt's claim

    index_batch.apply(args=[[mine]], kwargs={"pooled": True}, task_id=task_id, retries=MAX_RETRIES)

    entries = [e for e in DeadLetters(redis_client, settings).list(kind="task:wirewatch.index_batch", limit=1000)
               if tag in repr(e["payload"])]
    assert [e["payload"] for e in entries] == [{"task": "wirewatch.index_batch", "args": [[mine, other]], "kwargs": {}}]
    assert pool.claimed(task_id) is None  # released once the dead letter names its ids
    redis_client.delete(pool.key)


class _Recorder:
    """Stands in for a Celery task in the pure splitting rule: records ``delay`` calls."""

    name = "wirewatch.index_batch"

    def __init__(self):
        self.sent: list[list[str]] = []

    def delay(self, ids):
        self.sent.append(ids)


def test_a_permanently_failing_batch_is_split_into_single_documents():
    from pipeline.errors import EngineError
    from workers.tasks import _split_batch

    task = _Recorder()
    permanent = EngineError("mapper_parsing_exception", reason="engine_400", transient=False)
    assert _split_batch(task, ["a", "b", "c"], permanent) is True
    assert task.sent == [["a"], ["b"], ["c"]]
    # One document, or a failure that may pass (engine down): the failure policy decides.
    assert _split_batch(task, ["a"], permanent) is False
    assert _split_batch(task, ["a", "b"], EngineError("down", reason="unreachable", transient=True)) is False
    assert _split_batch(task, ["a", "b"], ConnectionError("reset")) is False
    assert task.sent == [["a"], ["b"], ["c"]]
