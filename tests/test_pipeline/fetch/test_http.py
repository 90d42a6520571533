"""The guarded HTTP client against a real HTTP server on 127.0.0.1: every bad input ends as a
classified FetchError; good responses come back decoded, with their redirects."""
from __future__ import annotations

import codecs
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote

import pytest

from httpserver import ARTICLE_HTML, Reply, local_server  # noqa: F401  (pytest fixture)
from pipeline.errors import FetchError
from pipeline.fetch.http import GuardedClient, HttpResponse, decode_html, looks_like_html


@pytest.fixture
def fast(settings):
    """Settings with small timeouts and a 200 kB body cap so that bad inputs fail quickly."""
    return settings.model_copy(update={
        "fetch_allow_hosts": ["127.0.0.1"],
        "fetch_connect_timeout_s": 1.0,
        "fetch_read_timeout_s": 0.4,
        "fetch_total_timeout_s": 1.0,
        "fetch_max_bytes": 200_000,
    })


@pytest.fixture
def client(fast):
    with GuardedClient(fast) as c:
        yield c


def fetch_error(client, url, **kw) -> FetchError:
    with pytest.raises(FetchError) as e:
        client.get(url, **kw)
    return e.value


# -- good responses ----------------------------------------------------------------------------

def test_plain_get_returns_body_headers_and_sends_our_headers(client, local_server, fast):
    resp = client.get(local_server.url("/article"), kind="article")
    assert isinstance(resp, HttpResponse)
    assert resp.status == 200 and resp.content == ARTICLE_HTML.encode()
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.url == local_server.url("/article") and resp.redirects == []
    sent = local_server.last("/article").headers
    assert sent["user-agent"] == fast.user_agent_header and "Wirewatch" in sent["user-agent"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "text/html" in sent["accept"]


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/deflate-raw"])
def test_compressed_bodies_are_decoded(client, local_server, path):
    resp = client.get(local_server.url(path), kind="article")
    assert resp.content == ARTICLE_HTML.encode()
    assert resp.received_bytes < len(resp.content)


def test_redirects_are_followed_and_reported(client, local_server):
    resp = client.get(local_server.url("/redirect/chain?n=2&status=301"))
    assert resp.status == 200 and resp.url == local_server.url("/article")
    assert [s for s, _ in resp.redirects] == [301, 301, 301]
    assert resp.redirects[-1][1] == local_server.url("/article")
    assert resp.permanent_redirect == local_server.url("/article")


def test_temporary_redirect_is_not_permanent(client, local_server):
    resp = client.get(local_server.url("/status/302?to=/article"))
    assert resp.redirects == [(302, local_server.url("/article"))]
    assert resp.permanent_redirect is None


def test_five_redirects_are_allowed(client, local_server):
    resp = client.get(local_server.url("/redirect/chain?n=4"))
    assert len(resp.redirects) == 5 and resp.status == 200


def test_conditional_get_304_is_a_result(client, local_server):
    local_server.add("/feed.xml", "<rss/>", content_type="application/rss+xml", etag='"v1"')
    first = client.get(local_server.url("/feed.xml"), kind="feed")
    assert first.status == 200 and first.headers["etag"] == '"v1"'
    again = client.get(local_server.url("/feed.xml"), headers={"If-None-Match": '"v1"'}, kind="feed")
    assert again.status == 304 and again.content == b""
    assert local_server.last("/feed.xml").headers["if-none-match"] == '"v1"'


def test_redirect_setting_a_cookie_may_come_back_once(client, local_server):
    resp = client.get(local_server.url("/cookie-redirect"), kind="article")
    assert resp.status == 200 and len(resp.redirects) == 1
    # no cookie survives the call
    resp2 = client.get(local_server.url("/cookie-redirect"), kind="article")
    assert len(resp2.redirects) == 1


def test_missing_content_type_is_sniffed_for_articles(client, local_server):
    assert client.get(local_server.url("/notype"), kind="article").status == 200
    assert fetch_error(client, local_server.url("/binary"), kind="article").reason == "not_html"


def test_feed_kind_accepts_non_html(client, local_server):
    assert client.get(local_server.url("/json"), kind="feed").status == 200


# -- bad input: each ends as a classified error --------------------------------------------------

def test_slow_server_times_out(client, local_server):
    err = fetch_error(client, local_server.url("/slow?delay=3"))
    assert err.reason == "timeout" and err.transient


def test_dripping_body_hits_the_total_timeout(client, local_server):
    err = fetch_error(client, local_server.url("/drip?chunks=50&interval=0.2"))
    assert err.reason == "timeout"
    assert "total" in str(err)


@pytest.mark.parametrize("path", ["/redirect/loop", "/redirect/a"])
def test_redirect_cycles(client, local_server, path):
    err = fetch_error(client, local_server.url(path))
    assert err.reason == "redirect_loop" and "cycle" in str(err)


@pytest.mark.parametrize("path", ["/redirect/endless", "/redirect/chain?n=5"])
def test_more_than_five_redirects(client, local_server, path):
    err = fetch_error(client, local_server.url(path))
    assert err.reason == "redirect_loop" and "more than 5" in str(err)


def test_max_redirects_setting_is_honoured(fast, local_server):
    with GuardedClient(fast.model_copy(update={"fetch_max_redirects": 1})) as c:
        assert fetch_error(c, local_server.url("/redirect/chain?n=1")).reason == "redirect_loop"


def test_huge_body_with_content_length_is_refused_before_reading(client, local_server):
    err = fetch_error(client, local_server.url("/huge?bytes=5000000"))
    assert err.reason == "too_large" and "Content-Length" in str(err)


def test_huge_chunked_body_is_cut_off(client, local_server):
    err = fetch_error(client, local_server.url("/huge?bytes=5000000&length=0"))
    assert err.reason == "too_large" and "cap" in str(err)


def test_body_just_under_the_cap_passes(client, local_server, fast):
    resp = client.get(local_server.url(f"/huge?bytes={fast.fetch_max_bytes}&length=0"))
    assert len(resp.content) == fast.fetch_max_bytes


def test_gzip_bomb_is_detected(client, local_server):
    err = fetch_error(client, local_server.url("/gzip-bomb?mb=20"))
    assert err.reason == "decompression_bomb" and "ratio" in str(err)


def test_compressed_but_ordinary_large_body_is_too_large_not_a_bomb(client, local_server):
    import os

    body = os.urandom(150_000).hex().encode()  # 300 kB, compresses about 2:1
    import gzip

    local_server.route("/big-gzip", lambda r: Reply(body=gzip.compress(body), headers={"Content-Encoding": "gzip"}))
    assert fetch_error(client, local_server.url("/big-gzip")).reason == "too_large"


def test_corrupt_gzip_and_unknown_encoding(client, local_server):
    local_server.route("/bad-gzip", lambda r: Reply(body=b"\x1f\x8b\x08\x00garbage-not-gzip" * 10,
                                                      headers={"Content-Encoding": "gzip"}))
    local_server.route("/br", lambda r: Reply(body=b"\x0b\x02\x80hello\x03", headers={"Content-Encoding": "br"}))
    assert fetch_error(client, local_server.url("/bad-gzip")).reason == "bad_encoding"
    assert fetch_error(client, local_server.url("/br")).reason == "bad_encoding"


@pytest.mark.parametrize("path", ["/pdf", "/json", "/image", "/binary"])
def test_non_html_is_refused_for_articles(client, local_server, path):
    err = fetch_error(client, local_server.url(path), kind="article")
    assert err.reason == "not_html"


def test_gone(client, local_server):
    err = fetch_error(client, local_server.url("/status/410"))
    assert err.reason == "gone" and err.status == 410 and not err.transient


def test_429_with_retry_after_seconds(client, local_server):
    err = fetch_error(client, local_server.url("/status/429?retry_after=120"))
    assert err.reason == "rate_limited" and err.status == 429 and err.retry_after_s == 120.0 and err.transient


def test_503_with_retry_after_http_date(client, local_server):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=600), usegmt=True)
    err = fetch_error(client, local_server.url(f"/status/503?retry_after={quote(when)}"))
    assert err.reason == "rate_limited" and err.status == 503
    assert 500 < err.retry_after_s <= 600


