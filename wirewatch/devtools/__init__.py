"""Development and measurement tooling, kept out of the user commands' way: benchmarks
(:mod:`.bench`), chaos drills (:mod:`.chaos`), the load generator (:mod:`.loadgen`), the
sample-site server (:mod:`.seed_server`), local Redis/OpenSearch (:mod:`.services`) and the
enrichment scorer behind ``wirewatch eval`` (:mod:`.evaluation`). Nothing in ``pipeline/`` or
``workers/`` imports it."""
