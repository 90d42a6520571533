"""Per-process resources for tasks, created on first use and reused: settings, a Redis
connection, the search-engine adapter, the guarded HTTP client, the feed registry, the deduper,
the dead letters and the counters. Nothing here talks to the network at import time.
"""
from __future__ import annotations

from functools import cached_property

import redis as redis_lib

from pipeline.settings import Settings, get_settings


class Runtime:
    """Lazily built collaborators for the pipeline functions a task calls."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    @cached_property
    def redis(self) -> redis_lib.Redis:
        """A ``redis.Redis`` on ``settings.redis_url`` with bounded timeouts."""
        return redis_lib.Redis.from_url(self.settings.redis_url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=30)

    @cached_property
    def engine(self):
        """The search-engine adapter (:class:`pipeline.index.engine.SearchEngine`)."""
        from pipeline.index.engine import SearchEngine

        return SearchEngine.from_settings(self.settings)

    @cached_property
    def http(self):
        """The guarded HTTP client with per-host politeness shared through Redis."""
        from pipeline.fetch.http import GuardedClient
        from pipeline.fetch.politeness import HostLimiter

        return GuardedClient(self.settings, limiter=HostLimiter(self.redis, self.settings))

    @cached_property
    def registry(self):
        """The feed registry (:class:`pipeline.feeds.registry.FeedRegistry`)."""
        from pipeline.feeds.registry import FeedRegistry

        return FeedRegistry(self.redis, self.settings)

    @cached_property
    def deduper(self):
        """The deduper (:class:`pipeline.dedupe.deduper.Deduper`)."""
        from pipeline.dedupe.deduper import Deduper

        return Deduper(self.redis, self.settings)

    @cached_property
    def deadletters(self):
        """The dead-letter store (:class:`pipeline.deadletter.DeadLetters`)."""
        from pipeline.deadletter import DeadLetters

        return DeadLetters(self.redis, self.settings)

    @cached_property
    def counters(self):
        """Shared counters (:class:`pipeline.stats.Counters`)."""
        from pipeline.stats import Counters

        return Counters(self.redis, self.settings)

    @cached_property
    def store(self):
        """Article and document payloads kept in Redis between stages (:class:`pipeline.store.PayloadStore`)."""
        from pipeline.store import PayloadStore

        return PayloadStore(self.redis, self.settings)


    @cached_property
    def delayed(self):
        """Retries parked until due, out of the broker (:class:`pipeline.delayed.DelayedTasks`)."""
        from pipeline.delayed import DelayedTasks

        return DelayedTasks(self.redis, self.settings)

    @cached_property
    def steps(self):
        """Once-per-task-id step markers (:class:`pipeline.once.StepMarkers`)."""
        from pipeline.once import StepMarkers

        return StepMarkers(self.redis, self.settings, ledger=self.settings.task_ledger)

    @cached_property
    def feed_health(self):
        """Feed-health states and events (:class:`pipeline.feeds.health.FeedHealth`)."""
        from pipeline.feeds.health import FeedHealth

        return FeedHealth(self.redis, self.settings, deadletters=self.deadletters)

    @cached_property
    def stories(self):
        """Story decisions and records (:class:`pipeline.dedupe.stories.StoryIndex`)."""
        from pipeline.dedupe.stories import StoryIndex

        return StoryIndex(self.redis, self.settings)

    @cached_property
    def index_pool(self):
        """Documents waiting for the index stage (:class:`pipeline.index.pending.PendingPool` ``index``)."""
        from pipeline.index.pending import PendingPool

        return PendingPool(self.redis, self.settings, "index")


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The process-wide :class:`Runtime` (created on first call)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime()
    return _runtime
