"""A generated news site for load tests and failure drills: N invented articles over several
feeds, served on 127.0.0.1 like :class:`wirewatch.devtools.seed_server.SeedServer`.

Every article is built deterministically from ``seed`` out of invented word lists and sentence
templates: invented people (with a first mention by full name and later ones by surname),
invented organizations, real places (so the geoparser has something to resolve), quotes with
a speaker and a reporting verb, and a topic vocabulary (border, economy, health, weather,
politics, sports). Lengths follow a log-normal draw with a median of
:data:`MEDIAN_WORDS` words, clamped to [:data:`MIN_WORDS`, :data:`MAX_WORDS`]; wire-service
news stories mostly fall between a few hundred and a thousand words (our reading of common
newsroom length guidance, not a measured corpus figure).

Each sentence carries several random slots (names, numbers, places, nouns), so two generated
articles share few 5-word shingles and are not near-duplicates of each other (the bench
reports how many the deduper flagged anyway).

The server records when each article page was first served (``served_at``, epoch seconds),
which is the moment a worker fetched it: benchmarks measure latency from there to the
document's ``indexed_at`` without changing the pipeline's own time stamps.

Pages listed in ``poison`` carry ``poison_marker`` in their body (for the chaos drills, see
:mod:`wirewatch.devtools.chaos` and ``Settings.chaos_poison_marker``).

Example::

    with GeneratedSite(200, feeds=4) as site:
        print(site.feed_urls, site.expected_urls[:3])
"""
from __future__ import annotations

import hashlib
import html
import math
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pipeline.logs import get_logger
from wirewatch.devtools.seed_server import BackgroundSite

log = get_logger(__name__)

#: Median body length in words, and the clamp (see the module docstring for the source).
MEDIAN_WORDS = 520
MIN_WORDS = 150
MAX_WORDS = 1400
#: Spread of the log-normal length draw (sigma of ln(words)); 0.45 puts ~90 % of bodies
#: between ~250 and ~1100 words.
LENGTH_SIGMA = 0.45

