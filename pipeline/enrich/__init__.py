"""Enrichment: one spaCy pass, then entities, places, quotes and topics over it.

:func:`enrich_text` is the whole stage for a body of text; :func:`enrich_article` wraps it into
the enriched-document contract of DESIGN.md. The model is loaded once per process
(:func:`pipeline.enrich.nlp.get_nlp`).
"""
