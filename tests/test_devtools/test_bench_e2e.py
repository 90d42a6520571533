"""``wirewatch bench e2e`` on a small load: every generated article goes through real worker
processes (separate poll/fetch/alerts, index and enrich workers) into the bench's own
OpenSearch, and the result carries every figure the issue asks for.

No timing assertions (figures are the benchmark's business); the checks are about
completeness: N articles in, N documents out, one latency per article, stage histograms with
one task per article, memory samples per worker. The pure helpers are tested without services.
"""
from __future__ import annotations

import statistics

import pytest

from wirewatch.devtools.bench import e2e
from wirewatch.devtools.loadgen import GeneratedSite, generate_article

N = 24


@pytest.fixture(scope="module")
def result(settings):
    from wirewatch.devtools.services.opensearch_node import java_binary

    try:
        java_binary(settings)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Java for a local OpenSearch node: {exc}")
    from wirewatch.devtools.chaos import free_ports

    redis_port, base = free_ports()  # never fixed ports: parallel sessions run this module too
    return e2e.run_e2e(settings, articles=N, feeds=3, redis_port=redis_port, opensearch_base_port=base, timeout_s=600)


@pytest.mark.integration
@pytest.mark.slow
def test_every_article_indexed_once_with_figures(result):
    assert result["articles"] == N
    assert result["indexed"] == N
    assert result["duplicates"] == 0, "generated articles are all different stories"
    assert result["articles_per_s"] > 0
    assert set(result["latency_s"]) >= {"p50", "p95"}
    assert 0 < result["latency_s"]["p50"] <= result["latency_s"]["p95"]
    assert result["dead_lettered"] == 0
    assert not result["errors"]


@pytest.mark.integration
@pytest.mark.slow
def test_stage_histograms_count_tasks_and_index_batches(result):
    stages = result["stages"]
    for stage in ("fetch", "enrich", "index"):  # one message per article (warm-up ones on top)
        assert stages[stage]["tasks"] >= N, stage
        assert stages[stage]["mean_s"] > 0
    assert stages["enrich"]["enrich_ms_p50"] > 0
    # The index stage gathers documents (pipeline.index.pending): its batches hold every article, and
    # alerts get one task per index batch, not one per article.
    index = stages["index"]
    assert 1 <= index["batches"] <= index["tasks"]
    assert round(index["batches"] * index["docs_per_batch"]) >= N
    assert 1 <= stages["alerts"]["tasks"] <= index["batches"]


@pytest.mark.integration
@pytest.mark.slow
def test_memory_sampled_per_worker_and_pool_process(result):
    peaks = result["peak_rss_mb"]
    assert set(peaks) == {"io", "index", "enrich"}
    assert all(p["main"] > 0 for p in peaks.values())
    assert len(peaks["enrich"]["pool"]) >= 1 and min(peaks["enrich"]["pool"]) > 50  # spaCy is loaded
    assert result["cpu_s_per_article"] > 0
    assert result["ceiling_per_s"] > 0


# --- pure helpers ---------------------------------------------------------------------------------

def test_generated_articles_are_deterministic_realistic_and_distinct():
    a, b = generate_article(5, feed=1, seed=3), generate_article(5, feed=1, seed=3)
    assert a == b
    arts = [generate_article(i, feed=0, seed=3) for i in range(120)]
    words = [x.words for x in arts]
    assert 300 <= statistics.median(words) <= 800
    assert all(len(x.persons) >= 2 for x in arts)
    assert any("\u201c" in p for p in arts[0].paragraphs + arts[1].paragraphs + arts[2].paragraphs)

    def shingles(x):
        w = " ".join(x.paragraphs).lower().split()
        return {tuple(w[i:i + 5]) for i in range(len(w) - 4)}

    sets = [shingles(x) for x in arts[:60]]
    worst = max(len(sets[i] & sets[j]) / len(sets[i] | sets[j]) for i in range(60) for j in range(i + 1, 60))
    assert worst < 0.3, "generated stories must not look like near-duplicates (dedupe threshold 0.5)"


def test_generated_site_serves_feeds_that_list_every_article():
    import httpx

    from wirewatch.devtools.seed_server import feed_links

    with GeneratedSite(30, feeds=4) as site:
        links = [u for f in site.feed_urls for u in feed_links(httpx.get(f).content)]
        assert sorted(links) == sorted(site.expected_urls)
        page = httpx.get(site.expected_urls[7])
        assert page.status_code == 200 and "<article>" in page.text
        assert len(site.served_at_by_id()) == 1
        assert httpx.get(site.base_url + "/nope").status_code == 404


def test_generated_site_with_a_rate_publishes_over_time():
    import httpx

    from wirewatch.devtools.seed_server import feed_links

    with pytest.raises(ValueError):
        GeneratedSite(5, rate_per_s=0)
    with GeneratedSite(30, feeds=3, rate_per_s=4.0) as site:
        assert site.published_count() == 0
        assert [feed_links(httpx.get(f).content) for f in site.feed_urls] == [[], [], []]
        t0 = 1_900_000_000.0
        site.release(t0)
        assert site.published_count(now=t0) == 1
        assert site.published_count(now=t0 + 1.0) == 5  # articles 0..4 (one every 0.25 s)
        assert site.published_count(now=t0 + 100) == 30
        assert site.published_at(8) == t0 + 2.0
        site.release()  # now: the first article only
        links = [u for f in site.feed_urls for u in feed_links(httpx.get(f).content)]
        assert links == site.expected_urls[:site.published_count()] and len(links) >= 1
        ids = list(site.expected_ids())
        assert list(site.published_at_by_id()) == ids[:site.published_count()]


@pytest.mark.parametrize("args", [["-n", "0"], ["--articles", "-5"], ["--feeds", "0"], ["--rate", "0"]])
def test_cli_refuses_empty_loads_before_starting_anything(monkeypatch, args):
    from typer.testing import CliRunner

    from wirewatch.cli import app

    def started(*_a, **_k):
        raise AssertionError("run_e2e must not start services for an invalid load")

    monkeypatch.setattr(e2e, "run_e2e", started)
    out = CliRunner().invoke(app, ["bench", "e2e", *args])
    assert out.exit_code == 2, out.output
    assert "Invalid value" in out.output