FIRST_NAMES = (
    "Amara", "Tomas", "Lucia", "Rafael", "Ingrid", "Kwame", "Mei", "Oskar", "Priya", "Dmitri",
    "Elena", "Joaquin", "Farah", "Henrik", "Ayesha", "Mateo", "Sofia", "Nikolai", "Carmen", "Idris",
    "Beatriz", "Lorenzo", "Yara", "Anders", "Rosa", "Emeka", "Hana", "Gustavo", "Leila", "Viktor",
    "Marisol", "Olusegun", "Katrin", "Diego", "Noor", "Fabian", "Ximena", "Tariq", "Greta", "Hugo",
)
SURNAMES = (
    "Okonkwo", "Valdivia", "Lindqvist", "Arcenaux", "Marchetti", "Brennagh", "Solorzano", "Hakimi",
    "Castellanos", "Novakova", "Ferreira", "Abernathy", "Quintanilla", "Radovan", "Thibodeaux",
    "Mbeki-Lowe", "Strandberg", "Echeverria", "Kowalczyk", "Delacroix", "Ibarguen", "Montalvo",
    "Rasmussen", "Oyelaran", "Villaseñor", "Pemberton", "Zamudio", "Halvorsen", "Benavides",
    "Achterberg", "Cienfuegos", "Lozano-Pratt", "Markovic", "Nakashima", "Urquidi", "Fairweather",
)
ROLES = (
    "the regional governor", "a city council member", "the deputy interior minister",
    "a spokesperson for the port authority", "the mayor", "an economist", "a union organizer",
    "the head of the local chamber of commerce", "a public health official", "the coach",
    "a customs supervisor", "a shelter director", "the finance secretary", "a farmer",
)
ORGS = (
    "the Northern Freight Alliance", "Meridian Health Trust", "the Valley Growers Cooperative",
    "Copperline Rail", "the Institute for Border Studies", "Solano Bank", "the Harbor Workers Union",
    "Andes Mining Group", "the Civic Data Lab", "Riverbend Energy", "the Coastal Fisheries Board",
    "Atlas Logistics", "the National Water Commission", "Tierra Verde Foundation",
    "the Metropolitan Transit Agency", "Falcon Aerospace", "the Regional Migration Office",
)
PLACES = (
    "Tijuana", "Monterrey", "Ciudad Juarez", "Nogales", "Tapachula", "El Paso", "San Diego",
    "Laredo", "Guadalajara", "Oaxaca", "Puebla", "Mexico City", "Lyon", "Marseille", "Hamburg",
    "Rotterdam", "Nairobi", "Mombasa", "Lagos", "Accra", "Lima", "Cusco", "Bogota", "Medellin",
    "Quito", "Santiago", "Valparaiso", "Manila", "Cebu", "Osaka", "Busan", "Krakow", "Gdansk",
    "Porto", "Seville", "Naples", "Thessaloniki", "Izmir", "Casablanca", "Tunis",
)
TOPIC_WORDS = {
    "border": ("border crossing", "asylum seekers", "migrants", "port of entry", "border patrol",
               "checkpoint", "deportation flights", "humanitarian visas"),
    "economy": ("inflation", "factory orders", "exports", "interest rates", "supply chains",
                "wages", "tariffs", "freight volumes"),
    "health": ("vaccination campaign", "hospital beds", "measles cases", "clinic staffing",
               "water quality", "emergency rooms", "outbreak", "health inspectors"),
    "weather": ("flash flooding", "heat wave", "drought", "storm surge", "power outages",
                "evacuation orders", "rainfall", "wildfire smoke"),
    "politics": ("the election", "the budget vote", "coalition talks", "a new bill",
                 "the opposition", "the senate committee", "the referendum", "public hearings"),
    "sports": ("the championship", "the final match", "the transfer window", "the stadium",
               "the season opener", "the marathon", "the playoffs", "the training camp"),
}
NOUNS = (
    "plan", "report", "schedule", "inspection", "agreement", "contract", "review", "budget",
    "proposal", "investigation", "shipment", "program", "deadline", "survey", "audit", "project",
    "permit", "hearing", "forecast", "delegation", "convoy", "backlog", "fund", "pilot scheme",
)
ADJECTIVES = (
    "unexpected", "long-delayed", "controversial", "modest", "sweeping", "temporary", "costly",
    "fragile", "ambitious", "narrow", "provisional", "overdue", "sudden", "gradual", "disputed",
)
VERBS = (
    "delayed", "approved", "criticized", "expanded", "suspended", "announced", "questioned",
    "defended", "rejected", "revised", "welcomed", "postponed", "funded", "blocked", "extended",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SAY_VERBS = ("said", "told reporters", "added", "warned", "explained", "insisted", "noted")
QUOTE_BITS = (
    "we cannot keep asking families to wait", "the numbers simply do not add up",
    "this is the most serious {topic} problem we have seen in {n} years",
    "nobody here expected the {noun} to move this fast", "we will keep working until it is fixed",
    "people in {place} deserve a straight answer", "the {adj} {noun} is only the first step",
    "our teams have been on the ground since {day}", "it costs us about {n} dollars a day",
    "there is no reason to panic, but there is every reason to prepare",
    "we asked for help {n} times and heard nothing back", "the {noun} was never meant to last",
)
TEMPLATES = (
    "On {day}, {org} {verb} the {adj} {noun} covering {topic} in {place}.",
    "{Person} {say} that {topic} near {place} had {verb2} by {n} percent since {month}.",
    "Records seen by reporters show {n} {topic} cases around {place} in {month} alone.",
    "The {noun} drew {n} objections at a packed meeting in {place} on {day}.",
    "Critics of {org} argue the {adj} {noun} leaves {place} exposed to {topic}.",
    "\u201c{Quote},\u201d {person} {say}.",
    "\u201c{Quote},\u201d said {person}, {role}.",
    "{Person}, {role}, {say}: \u201c{Quote}.\u201d",
    "By {day} evening about {n} people had gathered outside the offices of {org} in {place}.",
    "Officials in {place} {verb} a {adj} {noun} worth {n} million pesos after {topic} worsened.",
    "{Person} met {person2} of {org} in {place} to discuss {topic} and the {noun}.",
    "According to {org}, {topic} in {place} rose to {n} during the week to {day}.",
    "The {adj} {noun} would route {topic} through {place} and {place2}, a {n}-kilometer detour.",
    "In {place2}, residents described {topic} as {adj}, and some {verb} the {noun} outright.",
    "A {noun} released by {org} counted {n} incidents tied to {topic} between {place} and {place2}.",
    "{Person} has {verb} the {noun} twice this year, most recently in {month}.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass
class GeneratedArticle:
    """One generated article: its path on the site, feed index, title, body paragraphs,
    publication time (epoch seconds) and the people it names."""

    path: str
    feed: int
    title: str
    paragraphs: list[str]
    published: float
    persons: list[str] = field(default_factory=list)

    @property
    def words(self) -> int:
        """Words in the body."""
        return sum(len(p.split()) for p in self.paragraphs)


def _target_words(rng: random.Random) -> int:
    return int(min(MAX_WORDS, max(MIN_WORDS, math.exp(rng.gauss(math.log(MEDIAN_WORDS), LENGTH_SIGMA)))))


def generate_article(index: int, *, feed: int, seed: int = 7, poison_marker: str | None = None) -> GeneratedArticle:
    """Build article number ``index`` (deterministic for ``(index, seed)``).

    ``poison_marker``, when given, is written into the second paragraph. Returns a
    :class:`GeneratedArticle` whose path is ``/news/<feed>/<index>-<slug>.html``.
    """
    rng = random.Random(f"{seed}:{index}")
    topic_key = rng.choice(sorted(TOPIC_WORDS))
    topics = TOPIC_WORDS[topic_key]
    people = [(rng.choice(FIRST_NAMES), rng.choice(SURNAMES), rng.choice(ROLES)) for _ in range(rng.randint(2, 4))]
    orgs = rng.sample(ORGS, 3)
    places = rng.sample(PLACES, 3)
    mentioned: set[int] = set()

    def person(i: int) -> str:
        first, last, _ = people[i % len(people)]
        if i % len(people) in mentioned:
            return last
        mentioned.add(i % len(people))
        return f"{first} {last}"

    def fill(template: str) -> str:
        pi = rng.randrange(len(people))
        values = {
            "day": rng.choice(DAYS), "month": rng.choice(MONTHS), "org": rng.choice(orgs),
            "adj": rng.choice(ADJECTIVES), "noun": rng.choice(NOUNS), "verb": rng.choice(VERBS),
            "verb2": rng.choice(("risen", "fallen", "doubled", "slowed", "climbed", "dropped")),
            "topic": rng.choice(topics), "place": places[0] if rng.random() < 0.5 else rng.choice(places),
            "place2": rng.choice(places[1:]), "n": str(rng.randint(3, 4800)), "say": rng.choice(SAY_VERBS),
            "role": people[pi][2],
        }
        values["Quote"] = rng.choice(QUOTE_BITS).format(topic=values["topic"], n=rng.randint(2, 40), noun=values["noun"],
                                                         place=values["place"], adj=values["adj"], day=values["day"])
        values["Quote"] = values["Quote"][0].upper() + values["Quote"][1:]
        if "{person}" in template or "{Person}" in template:
            values["person"] = values["Person"] = person(pi)
        if "{person2}" in template:
            values["person2"] = person(pi + 1)
        return template.format(**values)

    target = _target_words(rng)
    paragraphs: list[str] = []
    words = 0
    lead_person = person(0)
    lead = (f"{lead_person}, {people[0][2]}, {rng.choice(VERBS)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} on "
            f"{rng.choice(DAYS)} as {rng.choice(topics)} in {places[0]} drew new attention from {orgs[0]}.")
    paragraphs.append(lead)
    words += len(lead.split())
    while words < target:
        sentences = [fill(rng.choice(TEMPLATES)) for _ in range(rng.randint(2, 4))]
        para = " ".join(sentences)
        paragraphs.append(para)
        words += len(para.split())
    if poison_marker:
        paragraphs.insert(1, f"Editor's note {poison_marker}: this paragraph is a test fixture.")
    title = (f"{places[0]}: {orgs[0].removeprefix('the ').strip()} {rng.choice(VERBS)} "
             f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} amid {rng.choice(topics)}")
    slug = "-".join(w.lower() for w in title.replace(":", "").split()[:6] if w.isalnum())
    return GeneratedArticle(path=f"/news/{feed}/{index:05d}-{slug or 'story'}.html", feed=feed, title=title,
                            paragraphs=paragraphs, published=1_780_000_000 + index * 60,
                            persons=[f"{f} {s}" for f, s, _ in people])


def article_html(article: GeneratedArticle, base_url: str) -> str:
    """The article page: an HTML5 document with ``<title>``, canonical link, a published-time
    meta tag, site navigation and footer (so extraction has boilerplate to remove) and one
    ``<p>`` per paragraph inside ``<article>``."""
    esc = html.escape
    url = base_url + article.path
    published = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(article.published))
    body = "\n".join(f"<p>{esc(p)}</p>" for p in article.paragraphs)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(article.title)}</title>\n<link rel=\"canonical\" href=\"{esc(url)}\">\n"
        f"<meta property=\"article:published_time\" content=\"{published}\">\n</head>\n<body>\n"
        "<nav><a href=\"/\">Home</a> | <a href=\"/news/\">News</a> | <a href=\"/about\">About us</a></nav>\n"
        f"<article>\n<h1>{esc(article.title)}</h1>\n<p class=\"byline\">By Staff Writer</p>\n{body}\n</article>\n"
        "<footer>Generated Wire &copy; 2026. All rights reserved. Invented text for load tests.</footer>\n"
        "</body>\n</html>\n"
    )


