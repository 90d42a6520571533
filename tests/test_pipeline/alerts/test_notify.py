"""Notifications against REAL local servers: an HTTP server (http.server in a thread) that
records requests and answers with scripted statuses, and a tiny SMTP sink (socketserver).
Dead letters go to the real Redis under a per-test prefix."""
from __future__ import annotations

import json
import socket
import socketserver
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from pipeline.deadletter import DeadLetters
from pipeline.errors import ConfigError, NotifyError
from pipeline.logs import redact_url
from pipeline.alerts.notify import (
    SIGNATURE_HEADER,
    article_summary,
    backoff_delay,
    notify,
    parse_channel,
    replay_notification,
    sign,
    slack_payload,
    validate_channels,
    verify_signature,
    webhook_payload,
)

ARTICLE = {
    "id": "a" * 32,
    "url": "https://news.example.org/2024/border",
    "canonical_url": "https://news.example.org/2024/border",
    "title": "Crossings <rise> & fall near Tijuana",
    "body": "Officials said crossings at the San Ysidro port rose. " * 20,
    "language": "en",
    "published_at": "2024-05-01T10:00:00+00:00",
    "source": {"domain": "news.example.org", "feed_url": "https://news.example.org/rss"},
    "persons": [{"name": "Ana Lopez", "mentions": 2}],
    "organizations": [{"name": "Border Patrol", "mentions": 1}],
    "locations": [{"name": "Tijuana", "lat": 32.5, "lon": -117.0, "country_code": "MX"}],
    "countries": ["MX", "US"],
    "quotes": [{"text": "We are ready", "speaker": "Ana Lopez"}],
    "topics": ["border-crossing"],
    "dedupe": {"content_hash": "h", "cluster_id": "c1", "duplicate_of": None},
}
EVENT = {"search_id": "s-border", "search_name": "Border near Tijuana", "article_id": "a" * 32,
         "cluster_id": "c1", "matched_at": "2024-05-01T10:00:01+00:00", "latency_s": 0.4}


# --- a real local HTTP server ---------------------------------------------------------------
class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, statuses):
        self.statuses = list(statuses)  # scripted answers; the last one repeats
        self.requests: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook/secret-path-token"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv = self.server
        srv.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        status = srv.statuses.pop(0) if len(srv.statuses) > 1 else srv.statuses[0]
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    servers = []

    def start(*statuses):
        srv = Recorder(statuses or (200,))
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def nsettings(settings):
    return settings.model_copy(update={"notify_backoff_base_s": 0.01, "notify_backoff_max_s": 0.05,
                                       "notify_max_attempts": 4, "notify_timeout_s": 3.0,
                                       "webhook_secret": SecretStr("global-key")})


@pytest.fixture()
def dlq(redis_client, settings):
    s = settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}:n{uuid.uuid4().hex[:6]}"})
    store = DeadLetters(redis_client, s)
    yield store
    store.purge()


# --- pure functions --------------------------------------------------------------------------
def test_sign_and_verify_known_vector():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"what do ya want for nothing?", "Jefe") == expected
    assert verify_signature(b"what do ya want for nothing?", "Jefe", expected)
    assert not verify_signature(b"what do ya want for nothing!", "Jefe", expected)
    assert not verify_signature(b"x", "Jefe", None)


def test_channel_validation_errors_are_clear():
    with pytest.raises(ConfigError, match=r"notify\[1\] \(webhook\): url: .*http"):
        validate_channels([{"type": "log"}, {"type": "webhook", "url": "ftp://x.example"}])
    with pytest.raises(ConfigError, match="unknown channel type 'pager'"):
        parse_channel({"type": "pager"})
    with pytest.raises(ConfigError, match="to:"):
        parse_channel({"type": "email", "to": ["not-an-address"]})
    with pytest.raises(ConfigError, match="Extra inputs"):
        parse_channel({"type": "slack", "url": "https://hooks.example.com/x", "secrett": "typo"})
    chan = parse_channel({"type": "email", "to": "a@example.org", "from": "ww@example.org"})
    assert chan.to == ["a@example.org"] and chan.from_addr == "ww@example.org"
    assert validate_channels(None) == []


