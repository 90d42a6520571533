#!/usr/bin/env bash
# Run the main job on this machine: set-up (idempotent), local services, the sample feeds
# through workers into OpenSearch, alerts. Extra arguments go to `wirewatch demo`.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
exec .venv/bin/wirewatch demo "$@"
