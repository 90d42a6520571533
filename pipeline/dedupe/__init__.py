"""Dedupe stage: exact (URL, content hash) and near (MinHash LSH) duplicate detection
(:mod:`.deduper`), and what happens to a duplicate: its document, indexed with its
``duplicate_of`` pointer instead of being enriched again (:mod:`.duplicate`)."""