def test_payload_shapes():
    summary = article_summary(ARTICLE)
    assert summary["places"] == ["Tijuana"] and summary["persons"] == ["Ana Lopez"] and summary["quotes"] == 1
    assert summary["source_domain"] == "news.example.org" and summary["excerpt"].endswith("…")
    doc = webhook_payload(EVENT, ARTICLE)
    assert doc["type"] == "wirewatch.alert" and doc["event"] == EVENT and doc["article"]["id"] == ARTICLE["id"]
    assert webhook_payload(EVENT, summary)["article"] == summary
    slack = slack_payload(EVENT, ARTICLE)
    assert "Border near Tijuana" in slack["text"]
    first = slack["blocks"][0]["text"]["text"]
    assert "&lt;rise&gt; &amp; fall" in first and f"<{ARTICLE['url']}|" in first
    assert slack["blocks"][-1]["type"] == "context"


def test_backoff_grows_and_is_capped(nsettings):
    import random

    rng = random.Random(1)
    s = nsettings.model_copy(update={"notify_backoff_base_s": 1.0, "notify_backoff_max_s": 8.0})
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 8.0)):
        delays = [backoff_delay(attempt, s, rng=rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > ceiling / 2  # jitter spreads over the whole window
    assert backoff_delay(1, s, retry_after_s=5, rng=rng) >= 5
    assert backoff_delay(1, s, retry_after_s=500, rng=rng) == 8.0


def test_redact_url_hides_path_and_credentials():
    assert redact_url("https://user:pw@hooks.slack.com/services/T0/B0/XYZ?x=1", keep_path=False) == "https://hooks.slack.com/…"


# --- webhook against a real HTTP server ------------------------------------------------------
@pytest.mark.integration
def test_webhook_signature_verifiable(http_server, nsettings, dlq):
    srv = http_server(200)
    results = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url, "headers": {"X-Team": "desk"}}], nsettings, deadletters=dlq)
    assert [r.ok for r in results] == [True] and results[0].attempts == 1 and results[0].status == 200
    (req,) = srv.requests
    assert req["path"] == "/hook/secret-path-token"
    assert verify_signature(req["body"], "global-key", req["headers"][SIGNATURE_HEADER])
    assert req["headers"]["X-Team"] == "desk" and req["headers"]["Content-Type"] == "application/json"
    doc = json.loads(req["body"])
    assert doc["event"]["search_id"] == "s-border" and doc["article"]["title"] == ARTICLE["title"]
    assert "secret-path-token" not in results[0].target
    # a channel's own secret wins over the global one
    notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url, "secret": "chan-key"}], nsettings, deadletters=dlq)
    req2 = srv.requests[1]
    assert verify_signature(req2["body"], "chan-key", req2["headers"][SIGNATURE_HEADER])
    assert not verify_signature(req2["body"], "global-key", req2["headers"][SIGNATURE_HEADER])
    assert dlq.count() == 0


@pytest.mark.integration
def test_webhook_retries_500_then_succeeds(http_server, nsettings, dlq):
    srv = http_server(500, 503, 429, 200)
    (result,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url}], nsettings, deadletters=dlq)
    assert result.ok and result.attempts == 4 and len(srv.requests) == 4
    # every attempt carries the same body, signature and delivery id
    assert len({r["body"] for r in srv.requests}) == 1
    assert len({r["headers"]["X-Wirewatch-Delivery"] for r in srv.requests}) == 1
    assert dlq.count() == 0


@pytest.mark.integration
def test_webhook_dead_letter_after_max_attempts(http_server, nsettings, dlq):
    srv = http_server(502)
    (result,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url, "secret": "chan-key"}], nsettings, deadletters=dlq)
    assert not result.ok and result.attempts == nsettings.notify_max_attempts == len(srv.requests)
    assert result.reason == "http_5xx" and result.status == 502 and result.deadletter_id
    entry = dlq.get(result.deadletter_id)
    assert entry["kind"] == "notification" and entry["reason"] == "http_5xx" and entry["attempts"] == 4
    assert entry["payload"]["channel"] == {"type": "webhook", "url": srv.url, "headers": {}}
    assert entry["payload"]["redacted"] == ["secret"]
    assert "chan-key" not in json.dumps(entry)
    assert entry["payload"]["event"] == EVENT and entry["payload"]["article"]["id"] == ARTICLE["id"]


