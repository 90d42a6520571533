"""Dedupe stage: exact (URL, content hash) and near (MinHash LSH) duplicate detection
(:mod:`.deduper`), and what happens to a duplicate: its document, indexed with its
``duplicate_of`` pointer instead of being enriched again (:mod:`.duplicate`); and stories
(:mod:`.stories`): articles that different outlets wrote about one event under one ``story.id``,
the copies of a text always in their original's story."""
