"""pipeline.retry: backoff with full and equal jitter, Retry-After as a floor, Retry-After parsing."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from pipeline.retry import backoff_s, parse_retry_after


def test_ceiling_doubles_up_to_the_cap_without_jitter():
    assert [backoff_s(n, base_s=0.5, cap_s=3.0, jitter=None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_s(0, base_s=0.5, cap_s=3.0, jitter=None) == 0.5          # attempts below 1 count as the first
    assert backoff_s(10_000, base_s=1.0, cap_s=60.0, jitter=None) == 60.0   # no overflow


def test_full_jitter_spans_zero_to_ceiling_and_equal_jitter_the_upper_half():
    rng = random.Random(7)
    full = [backoff_s(4, base_s=1.0, cap_s=100.0, jitter="full", rng=rng) for _ in range(500)]
    equal = [backoff_s(4, base_s=1.0, cap_s=100.0, jitter="equal", rng=rng) for _ in range(500)]
    assert 0.0 <= min(full) < 1.0 and 7.0 < max(full) <= 8.0
    assert 4.0 <= min(equal) < 4.5 and 7.5 < max(equal) <= 8.0


def test_retry_after_is_a_floor_capped_like_the_delay():
    rng = random.Random(1)
    assert backoff_s(1, base_s=1.0, cap_s=30.0, retry_after_s=20.0, rng=rng) == 20.0
    assert backoff_s(1, base_s=1.0, cap_s=30.0, retry_after_s=1e9, rng=rng) == 30.0


def test_parse_retry_after():
    now = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("Mon, 01 Jan 2024 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None