@pytest.mark.integration
def test_webhook_4xx_is_not_retried(http_server, nsettings, dlq):
    srv = http_server(404)
    (result,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url}], nsettings, deadletters=dlq)
    assert not result.ok and result.attempts == 1 and result.reason == "http_4xx" and dlq.count() == 1


@pytest.mark.integration
def test_endpoint_down_dead_letters_with_reason(nsettings, dlq):
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    (result,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": url}], nsettings, deadletters=dlq)
    assert not result.ok and result.reason == "connect_error" and result.attempts == nsettings.notify_max_attempts
    entry = dlq.get(result.deadletter_id)
    assert entry["reason"] == "connect_error" and "cannot connect" in entry["error"]


@pytest.mark.integration
def test_replay_resends_after_endpoint_recovers(http_server, nsettings, dlq):
    srv = http_server(500)
    (failed,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url}], nsettings.model_copy(update={"notify_max_attempts": 2}), deadletters=dlq)
    assert failed.deadletter_id
    srv.statuses = [200]
    before = len(srv.requests)
    dlq.replay(failed.deadletter_id, lambda payload: replay_notification(payload, nsettings))
    assert dlq.count() == 0 and len(srv.requests) == before + 1
    assert verify_signature(srv.requests[-1]["body"], "global-key", srv.requests[-1]["headers"][SIGNATURE_HEADER])


@pytest.mark.integration
def test_replay_needs_redacted_secret(http_server, nsettings, dlq):
    srv = http_server(500)
    (failed,) = notify(EVENT, ARTICLE, [{"type": "webhook", "url": srv.url, "secret": "chan-key"}],
                       nsettings.model_copy(update={"notify_max_attempts": 1}), deadletters=dlq)
    with pytest.raises(NotifyError) as err:
        dlq.replay(failed.deadletter_id, lambda p: replay_notification(p, nsettings))
    assert err.value.reason == "secret_unavailable" and dlq.count() == 1
    srv.statuses = [200]
    resolver = lambda p: {**p["channel"], "secret": "chan-key"}  # noqa: E731 - what a saved-search lookup returns
    dlq.replay(failed.deadletter_id, lambda p: replay_notification(p, nsettings, resolve_channel=resolver))
    assert dlq.count() == 0
    assert verify_signature(srv.requests[-1]["body"], "chan-key", srv.requests[-1]["headers"][SIGNATURE_HEADER])


@pytest.mark.integration
def test_slack_and_log_and_invalid_channel(http_server, nsettings, dlq):
    srv = http_server(200)
    results = notify(EVENT, ARTICLE, [{"type": "slack", "url": srv.url}, {"type": "log", "name": "audit"},
                                      {"type": "webhook", "url": "nope"}], nsettings, deadletters=dlq)
    assert [r.ok for r in results] == [True, True, False]
    body = json.loads(srv.requests[0]["body"])
    assert set(body) == {"text", "blocks"} and SIGNATURE_HEADER not in srv.requests[0]["headers"]
    assert results[1].name == "audit"
    assert results[2].reason == "invalid_channel"
    assert dlq.get(results[2].deadletter_id)["reason"] == "invalid_channel"


