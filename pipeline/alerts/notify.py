"""Notifications for saved-search alerts: webhook, Slack-compatible webhook, e-mail, log.

A saved search carries a ``notify`` list of channel configs (plain dicts, e.g. from
``config/searches.yaml``); each is validated by :func:`parse_channel` into one of:

``{"type": "webhook", "url": "https://...", "secret": "...", "headers": {...}}``
    JSON POST of :func:`webhook_payload`; header ``X-Wirewatch-Signature: sha256=<hex>``,
    the HMAC-SHA256 of the raw body keyed with the channel's ``secret`` or, without one,
    ``settings.webhook_secret`` (no header when neither is set). ``X-Wirewatch-Delivery``
    carries a stable id (search id + article id) so receivers can drop repeats: delivery is
    at-least-once.
``{"type": "slack", "url": "https://hooks.slack.com/services/..."}``
    Slack incoming-webhook payload ``{"text": ..., "blocks": [...]}`` (Mattermost, Rocket.Chat
    and Discord's ``/slack`` endpoints accept the same shape).
``{"type": "email", "to": ["a@example.org"], "from": ..., "host": ..., "port": ...,
"starttls": true, "ssl": false, "username": ..., "password": ...}``
    a plain-text e-mail over SMTP; unset keys fall back to ``settings.smtp_*``.
``{"type": "log", "level": "info"}``
    one structured log line per alert.

Every channel may have a ``name`` (label in results and logs). Delivery is retried on
transient failures (connection refused, timeouts, HTTP 5xx/408/429, SMTP 4xx) up to
``settings.notify_max_attempts`` attempts with exponential backoff and full jitter
(delay = uniform(0, min(notify_backoff_max_s, notify_backoff_base_s * 2**(n-1))), the
"full jitter" scheme of the AWS Architecture Blog post "Exponential Backoff And Jitter",
2015); a ``Retry-After`` header raises the delay (capped the same way). A permanent failure
(HTTP 4xx, a refused login, an invalid channel) is not retried. Whatever fails for good is
stored as a dead letter of kind ``"notification"`` with its reason, so it can be replayed
with ``wirewatch dlq replay`` (see :func:`replay_notification`).

Every notification target goes through the same SSRF guard as fetching (:mod:`pipeline.fetch.ssrf`):
webhook and Slack URLs, and an e-mail channel's own SMTP ``host``, must resolve to public
addresses (loopback, private, link-local, metadata... are refused) unless
``settings.notify_allow_hosts`` lists them. The check runs when a saved search is added or
loaded (:func:`check_targets`: a clear ``ConfigError``, reason ``blocked_target``) and again
at send time on the address actually connected to (the HTTP client's connections go through
:class:`pipeline.fetch.ssrf.GuardedBackend`; SMTP connects to the checked address), so a name
that is re-pointed later (DNS rebinding) is refused too (reason ``blocked``, not retried).
Redirects are never followed. ``settings.smtp_host`` is the operator's own server and is not
checked.

Secrets (a webhook's ``secret``, an e-mail ``password``, credential headers such as
``Authorization``, and a Slack-compatible ``url``, whose path *is* the secret) may be given as
a reference ``env:NAME``, an environment variable of the worker processes, resolved at send
time (:func:`resolve_secret`). Saved searches live in the search engine's index, so
:func:`check_targets` (``searches add``/``load``) refuses a plain secret there (reason
``plain_secret``): the index only ever holds references. Plain values are accepted by
:func:`notify` itself (callers that keep their own configs). Secrets are never logged nor
stored in dead letters (plain ones are dropped and listed in ``redacted``), and shown masked
(:func:`mask_config`); logs and results name only the scheme and host
(:func:`pipeline.logs.redact_url`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Annotated, Any, Callable, Literal, Union
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator

from pipeline.errors import ConfigError, FetchError, NotifyError
from pipeline.fetch.ssrf import Allowlist, check_host, check_url
from pipeline.logs import get_logger, redact_url
from pipeline.retry import backoff_s, parse_retry_after
from pipeline.sanitize import strip_controls

log = get_logger(__name__)

#: Dead-letter kind used for notifications that failed for good.
DEADLETTER_KIND = "notification"

#: Header carrying the body's HMAC-SHA256 signature, ``sha256=<hex>``.
SIGNATURE_HEADER = "X-Wirewatch-Signature"

#: Header carrying a delivery id stable across retries and replays (receivers dedupe on it).
DELIVERY_HEADER = "X-Wirewatch-Delivery"

#: Version of the webhook JSON document; bumped on incompatible changes.
PAYLOAD_VERSION = 1

#: How many persons/organizations/places/topics a summary keeps.
SUMMARY_LIST_MAX = 10

#: Characters of the body kept as the summary's ``excerpt``.
EXCERPT_CHARS = 400

#: HTTP statuses worth retrying besides 5xx: 408 Request Timeout, 425 Too Early, 429 Too Many Requests.
RETRY_STATUSES = {408, 425, 429}


# --- channel configs ------------------------------------------------------------------------
#: A secret given by reference: ``env:NAME`` names an environment variable of the workers.
SECRET_REF_RE = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
#: Request headers whose values are credentials (compared lower-cased).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"})
#: How a plain secret is shown.
MASK = "********"


def is_secret_ref(value: Any) -> bool:
    """True when ``value`` (str or SecretStr) is a reference ``env:NAME`` rather than a secret."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return isinstance(value, str) and SECRET_REF_RE.match(value) is not None


