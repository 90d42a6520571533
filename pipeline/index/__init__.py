"""Index stage: one adapter for OpenSearch and Elasticsearch (:mod:`.engine`), the index
templates (:mod:`.mappings`), bulk writes (:mod:`.bulk`), and the batching protocol that lets
documents gather before one bulk request (:mod:`.pending`, :mod:`.batch`)."""