# --- e-mail against a real local SMTP sink ---------------------------------------------------
class SmtpSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server (RFC 5321 commands EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mail_replies=("250 OK",)):
        self.messages: list[dict] = []
        self.mail_replies = list(mail_replies)  # scripted replies to MAIL FROM; the last repeats
        super().__init__(("127.0.0.1", 0), _SmtpHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        srv = self.server
        self._send("220 sink ESMTP")
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            cmd = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self._send("250-sink")
                self._send("250 8BITMIME")
            elif verb == "HELO":
                self._send("250 sink")
            elif verb == "MAIL":
                reply = srv.mail_replies.pop(0) if len(srv.mail_replies) > 1 else srv.mail_replies[0]
                self._send(reply)
                if reply.startswith("250"):
                    sender, rcpts = cmd.split(":", 1)[1].strip(), []
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip())
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 go ahead")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line)
                srv.messages.append({"from": sender, "to": rcpts, "data": b"".join(lines)})
                self._send("250 queued")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            else:
                self._send("502 not implemented")


@pytest.fixture()
def smtp_sink():
    sinks = []

    def start(*mail_replies):
        sink = SmtpSink(mail_replies or ("250 OK",))
        threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.shutdown()
        sink.server_close()


@pytest.mark.integration
def test_email_delivered_to_smtp_sink(smtp_sink, nsettings, dlq):
    import email

    sink = smtp_sink()
    chan = {"type": "email", "to": ["desk@example.org", "b@example.org"], "from": "ww@example.org", "host": "127.0.0.1", "port": sink.port}
    (result,) = notify(EVENT, ARTICLE, [chan], nsettings, deadletters=dlq)
    assert result.ok and result.attempts == 1, result
    (msg,) = sink.messages
    assert msg["from"] == "<ww@example.org>" and msg["to"] == ["<desk@example.org>", "<b@example.org>"]
    parsed = email.message_from_bytes(msg["data"])
    assert parsed["Subject"].startswith("[Wirewatch] Border near Tijuana: Crossings")
    text = parsed.get_payload(decode=True).decode()
    assert ARTICLE["url"] in text and "Places: Tijuana" in text


@pytest.mark.integration
def test_email_transient_4xx_retried_then_5xx_dead_lettered(smtp_sink, nsettings, dlq):
    sink = smtp_sink("451 try later", "250 OK")
    chan = {"type": "email", "to": ["desk@example.org"], "host": "127.0.0.1", "port": sink.port}
    (result,) = notify(EVENT, ARTICLE, [chan], nsettings, deadletters=dlq)
    assert result.ok and result.attempts == 2 and len(sink.messages) == 1
    bad = smtp_sink("550 no such sender")
    (result,) = notify(EVENT, ARTICLE, [{**chan, "port": bad.port}], nsettings, deadletters=dlq)
    assert not result.ok and result.attempts == 1 and result.reason == "smtp_error" and result.status == 550
    assert dlq.get(result.deadletter_id)["reason"] == "smtp_error"


@pytest.mark.integration
def test_email_starttls_not_offered_is_permanent(smtp_sink, nsettings, dlq):
    # The sink does not advertise STARTTLS: we must refuse to send in clear text.
    # (A STARTTLS success test would need a certificate; no CA tooling is installed here.)
    sink = smtp_sink()
    chan = {"type": "email", "to": ["desk@example.org"], "host": "127.0.0.1", "port": sink.port, "starttls": True,
            "username": "u", "password": "hunter2"}
    (result,) = notify(EVENT, ARTICLE, [chan], nsettings, deadletters=dlq)
    assert not result.ok and result.reason == "starttls_unsupported" and sink.messages == []
    entry = dlq.get(result.deadletter_id)
    assert "hunter2" not in json.dumps(entry) and entry["payload"]["redacted"] == ["password"]


@pytest.mark.integration
def test_email_server_down(nsettings, dlq):
    chan = {"type": "email", "to": ["desk@example.org"], "host": "127.0.0.1", "port": _closed_port()}
    (result,) = notify(EVENT, ARTICLE, [chan], nsettings.model_copy(update={"notify_max_attempts": 2}), deadletters=dlq)
    assert not result.ok and result.reason == "connect_error" and result.attempts == 2


def test_shared_client_is_reused_and_replaced_when_closed():
    from pipeline.alerts.notify import shared_http_client

    first = shared_http_client()
    assert shared_http_client() is first and first.follow_redirects is False
    first.close()
    second = shared_http_client()
    assert second is not first and not second.is_closed
