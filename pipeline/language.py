"""Language identification, one function for the fetch stage (an article's language) and the
enrich stage (a text whose language nobody declared): py3langid, the langid.py model (97
languages), loaded once per process."""
from __future__ import annotations

import functools

#: Characters of a text given to the identifier by default: a few sentences decide the
#: language, and py3langid's cost grows with the length. Our measurement (CPU time, generated
#: 590-word articles, model loaded): 5,000 chars ~0.85 ms, 1,500 ~0.46 ms, ~1.2 ms when run
#: between spaCy passes (cold caches). Loading the model costs ~0.56 s once per process. On 400
#: generated articles, tests/gold and ../shared/seeds (all English) 300 to 1,500 chars decide alike.
SAMPLE_CHARS = 1500


@functools.lru_cache(maxsize=1)
def _identifier():
    """py3langid's identifier with normalised probabilities, or None when it cannot load."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    except Exception:  # noqa: BLE001 - language identification is best effort
        return None


def detect_language(text: str | None, *, sample_chars: int = SAMPLE_CHARS) -> tuple[str | None, float]:
    """``(ISO 639-1 code, probability 0..1)`` of the first ``sample_chars`` characters of
    ``text``, or ``(None, 0.0)`` when the text is empty or the identifier fails. Raises nothing."""
    if not text or not text.strip():
        return None, 0.0
    ident = _identifier()
    if ident is None:
        return None, 0.0
    try:
        code, prob = ident.classify(text[:sample_chars])
    except Exception:  # noqa: BLE001 - best effort
        return None, 0.0
    return (code or None), float(prob)