def resolve_secret(value: Any, what: str = "secret") -> str:
    """The secret itself: a reference ``env:NAME`` is read from the environment, anything else
    is returned as given. Raises :class:`NotifyError` ``secret_unavailable`` (permanent) when
    the variable is not set."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    m = SECRET_REF_RE.match(value or "")
    if not m:
        return value
    found = os.environ.get(m.group(1))
    if found is None:
        raise NotifyError(f"{what} refers to the environment variable {m.group(1)}, which the worker does not have",
                          reason="secret_unavailable", transient=False)
    return found


def _check_http_url(value: str) -> str:
    if SECRET_REF_RE.match(value):
        return value  # resolved, and checked by the SSRF guard, at send time
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(None, description="Label shown in results and logs.")

    def label(self) -> str:
        """``name`` or the channel type."""
        return self.name or self.type  # type: ignore[attr-defined]

    def target(self) -> str:
        """Where it goes, with secrets removed (for logs and tables)."""
        return self.type  # type: ignore[attr-defined]


class _UrlChannel(_Channel):
    """A channel that POSTs to an http(s) URL; logs show only the URL's scheme and host."""

    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        return _check_http_url(v)

    def target(self) -> str:
        return self.url if is_secret_ref(self.url) else redact_url(self.url, keep_path=False)

    def resolved_url(self) -> str:
        """The URL to post to (a reference ``env:NAME`` read now); raises NotifyError ``secret_unavailable``."""
        url = resolve_secret(self.url, f"{self.type} url")
        if url is not self.url:
            try:
                _check_http_url(url)
            except ValueError as exc:
                raise NotifyError(f"{self.url}: {exc}", reason="invalid_channel", transient=False) from None
        return url


class WebhookChannel(_UrlChannel):
    """A JSON POST to ``url``, signed with HMAC-SHA256 (``secret`` or ``settings.webhook_secret``)."""

    type: Literal["webhook"]
    secret: SecretStr | None = Field(None, description="HMAC key of this channel; default settings.webhook_secret.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    timeout_s: float | None = Field(None, gt=0, description="Request timeout; default settings.notify_timeout_s.")


class SlackChannel(_UrlChannel):
    """A Slack-compatible incoming webhook (the URL itself is the secret)."""

    type: Literal["slack"]
    timeout_s: float | None = Field(None, gt=0)


class EmailChannel(_Channel):
    """A plain-text e-mail over SMTP; unset fields fall back to ``settings.smtp_*``."""

    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    from_addr: str | None = Field(None, alias="from")
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    starttls: bool | None = None
    ssl: bool | None = None
    username: str | None = None
    password: SecretStr | None = None
    subject_prefix: str = "[Wirewatch]"
    timeout_s: float | None = Field(None, gt=0)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for addr in v:
            if "@" not in addr or any(c in addr for c in "\r\n ,;"):
                raise ValueError(f"{addr!r} is not a single e-mail address")
        return v

    def target(self) -> str:
        return "mailto:" + ",".join(self.to)


class LogChannel(_Channel):
    """One structured log line per alert."""

    type: Literal["log"]
    level: Literal["debug", "info", "warning"] = "info"


Channel = Annotated[Union[WebhookChannel, SlackChannel, EmailChannel, LogChannel], Field(discriminator="type")]
_CHANNEL_ADAPTER: TypeAdapter = TypeAdapter(Channel)

#: Fields that hold secrets, per channel type: dropped from dead letters, never logged.
SECRET_FIELDS = {"webhook": ("secret",), "slack": ("url",), "email": ("password",), "log": ()}

CHANNEL_TYPES = ("webhook", "slack", "email", "log")


def parse_channel(config: dict | _Channel, where: str = "notify") -> Channel:
    """Validate one channel config and return its model.

    Raises :class:`ConfigError` (reason ``invalid_channel``) naming every bad key, e.g.
    ``notify[0] (webhook).url: must be an http:// or https:// URL with a host``.
    """
    if isinstance(config, _Channel):
        return config  # type: ignore[return-value]
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: a channel must be a mapping with a 'type' ({', '.join(CHANNEL_TYPES)}), got {type(config).__name__}", reason="invalid_channel")
    kind = config.get("type")
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{where}: unknown channel type {kind!r}; expected one of {', '.join(CHANNEL_TYPES)}", reason="invalid_channel")
    try:
        return _CHANNEL_ADAPTER.validate_python(config)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if p != kind)
            problems.append(f"{loc or '(channel)'}: {err['msg']}")
        raise ConfigError(f"{where} ({kind}): " + "; ".join(problems), reason="invalid_channel") from None


