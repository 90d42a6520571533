"""Feeds stage: the feed registry in Redis (:mod:`.registry`), feed parsing (:mod:`.parse`),
OPML import/export (:mod:`.opml`) and polling with conditional GETs (:mod:`.poll`)."""
