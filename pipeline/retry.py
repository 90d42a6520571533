"""Waiting before a retry: exponential backoff with jitter, and a server's ``Retry-After``.

One definition for every stage that retries: the fetch client (``Retry-After`` of 429/503),
the feed registry (a failing feed's next poll), the bulk index and alert writes, notifications,
and the workers' task retries. Jitter follows the AWS Architecture Blog, "Exponential Backoff
And Jitter" (Marc Brooker, 2015): "full" draws the delay uniformly in ``[0, ceiling]``, "equal"
in ``[ceiling/2, ceiling]``.

Why our own few lines rather than a library: ``pipeline/`` never imports Celery (whose
``get_exponential_backoff_interval`` the workers could use), and tenacity's wait strategies
take a ``RetryCallState`` from its own retry loop, which none of these loops is (they retry
across Celery messages, Redis records and bulk items).
"""
from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def backoff_s(attempt: int, *, base_s: float, cap_s: float, jitter: Literal["full", "equal", None] = "full",
              retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    The ceiling is ``min(cap_s, base_s * 2**(attempt-1))``; ``jitter`` "full" gives a delay
    uniform in ``[0, ceiling]``, "equal" uniform in ``[ceiling/2, ceiling]``, None the ceiling
    itself. A server's ``retry_after_s`` is a floor, itself capped at ``cap_s``. ``rng``
    (default: the ``random`` module) makes the draw reproducible in tests.
    """
    n = max(1, attempt)
    ceiling = min(cap_s, base_s * 2 ** min(n - 1, 62))
    r = rng or random
    if jitter == "full":
        delay = r.random() * ceiling
    elif jitter == "equal":
        delay = ceiling / 2 + r.random() * ceiling / 2
    else:
        delay = ceiling
    if retry_after_s:
        delay = max(delay, min(retry_after_s, cap_s))
    return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    Delay-seconds may carry a decimal fraction (some servers send one); a date in the past gives
    0.0; an empty or unparsable value gives None.
    """
    if not value:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


__all__ = ["backoff_s", "parse_retry_after"]