class GeneratedSite(BackgroundSite):
    """Serve ``articles`` generated articles over ``feeds`` RSS 2.0 feeds on 127.0.0.1.

    Feeds are ``/feeds/feed-<k>.xml`` (article i belongs to feed ``i % feeds``); pages are
    built once at start (a 2,000-article site takes about a second). ``poison`` is a set of
    article indices whose body carries ``poison_marker``. ``port`` 0 picks a free port.

    ``rate_per_s`` (articles per second) publishes the articles over time instead of all at
    once: after :meth:`release` at time t0, article i appears in its feed at t0 + i / rate,
    with that moment as its ``pubDate``; before :meth:`release` the feeds are empty.
    Raises ``ValueError`` for ``articles < 1``, ``feeds < 1`` or a rate that is not positive,
    and ``OSError`` when the port cannot be bound.
    """

    def __init__(self, articles: int, *, feeds: int = 8, seed: int = 7, host: str = "127.0.0.1", port: int = 0,
                 poison: set[int] | frozenset[int] = frozenset(), poison_marker: str | None = None,
                 rate_per_s: float | None = None):
        if articles < 1 or feeds < 1:
            raise ValueError("articles and feeds must be at least 1")
        if rate_per_s is not None and not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        self.rate_per_s = rate_per_s
        self.released_at: float | None = None
        self.n = articles
        self.feeds = min(feeds, articles)
        self.seed = seed
        self.host = host
        self.port = port
        self.poison = set(poison)
        self.poison_marker = poison_marker
        self.articles = [generate_article(i, feed=i % self.feeds, seed=seed,
                                          poison_marker=poison_marker if i in self.poison else None)
                         for i in range(articles)]
        self.base_url: str | None = None
        self.served_at: dict[str, float] = {}
        self.hits: dict[str, int] = {}
        self._pages: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        """Bind, render every page and feed, serve in a daemon thread; return the base URL."""
        if self._httpd is not None:
            return self.base_url  # type: ignore[return-value]
        site = self

        class Handler(_Handler):
            owner = site

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        for a in self.articles:
            self._pages[a.path] = article_html(a, self.base_url).encode("utf-8")
        for k in range(self.feeds):
            self._pages[f"/feeds/feed-{k}.xml"] = self.feed_xml(k)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loadgen-site", daemon=True)
        self._thread.start()
        log.info("loadgen_site_started", base_url=self.base_url, articles=self.n, feeds=self.feeds)
        return self.base_url

    def release(self, at: float | None = None) -> None:
        """Start publishing at ``at`` (epoch seconds, default now) when the site has a rate."""
        self.released_at = time.time() if at is None else at

    def published_count(self, now: float | None = None) -> int:
        """How many articles the feeds show now: all without a rate, else those whose time came."""
        if self.rate_per_s is None:
            return self.n
        if self.released_at is None:
            return 0
        elapsed = (time.time() if now is None else now) - self.released_at
        return max(0, min(self.n, int(elapsed * self.rate_per_s) + 1))

    def published_at(self, i: int) -> float:
        """When article ``i`` appears in its feed (epoch seconds); its fixed date without a rate."""
        if self.rate_per_s is None or self.released_at is None:
            return self.articles[i].published
        return self.released_at + i / self.rate_per_s

    def published_at_by_id(self) -> dict[str, float]:
        """``{document id: epoch seconds it appeared in its feed}`` for the articles published so far."""
        ids = list(self.expected_ids())
        return {ids[i]: self.published_at(i) for i in range(self.published_count())}

    # --- content --------------------------------------------------------------------------
    def feed_xml(self, k: int) -> bytes:
        """RSS 2.0 feed ``k``: its published articles newest first, with title, link, guid,
        pubDate and a one-sentence description."""
        base = self._require_started()
        items = []
        shown = self.published_count()
        for i in sorted((i for i in range(shown) if self.articles[i].feed == k), reverse=True):
            a = self.articles[i]
            url = html.escape(base + a.path)
            items.append(f"<item><title>{html.escape(a.title)}</title><link>{url}</link>"
                         f"<guid isPermaLink=\"true\">{url}</guid><pubDate>{formatdate(self.published_at(i), usegmt=True)}</pubDate>"
                         f"<description>{html.escape(a.paragraphs[0])}</description></item>")
        return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                f"<title>Generated Wire desk {k}</title><link>{html.escape(base)}/</link>"
                "<description>Invented articles for load tests</description>"
                + "".join(items) + "</channel></rss>\n").encode("utf-8")

    @property
    def feed_urls(self) -> list[str]:
        """Absolute URLs of the feeds."""
        base = self._require_started()
        return [f"{base}/feeds/feed-{k}.xml" for k in range(self.feeds)]

    @property
    def expected_urls(self) -> list[str]:
        """Absolute URLs of every article, in index order."""
        base = self._require_started()
        return [base + a.path for a in self.articles]

    def expected_ids(self) -> dict[str, str]:
        """``{document id: url}`` the pipeline must index: ids from the canonical URL
        (:func:`pipeline.models.article_id_for` over :func:`pipeline.fetch.extract.canonicalize_url`)."""
        from pipeline.fetch.extract import canonicalize_url
        from pipeline.models import article_id_for

        return {article_id_for(canonicalize_url(u)): u for u in self.expected_urls}

    def poison_ids(self) -> set[str]:
        """Document ids of the poison articles."""
        from pipeline.fetch.extract import canonicalize_url
        from pipeline.models import article_id_for

        base = self._require_started()
        return {article_id_for(canonicalize_url(base + self.articles[i].path)) for i in self.poison}

    def served_at_by_id(self) -> dict[str, float]:
        """``{document id: epoch seconds the page was first served}`` (fetched pages only)."""
        from pipeline.fetch.extract import canonicalize_url
        from pipeline.models import article_id_for

        base = self._require_started()
        with self._lock:
            return {article_id_for(canonicalize_url(base + path)): t for path, t in self.served_at.items()}

    def page(self, path: str) -> bytes | None:
        """The bytes served at ``path`` or None (404); feeds of a site with a rate are rendered
        at each request (what is published changes)."""
        path = urlsplit(path).path
        if self.rate_per_s is not None and path.startswith("/feeds/feed-") and path in self._pages:
            return self.feed_xml(int(path[len("/feeds/feed-"):-len(".xml")]))
        return self._pages.get(path)

    def _record(self, path: str) -> None:
        if path.startswith("/news/"):
            with self._lock:
                self.served_at.setdefault(path, time.time())
                self.hits[path] = self.hits.get(path, 0) + 1


class _Handler(BaseHTTPRequestHandler):
    owner: GeneratedSite
    server_version = "WirewatchLoadgen/1.0"
    protocol_version = "HTTP/1.1"
    #: Keep-alive responses written in two sends otherwise wait for the client's delayed ACK
    #: (Nagle): ~43 ms per page instead of ~1 ms on this machine.
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path = urlsplit(self.path).path
        body = self.owner.page(path)
        if body is None:
            body = b"not found\n"
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        else:
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.owner._record(path)
            self.send_response(HTTPStatus.OK)
            ctype = "application/rss+xml; charset=utf-8" if path.endswith(".xml") else "text/html; charset=utf-8"
            self.send_header("Content-Type", ctype)
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
