"""The fetch stage: one feed entry (:class:`ArticleRef`) in, one :class:`Article` out.

Steps: guarded GET of the entry's link (``kind="article"``: HTML only, every guard of
:mod:`pipeline.fetch.http`), decode the text (:func:`pipeline.fetch.http.decode_html`), extract it
(:func:`pipeline.fetch.extract.extract_article`), build the article with its id from the canonical
URL (:func:`pipeline.models.article_id_for`).

Fallback: when the page cannot be fetched, decoded or extracted, the entry's summary stands in
for the body; the article is marked ``extraction="summary"`` with ``extraction_error`` set to
the failure's reason (``timeout``, ``not_html``, ``no_main_text`` ...), and its canonical URL is
the entry's link canonicalized. When the link is on another registrable domain than the feed
(:func:`pipeline.fetch.extract.same_site`), the summary is the feed's word, not the linked site's:
the canonical URL (so the id and ``source.domain``) is then the feed's URL with the entry's
guid as fragment, and the link is kept in ``url`` and ``declared_canonical_url``, so a feed
cannot overwrite or impersonate another site's article by linking to a page that fails. With
no summary either, the error is raised, so the worker retries it or dead-letters it with its
reason: nothing is dropped silently.

Every text field is cleaned and capped before the article leaves this stage
(:func:`pipeline.sanitize.clean_article`: control and bidi characters stripped, title/body/authors
capped); a cut is logged (``field_truncated``, reason ``field_too_long``) and listed in
``Article.truncated`` (field -> original length) for the worker to count.

Entries that share their link (``ref.shared_link``: several entries of one feed document,
differing in guid, title or text, link to one listing or live page) are not fetched: the page
is not about any one of them, and its title and text would stand in for all of them. Each
becomes its own article from the entry (:func:`entry_article`), ``extraction="entry"``.

``content_hash`` is filled with :func:`pipeline.dedupe.text.content_hash` of the body.
Language: see :func:`pipeline.fetch.extract.choose_language` (py3langid over the text, then the
page's declared language); a summary's language comes from py3langid alone.
"""
from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote

from pipeline.dedupe.text import content_hash
from pipeline.errors import ExtractionError, FetchError
from pipeline.fetch.extract import canonicalize_url, choose_language, extract_article, same_site
from pipeline.fetch.http import decode_html
from pipeline.logs import get_logger
from pipeline.models import Article, ArticleRef, article_id_for, item_article_id, source_domain, utcnow_iso
from pipeline.sanitize import clean_article
from pipeline.settings import Settings

log = get_logger(__name__)

_TAGS = re.compile(r"<[^>]+>")


def summary_text(summary: str) -> str:
    """A feed summary as plain text: tags removed, entities decoded, white space collapsed."""
    text = html_lib.unescape(_TAGS.sub(" ", summary or ""))
    return re.sub(r"\s+", " ", text).strip()


def _article_from_entry(ref: ArticleRef, article_id: str, canonical: str, title: str, body: str,
                        extraction: str, **fields) -> Article:
    """An :class:`Article` whose text comes from the feed entry itself (``extraction`` "entry" or
    "summary"): link, dates and feed come from ``ref``, the language from py3langid over ``body``
    alone; ``fields`` are the remaining :class:`Article` fields (``content_hash`` among them)."""
    return Article(
        id=article_id,
        url=ref.link,
        canonical_url=canonical,
        title=title,
        body=body,
        language=choose_language(body, None),
        published_at=ref.published,
        fetched_at=utcnow_iso(),
        source_domain=source_domain(canonical),
        feed_url=ref.feed_url or None,
        feed_id=ref.feed_id or None,
        extraction=extraction,
        published_unknown_zone=None if ref.published else ref.published_unknown_zone,
        **fields,
    )


