#!/usr/bin/env bash
# Run the main job on this machine: set-up (idempotent), local services, the sample feeds
# through workers into the search engine (OpenSearch; WIREWATCH_SEARCH_ENGINE=elasticsearch for a local
# Elasticsearch 7.17), alerts. Extra arguments go to `wirewatch demo`.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
exec .venv/bin/wirewatch demo "$@"