@pytest.mark.parametrize("code, transient", [(404, False), (403, False), (500, True), (502, True), (408, True)])
def test_http_errors(client, local_server, code, transient):
    err = fetch_error(client, local_server.url(f"/status/{code}"))
    assert err.reason == "http_error" and err.status == code and err.transient is transient


def test_truncated_body_is_a_connect_error(client, local_server):
    err = fetch_error(client, local_server.url("/truncated"))
    assert err.reason == "connect_error" and err.transient


def test_connection_refused(client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = fetch_error(client, f"http://127.0.0.1:{port}/")
    assert err.reason == "connect_error"


def test_bad_url(client):
    assert fetch_error(client, "not a url").reason == "bad_url"


# -- decoding -----------------------------------------------------------------------------------

TEXT = "Caf\u00e9 cr\u00e8me, na\u00efve fa\u00e7ade"


@pytest.mark.parametrize("query", [
    "enc=utf-8&header=utf-8",  # declared right
    "enc=utf-8",  # nothing declared
    "enc=cp1252&header=windows-1252",
    "enc=cp1252&header=utf-8",  # header lies: detection
    "enc=utf-8&header=iso-8859-1",  # header lies the common way
    "enc=cp1252&meta=windows-1252",  # meta tag only
    "enc=cp1252",  # nothing declared, legacy bytes
    "enc=utf-8&bom=1&header=windows-1251",  # BOM wins
    "enc=utf-16-le&bom=1",
    "enc=utf-8&header=no-such-charset",  # unknown label ignored
])
def test_wrong_and_missing_encodings_decode(client, local_server, query):
    resp = client.get(local_server.url(f"/encoded?{query}&text={quote(TEXT)}"), kind="article")
    assert f"<p>{TEXT}</p>" in decode_html(resp)


def test_cyrillic_meta_charset(client, local_server):
    text = "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440"
    resp = client.get(local_server.url(f"/encoded?enc=cp1251&meta=windows-1251&text={quote(text)}"))
    assert text in decode_html(resp)


def test_binary_is_bad_encoding():
    with pytest.raises(FetchError) as e:
        decode_html(bytes(range(256)) * 40)
    assert e.value.reason == "bad_encoding"


def test_looks_binary_counts_controls_and_replacement_characters_over_two_percent():
    from pipeline.fetch.http import looks_binary

    assert not looks_binary("") and not looks_binary("plain text\twith\nbreaks\r\n\f" * 10)
    assert not looks_binary("a" * 98 + "\x00\ufffd")  # exactly 2%
    assert looks_binary("a" * 97 + "\x00\x1f\ufffd")  # 3%
    assert looks_binary("a" * 97 + "\x0b\x0e\x08")
    assert not looks_binary("a" * 97 + "\x7f\x85\u2028")  # DEL and C1 controls are not counted


def test_bom_that_lies_is_bad_encoding():
    with pytest.raises(FetchError) as e:
        decode_html(codecs.BOM_UTF8 + b"\xff\xfe\xfa bad")
    assert e.value.reason == "bad_encoding"


def test_decode_raw_bytes_and_sniffing():
    assert decode_html("<p>\u00fc</p>".encode("utf-8"), "text/html; charset=UTF-8") == "<p>\u00fc</p>"
    assert decode_html(b"") == ""
    assert looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>")
    assert looks_like_html(b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">')
    assert not looks_like_html(b"%PDF-1.4")