def validate_channels(configs: list[dict] | None) -> list[Channel]:
    """Validate a saved search's ``notify`` list (None means no channels); see :func:`parse_channel`."""
    if configs is None:
        return []
    if not isinstance(configs, list):
        raise ConfigError("notify must be a list of channel configs", reason="invalid_channel")
    return [parse_channel(c, where=f"notify[{i}]") for i, c in enumerate(configs)]


def _allowlist(settings) -> Allowlist:
    return Allowlist.parse(getattr(settings, "notify_allow_hosts", None) or [])


def _target_addresses(channel: _Channel, settings, *, timeout_s: float | None) -> list | None:
    """Check where ``channel`` connects (see the module docstring); return the checked addresses
    (None for channels that connect nowhere, or to ``settings.smtp_host``). Raises FetchError,
    or NotifyError ``secret_unavailable`` for a URL reference that cannot be read."""
    allow = _allowlist(settings)
    if isinstance(channel, _UrlChannel):
        return check_url(channel.resolved_url(), allow, timeout_s=timeout_s)
    if isinstance(channel, EmailChannel) and channel.host:
        port = channel.port or settings.smtp_port
        return check_host(channel.host, port, allow, url=f"smtp://{channel.host}:{port}", timeout_s=timeout_s)
    return None


def check_targets(configs: list[dict] | None, settings) -> list[Channel]:
    """Validate a ``notify`` list and refuse targets the SSRF guard blocks (``searches add``/``load``).

    Raises :class:`ConfigError` reason ``blocked_target`` naming the channel and the reason
    (e.g. ``notify[0] (webhook): blocked: 127.0.0.1 is a loopback address; ... notify_allow_hosts``),
    ``plain_secret`` when a secret is given as its value rather than a reference ``env:NAME``
    (:func:`plain_secret_keys`), ``invalid_channel`` for a bad config. A host that does not resolve now
    is accepted (DNS may be down) and checked again at send time.
    """
    channels = validate_channels(configs)
    for i, channel in enumerate(channels):
        try:
            _target_addresses(channel, settings, timeout_s=getattr(settings, "notify_timeout_s", None))
        except NotifyError as exc:  # a URL reference the CLI's environment does not have: checked at send time
            log.info("notify_target_unresolved", channel=channel.type, target=channel.target(), reason=exc.reason)
        except FetchError as exc:
            if exc.reason == "blocked" or exc.reason == "bad_url":
                raise ConfigError(f"notify[{i}] ({channel.type}): {redact_url(str(exc))}; an operator who really posts to this host "
                                  "lists it in notify_allow_hosts", reason="blocked_target") from None
            log.info("notify_target_unresolved", channel=channel.type, target=channel.target(), reason=exc.reason)
        plain = plain_secret_keys(channel)
        if plain:
            raise ConfigError(f"notify[{i}] ({channel.type}): {', '.join(plain)} holds a secret, and saved searches are stored "
                              "in the search engine's index; put it in an environment variable of the workers and write "
                              "'env:NAME' instead", reason="plain_secret")
    return channels


def plain_secret_keys(channel: _Channel) -> list[str]:
    """Keys of ``channel`` that hold a secret as its value (not an ``env:NAME`` reference):
    ``secret``, ``password``, ``url`` (Slack-compatible), ``headers`` (a credential header)."""
    keys = []
    for key in SECRET_FIELDS[channel.type]:  # type: ignore[attr-defined]
        value = getattr(channel, key, None)
        if value is not None and not is_secret_ref(value):
            keys.append(key)
    headers = getattr(channel, "headers", None) or {}
    if any(k.lower() in SENSITIVE_HEADERS and not is_secret_ref(v) for k, v in headers.items()):
        keys.append("headers")
    return keys


