#!/usr/bin/env bash
# Run the tests on this machine: set-up (idempotent), local Redis and the search engines the
# integration tests run against (OpenSearch 2.19, OpenSearch 3, Elasticsearch 7.17; see
# tests/engines.py, WIREWATCH_TEST_ENGINES narrows the set), then pytest. Integration tests fail
# (not skip) here when a service is missing. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
.venv/bin/python tests/engines.py up
export WIREWATCH_TEST_REQUIRE_SERVICES=1
exec .venv/bin/pytest -q -rs -p no:cacheprovider "$@"
