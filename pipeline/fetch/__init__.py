"""Fetch stage: the guarded HTTP client (:mod:`.http`) behind the SSRF guard (:mod:`.ssrf`)
and per-host politeness (:mod:`.politeness`), article extraction (:mod:`.extract`), and the
stage's one entry point, :func:`pipeline.fetch.article.fetch_article`."""