def channel_to_config(channel: _Channel, *, keep_secrets: bool = False) -> dict:
    """The channel as a JSON-able config dict; plain secrets (:func:`plain_secret_keys`) are
    dropped unless ``keep_secrets``; references ``env:NAME`` are kept (they are not secrets)."""
    data = channel.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in SECRET_FIELDS[channel.type]:  # type: ignore[attr-defined]
        value = getattr(channel, key)
        if value is not None and (keep_secrets or is_secret_ref(value)):
            data[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
        else:
            data.pop(key, None)
    if not keep_secrets and "headers" in plain_secret_keys(channel):
        data.pop("headers", None)
    return data


def mask_config(config: Any) -> Any:
    """A channel config (dict) for display: plain secrets shown as :data:`MASK` (a Slack URL as
    its scheme and host), references ``env:NAME`` and everything else as given."""
    if not isinstance(config, dict):
        return config
    out = dict(config)
    for key in ("secret", "password"):
        if out.get(key) is not None and not is_secret_ref(out[key]):
            out[key] = MASK
    if out.get("type") == "slack" and isinstance(out.get("url"), str) and not is_secret_ref(out["url"]):
        out["url"] = redact_url(out["url"], keep_path=False)
    if isinstance(out.get("headers"), dict):
        out["headers"] = {k: (MASK if k.lower() in SENSITIVE_HEADERS and not is_secret_ref(v) else v)
                          for k, v in out["headers"].items()}
    return out


# --- payloads -------------------------------------------------------------------------------
def _names(items: Any, limit: int = SUMMARY_LIST_MAX) -> list[str]:
    out: list[str] = []
    for item in items or []:
        name = item.get("name") if isinstance(item, dict) else item
        if name and name not in out:
            out.append(str(name))
        if len(out) >= limit:
            break
    return out


def article_summary(article: dict) -> dict:
    """The part of an enriched article (docs/contract.md) that notifications carry.

    Keys: id, title, url, canonical_url, published_at, language, source_domain, excerpt
    (first :data:`EXCERPT_CHARS` characters of the body), persons, organizations, places,
    countries, topics (each at most :data:`SUMMARY_LIST_MAX` names), quotes (count), and
    cluster_id / duplicate_of from ``dedupe``. Missing keys give None or empty lists.
    """
    body = article.get("body") or ""
    excerpt = body[:EXCERPT_CHARS].rstrip() + ("…" if len(body) > EXCERPT_CHARS else "")
    source = article.get("source") or {}
    dedupe = article.get("dedupe") or {}
    return {
        "id": article.get("id"),
        "title": article.get("title"),
        "url": article.get("url"),
        "canonical_url": article.get("canonical_url"),
        "published_at": article.get("published_at"),
        "language": article.get("language"),
        "source_domain": source.get("domain") if isinstance(source, dict) else None,
        "excerpt": excerpt,
        "persons": _names(article.get("persons")),
        "organizations": _names(article.get("organizations")),
        "places": _names(article.get("locations")),
        "countries": list(article.get("countries") or [])[:SUMMARY_LIST_MAX],
        "topics": list(article.get("topics") or [])[:SUMMARY_LIST_MAX],
        "quotes": len(article.get("quotes") or []),
        "cluster_id": dedupe.get("cluster_id"),
        "duplicate_of": dedupe.get("duplicate_of"),
    }


def _is_summary(article: dict) -> bool:
    return "excerpt" in article and "places" in article


def delivery_id(event: dict) -> str:
    """Stable id of one alert's delivery: hex SHA-256 of ``search_id`` and ``article_id`` (first 32)."""
    key = f"{event.get('search_id')}\x00{event.get('article_id')}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def webhook_payload(event: dict, article: dict) -> dict:
    """The webhook document: ``{"type": "wirewatch.alert", "version": 1, "delivery_id",
    "event": <alert event as given>, "article": <article_summary>}``."""
    return {
        "type": "wirewatch.alert",
        "version": PAYLOAD_VERSION,
        "delivery_id": delivery_id(event),
        "event": event,
        "article": article if _is_summary(article) else article_summary(article),
    }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn needs exactly these three escaped (Slack API docs, "Formatting text").
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _search_label(event: dict) -> str:
    return str(event.get("search_name") or event.get("search_id") or "saved search")


def slack_payload(event: dict, article: dict) -> dict:
    """A Slack incoming-webhook body: ``{"text": fallback, "blocks": [section, context]}``."""
    summary = article if _is_summary(article) else article_summary(article)
    title = _slack_escape(summary.get("title") or "(untitled)")
    url = summary.get("url") or summary.get("canonical_url")
    search = _slack_escape(_search_label(event))
    headline = f"<{url}|{title}>" if url else title
    details = []
    for label, key in (("People", "persons"), ("Organizations", "organizations"), ("Places", "places"), ("Topics", "topics")):
        if summary.get(key):
            details.append(f"*{label}:* {_slack_escape(', '.join(summary[key][:5]))}")
    context = " · ".join(str(x) for x in (summary.get("source_domain"), summary.get("published_at"), f"{summary.get('quotes', 0)} quotes") if x)
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{search}* matched {headline}"}},
    ]
    if details:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(details)}})
    if summary.get("excerpt"):
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": summary["excerpt"][:2900]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(context) or "wirewatch"}]})
    return {"text": f"Wirewatch: {_search_label(event)} matched \"{summary.get('title') or '(untitled)'}\" {url or ''}".strip(), "blocks": blocks}


