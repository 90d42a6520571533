#!/usr/bin/env bash
# Run the tests on this machine: set-up (idempotent), local Redis and OpenSearch, then pytest.
# Integration tests fail (not skip) here when a service is missing. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
.venv/bin/wirewatch services up
export WIREWATCH_TEST_REQUIRE_SERVICES=1
exec .venv/bin/pytest -q -rs -p no:cacheprovider "$@"
