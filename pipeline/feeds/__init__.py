"""Feeds stage: the feed registry in Redis (:mod:`.registry`), feed parsing (:mod:`.parse`),
OPML import/export (:mod:`.opml`), polling with conditional GETs (:mod:`.poll`) and feed health:
failing, disabled or silent feeds, one event per state change (:mod:`.health`)."""