def email_message(event: dict, article: dict, channel: EmailChannel, sender: str) -> EmailMessage:
    """A plain-text :class:`EmailMessage` for one alert (subject: prefix, search, title).

    The subject is one line without control or bidi characters
    (:func:`pipeline.sanitize.strip_controls`), at most 250 characters."""
    summary = article if _is_summary(article) else article_summary(article)
    msg = EmailMessage()
    # Header values from feeds: control and bidi characters stripped, one line (no header injection).
    title = strip_controls(summary.get("title") or "(untitled)", single_line=True) or "(untitled)"
    label = strip_controls(_search_label(event), single_line=True)
    prefix = strip_controls(channel.subject_prefix, single_line=True)
    msg["Subject"] = f"{prefix} {label}: {title}"[:250]
    msg["From"] = sender
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=delivery_id(event)[:16], domain=sender.rsplit("@", 1)[-1] or "localhost")
    msg[DELIVERY_HEADER] = delivery_id(event)
    lines = [
        f"Saved search: {_search_label(event)}",
        f"Matched at:   {event.get('matched_at', '')}",
        "",
        title,
        summary.get("url") or summary.get("canonical_url") or "",
        f"{summary.get('source_domain') or ''}  {summary.get('published_at') or ''}".strip(),
        "",
    ]
    for label, key in (("People", "persons"), ("Organizations", "organizations"), ("Places", "places"), ("Topics", "topics")):
        if summary.get(key):
            lines.append(f"{label}: {', '.join(summary[key])}")
    if summary.get("excerpt"):
        lines += ["", summary["excerpt"]]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body keyed with secret>`` (the signature header's value)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header_value: str | None) -> bool:
    """True when ``header_value`` is the signature of ``body`` under ``secret`` (constant-time)."""
    return bool(header_value) and hmac.compare_digest(sign(body, secret), header_value)  # type: ignore[arg-type]


# --- results --------------------------------------------------------------------------------
@dataclass
class DeliveryResult:
    """Outcome of one alert on one channel.

    ``channel`` is the type, ``name`` its label, ``target`` where it went (secrets removed),
    ``attempts`` how many tries were made, ``status`` the last HTTP status or SMTP code,
    ``reason`` a :class:`NotifyError` reason code when it failed, ``error`` the message,
    ``deadletter_id`` the dead letter written for a final failure, ``elapsed_s`` wall time
    in seconds including backoff sleeps.
    """

    channel: str
    name: str
    target: str
    ok: bool
    attempts: int = 0
    status: int | None = None
    reason: str | None = None
    error: str | None = None
    deadletter_id: str | None = None
    elapsed_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able dict of every field."""
        return asdict(self)


# --- sending --------------------------------------------------------------------------------
_SHARED_CLIENTS: dict[tuple, httpx.Client] = {}
_SHARED_LOCK = threading.Lock()


def shared_http_client(settings=None) -> httpx.Client:
    """One pooled ``httpx.Client`` per process and allowlist (keyed by PID, so a forked Celery
    child never reuses its parent's connections). Building a client costs about 50 ms (its TLS
    context), reusing one about 3 ms per local delivery (measured here), so :func:`notify` uses
    this when no client is passed. Redirects are not followed (a POST redirect is reported);
    connections go through the SSRF guard's :class:`~pipeline.fetch.http.GuardedTransport` with
    ``settings.notify_allow_hosts`` (None: nothing allowlisted); no proxies from the environment."""
    from pipeline.fetch.http import GuardedTransport

    allow = tuple(getattr(settings, "notify_allow_hosts", None) or [])
    key = (os.getpid(), allow)
    client = _SHARED_CLIENTS.get(key)
    if client is None or client.is_closed:
        with _SHARED_LOCK:
            client = _SHARED_CLIENTS.get(key)
            if client is None or client.is_closed:
                client = httpx.Client(follow_redirects=False, trust_env=False,
                                      transport=GuardedTransport(Allowlist.parse(allow)))
                for old_key in [k for k in _SHARED_CLIENTS if k[0] != key[0]]:
                    _SHARED_CLIENTS.pop(old_key)
                _SHARED_CLIENTS[key] = client
    return client


def backoff_delay(attempt: int, settings, retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): full jitter, see module doc."""
    return backoff_s(attempt, base_s=float(settings.notify_backoff_base_s), cap_s=float(settings.notify_backoff_max_s),
                     jitter="full", retry_after_s=retry_after_s, rng=rng)


def _post_json(client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout)
    except FetchError as exc:  # the guarded transport refused the address it was about to connect to
        raise NotifyError(str(exc), reason=exc.reason, transient=exc.transient) from None
    except httpx.TimeoutException as exc:
        raise NotifyError(f"timeout after {timeout:g}s ({type(exc).__name__})", reason="timeout", transient=True) from None
    except httpx.ConnectError as exc:
        raise NotifyError(f"cannot connect: {exc}", reason="connect_error", transient=True) from None
    except httpx.TransportError as exc:
        raise NotifyError(f"transport error: {type(exc).__name__}: {exc}", reason="connect_error", transient=True) from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    if status >= 500:
        raise NotifyError(f"HTTP {status}", reason="http_5xx", transient=True, status=status, retry_after_s=parse_retry_after(response.headers.get("retry-after")))
    if status == 429:
        raise NotifyError("HTTP 429", reason="http_429", transient=True, status=status, retry_after_s=parse_retry_after(response.headers.get("retry-after")))
    if status in RETRY_STATUSES:
        raise NotifyError(f"HTTP {status}", reason="http_4xx", transient=True, status=status, retry_after_s=parse_retry_after(response.headers.get("retry-after")))
    if 300 <= status < 400:
        raise NotifyError(f"HTTP {status} redirect (not followed for a POST; fix the URL)", reason="http_redirect", transient=False, status=status)
    raise NotifyError(f"HTTP {status}", reason="http_4xx", transient=False, status=status)


def _webhook_secret(channel: WebhookChannel, settings) -> str | None:
    if channel.secret is not None:
        return resolve_secret(channel.secret, "webhook secret")
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return None


def _send_webhook(channel: WebhookChannel, event: dict, article: dict, settings, client: httpx.Client) -> int:
    body = json.dumps(webhook_payload(event, article), ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
    extra = {k: resolve_secret(v, f"header {k}") if is_secret_ref(v) else v for k, v in channel.headers.items()}
    headers = {**extra, "Content-Type": "application/json", "User-Agent": settings.user_agent_header,
               DELIVERY_HEADER: delivery_id(event)}
    secret = _webhook_secret(channel, settings)
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return _post_json(client, channel.resolved_url(), body, headers, channel.timeout_s or settings.notify_timeout_s)


def _send_slack(channel: SlackChannel, event: dict, article: dict, settings, client: httpx.Client) -> int:
    body = json.dumps(slack_payload(event, article), ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": settings.user_agent_header}
    return _post_json(client, channel.resolved_url(), body, headers, channel.timeout_s or settings.notify_timeout_s)


def _send_email(channel: EmailChannel, event: dict, article: dict, settings, addrs: list | None = None) -> int:
    host = channel.host or settings.smtp_host
    port = channel.port or settings.smtp_port
    use_ssl = settings.smtp_ssl if channel.ssl is None else channel.ssl
    starttls = settings.smtp_starttls if channel.starttls is None else channel.starttls
    username = channel.username or settings.smtp_username
    password = channel.password or settings.smtp_password
    sender = channel.from_addr or settings.smtp_from
    timeout = channel.timeout_s or settings.notify_timeout_s
    msg = email_message(event, article, channel, sender)
    try:
        smtp_cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if use_ssl else {}
        if addrs:
            # Connect to the address the guard checked (no second look-up to rebind); TLS (SNI
            # and the certificate check) still uses the host name, which smtplib keeps in _host.
            smtp = smtp_cls(timeout=timeout, **kwargs)
            smtp._host = host
            for n, addr in enumerate(addrs, 1):
                try:
                    smtp.connect(str(addr), port)
                    break
                except ConnectionRefusedError:
                    if n == len(addrs):
                        raise
        else:
            smtp = smtp_cls(host, port, timeout=timeout, **kwargs)
        with smtp:
            smtp.ehlo()
            if starttls and not use_ssl:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if username:
                smtp.login(username, resolve_secret(password, "SMTP password") if password else "")
            smtp.send_message(msg)
        return 250
    except smtplib.SMTPNotSupportedError as exc:
        raise NotifyError(f"SMTP server at {host}:{port} does not support STARTTLS ({exc})", reason="starttls_unsupported", transient=False) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(f"SMTP login refused ({exc.smtp_code})", reason="smtp_auth", transient=False, status=exc.smtp_code) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= c < 500 for c in codes)
        raise NotifyError(f"all recipients refused: {sorted(exc.recipients)} codes {codes}", reason="smtp_transient" if transient else "smtp_error", transient=transient, status=codes[0] if codes else None) from None
    except smtplib.SMTPResponseException as exc:
        transient = 400 <= exc.smtp_code < 500
        raise NotifyError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", reason="smtp_transient" if transient else "smtp_error", transient=transient, status=exc.smtp_code) from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout, TimeoutError) as exc:
        raise NotifyError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}", reason="connect_error", transient=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}", reason="smtp_error", transient=True) from None