def entry_article(ref: ArticleRef) -> Article:
    """The article of a feed entry whose link other entries share, made from the entry alone.

    Title: the entry's; body: its summary/content as plain text, else its title. ``id`` is
    :func:`pipeline.models.item_article_id` of the canonical link and the entry's guid (so the
    entries sharing a page stay apart), ``item_guid`` the guid, ``canonical_url`` the shared
    page's. Raises :class:`ExtractionError` ``no_item_text`` when the entry has neither title
    nor text.
    """
    title = summary_text(ref.title)
    body = summary_text(ref.summary) or title
    if not body:
        raise ExtractionError(f"entry {ref.guid} shares its link {ref.link} and has no title or text of its own",
                              reason="no_item_text")
    canonical = canonicalize_url(ref.link)
    article = _article_from_entry(
        ref, item_article_id(canonical, ref.guid), canonical, title, body, "entry",
        content_hash=content_hash(f"{title}\n{body}"),  # as pipeline.dedupe.deduper.dedupe_text
        item_guid=ref.guid,
    )
    log.info("entry_article", article_id=article.id, url=ref.link, guid=ref.guid, feed_id=ref.feed_id or None,
             reason="shared_link")
    return article


def fetch_article(ref: ArticleRef, client, settings: Settings | None = None, *,
                  fallback_on_transient: bool = True) -> Article:
    """Fetch and extract ``ref.link`` with ``client`` (a :class:`pipeline.fetch.http.GuardedClient`).

    Returns an :class:`Article` with ``extraction="page"``, or ``"summary"`` when the page
    failed and the entry has a summary (``extraction_error`` then holds the reason). With
    ``fallback_on_transient=False`` transient failures (timeouts, rate limits, busy hosts) are
    raised instead, so a worker can retry them and fall back only on its last attempt.

    Raises :class:`FetchError` or :class:`ExtractionError` when the page fails and there is no
    summary to fall back on. An entry with ``shared_link`` is not fetched: see
    :func:`entry_article`.
    """
    log_ = log.bind(url=ref.link, feed_id=ref.feed_id or None)
    article = entry_article(ref) if ref.shared_link else _fetch(ref, client, log_, fallback_on_transient)
    body = article.body
    cut = clean_article(article)
    if article.body != body:  # control characters stripped or the body cut: hash what is kept
        article.content_hash = content_hash(article.body)
    if cut:
        article.truncated = cut
        for name, length in cut.items():
            log_.warning("field_truncated", article_id=article.id, field=name, original_length=length,
                         reason="field_too_long")
    return article


def _fetch(ref: ArticleRef, client, log_, fallback_on_transient: bool) -> Article:
    try:
        resp = client.get(ref.link, kind="article")
        page = decode_html(resp)
        ex = extract_article(page, resp.url)
    except (FetchError, ExtractionError) as exc:
        summary = summary_text(ref.summary)
        if not summary or (exc.transient and not fallback_on_transient):
            log_.warning("fetch_failed", reason=exc.reason, error=str(exc), fallback=None)
            raise
        log_.warning("fetch_failed", reason=exc.reason, error=str(exc), fallback="summary")
        canonical = canonicalize_url(ref.link)
        declared = None
        if ref.feed_url and not same_site(ref.link, ref.feed_url):
            # The text is the feed's, not the linked site's: it must neither take that site's
            # document id (overwriting its article) nor its source.domain (see module docstring).
            declared = canonical
            canonical = f"{canonicalize_url(ref.feed_url)}#{quote(ref.guid or ref.link, safe='')}"
        return _article_from_entry(
            ref, article_id_for(canonical), canonical, summary_text(ref.title), summary, "summary",
            content_hash=content_hash(summary), declared_canonical_url=declared, extraction_error=exc.reason,
        )
    article = Article(
        id=article_id_for(ex.canonical_url),
        url=resp.url,
        canonical_url=ex.canonical_url,
        title=ex.title or summary_text(ref.title),
        body=ex.body,
        language=ex.language,
        published_at=ex.published_at or ref.published,
        fetched_at=utcnow_iso(),
        source_domain=source_domain(ex.canonical_url),
        feed_url=ref.feed_url or None,
        feed_id=ref.feed_id or None,
        authors=ex.authors,
        extraction="page",
        extraction_error=None,
        content_hash=content_hash(ex.body),
        published_unknown_zone=None if (ex.published_at or ref.published) else ref.published_unknown_zone,
        declared_canonical_url=ex.declared_canonical_url,
    )
    log_.info("fetched", article_id=article.id, status=resp.status, bytes=len(resp.content),
              elapsed_s=round(resp.elapsed_s, 3), redirects=len(resp.redirects))
    return article


__all__ = ["entry_article", "fetch_article", "summary_text"]