def _send_log(channel: LogChannel, event: dict, article: dict) -> int:
    summary = article if _is_summary(article) else article_summary(article)
    getattr(log, channel.level)("alert", search_id=event.get("search_id"), article_id=event.get("article_id"),
                                cluster_id=event.get("cluster_id"), title=summary.get("title"), url=summary.get("url"),
                                channel=channel.label())
    return 0


def _guard(channel: Channel, settings) -> list | None:
    """The send-time SSRF check of the target (NotifyError ``blocked``, permanent)."""
    try:
        return _target_addresses(channel, settings, timeout_s=getattr(channel, "timeout_s", None) or settings.notify_timeout_s)
    except FetchError as exc:
        raise NotifyError(str(exc), reason=exc.reason if exc.reason != "bad_url" else "blocked",
                          transient=exc.transient) from None


def _send_once(channel: Channel, event: dict, article: dict, settings, client: httpx.Client | None) -> int:
    addrs = _guard(channel, settings)
    if isinstance(channel, EmailChannel):
        return _send_email(channel, event, article, settings, addrs)
    if isinstance(channel, WebhookChannel):
        return _send_webhook(channel, event, article, settings, client)  # type: ignore[arg-type]
    if isinstance(channel, SlackChannel):
        return _send_slack(channel, event, article, settings, client)  # type: ignore[arg-type]
    return _send_log(channel, event, article)  # type: ignore[arg-type]


def deliver(channel: Channel, event: dict, article: dict, settings, *, http_client: httpx.Client | None = None,
            max_attempts: int | None = None, sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    """Send one alert on one channel, retrying transient failures; never raises for delivery errors.

    Returns a :class:`DeliveryResult` (``ok`` False with ``reason`` after the last attempt or
    on a permanent failure). Does not write dead letters (:func:`notify` does).
    """
    client = http_client if http_client is not None else (
        shared_http_client(settings) if isinstance(channel, (WebhookChannel, SlackChannel)) else None)
    attempts_allowed = max(1, max_attempts or settings.notify_max_attempts)
    result = DeliveryResult(channel=channel.type, name=channel.label(), target=channel.target(), ok=False)
    started = time.monotonic()
    for attempt in range(1, attempts_allowed + 1):
        result.attempts = attempt
        try:
            result.status = _send_once(channel, event, article, settings, client)
            result.ok, result.reason, result.error = True, None, None
            break
        except NotifyError as exc:
            result.status, result.reason, result.error = exc.status, exc.reason, str(exc)
            log.info("notify_attempt_failed", channel=channel.type, target=channel.target(), attempt=attempt,
                     reason=exc.reason, status=exc.status, transient=exc.transient, search_id=event.get("search_id"))
            if not exc.transient or attempt == attempts_allowed:
                break
            sleep(backoff_delay(attempt, settings, exc.retry_after_s))
    result.elapsed_s = round(time.monotonic() - started, 4)
    return result


def notify(event: dict, article: dict, channels: list[dict], settings, *, deadletters,
           http_client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep) -> list[DeliveryResult]:
    """Deliver one alert ``event`` about ``article`` on every channel of a saved search.

    ``event`` is the alert event dict (``search_id``, ``article_id``, ``cluster_id``,
    ``matched_at``, ``latency_s``...; an optional ``search_name`` is shown to people);
    ``article`` the enriched document (docs/contract.md) or its :func:`article_summary`;
    ``channels`` the saved search's ``notify`` list (dicts or channel models); ``deadletters``
    a :class:`pipeline.deadletter.DeadLetters` (or None: final failures are then only logged).
    Channels are tried one after another; an invalid channel config or a final failure gives a
    result with ``ok`` False and (with a store) a dead letter of kind ``notification`` whose
    payload (:func:`replay_notification` reads it) is ``{"event", "article" (summary),
    "channel" (config without secrets), "channel_index", "redacted" (dropped secret keys)}``.
    Never raises for a delivery failure; Redis errors while dead-lettering propagate so the
    caller's task is retried rather than losing the alert.
    """
    summary = article if _is_summary(article) else article_summary(article)
    results: list[DeliveryResult] = []
    client = http_client
    for index, config in enumerate(channels or []):
        try:
            channel = parse_channel(config, where=f"notify[{index}]")
        except ConfigError as exc:
            ctype = config.get("type") if isinstance(config, dict) else None
            result = DeliveryResult(channel=str(ctype or "?"), name=str((config or {}).get("name") or ctype or "?") if isinstance(config, dict) else "?",
                                    target="?", ok=False, reason="invalid_channel", error=str(exc))
            safe = ({k: v for k, v in config.items() if k not in ("secret", "password", "headers", "url")}
                    if isinstance(config, dict) else {"value": repr(config)[:200]})
            if deadletters is not None:
                result.deadletter_id = deadletters.add(DEADLETTER_KIND, {"event": event, "article": summary, "channel": safe,
                                                                        "channel_index": index, "redacted": []},
                                                       reason="invalid_channel", error=str(exc), attempts=0)
            log.warning("notify_invalid_channel", search_id=event.get("search_id"), error=str(exc))
            results.append(result)
            continue
        result = deliver(channel, event, summary, settings, http_client=client, sleep=sleep)
        if not result.ok:
            redacted = plain_secret_keys(channel)
            if deadletters is not None:
                result.deadletter_id = deadletters.add(
                    DEADLETTER_KIND,
                    {"event": event, "article": summary, "channel": channel_to_config(channel), "channel_index": index,
                     "redacted": redacted, "target": channel.target()},
                    reason=result.reason or "notify_error", error=f"{result.target}: {result.error}", attempts=result.attempts)
            log.warning("notify_failed", channel=channel.type, target=result.target, reason=result.reason,
                        attempts=result.attempts, search_id=event.get("search_id"), article_id=event.get("article_id"),
                        deadletter_id=result.deadletter_id)
        else:
            log.debug("notified", channel=channel.type, target=result.target, attempts=result.attempts,
                      search_id=event.get("search_id"), article_id=event.get("article_id"))
        results.append(result)
    return results


def replay_notification(payload: dict, settings, *, resolve_channel: Callable[[dict], dict | None] | None = None,
                        http_client: httpx.Client | None = None, max_attempts: int | None = None,
                        sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    """Re-send a dead-lettered notification (the payload :func:`notify` stored).

    Secrets were not stored, so when the payload lists ``redacted`` keys the channel config
    is looked up again with ``resolve_channel(payload)`` (for instance from the saved search,
    by ``payload["event"]["search_id"]`` and ``payload["channel_index"]``), which returns the
    full config or None. Raises :class:`NotifyError` (``secret_unavailable``) when a secret is
    needed but cannot be found, :class:`ConfigError` for an invalid config and
    :class:`NotifyError` with the delivery's reason when the send fails again (so
    :meth:`DeadLetters.replay` keeps the entry).
    """
    config = dict(payload.get("channel") or {})
    if resolve_channel is not None:
        resolved = resolve_channel(payload)
        if resolved:
            config = resolved
    missing = [k for k in payload.get("redacted") or [] if k not in config]
    if missing:
        raise NotifyError(f"the channel's {', '.join(missing)} was not stored in the dead letter and could not be resolved "
                          "from the saved search; fix the saved search, then replay", reason="secret_unavailable", transient=False)
    channel = parse_channel(config, where=f"notify[{payload.get('channel_index', '?')}]")
    result = deliver(channel, payload.get("event") or {}, payload.get("article") or {}, settings, http_client=http_client,
                     max_attempts=max_attempts, sleep=sleep)
    if not result.ok:
        raise NotifyError(f"{result.target}: {result.error}", reason=result.reason, transient=False, status=result.status)
    return result
