"""SSRF guard: address classes, URL checks, the allowlist, and the guard on a real local server."""
from __future__ import annotations

import ipaddress
from urllib.parse import quote

import pytest

from httpserver import local_server  # noqa: F401  (pytest fixture)
from pipeline.errors import FetchError
from pipeline.fetch.http import GuardedClient
from pipeline.fetch.ssrf import Allowlist, GuardedBackend, address_problem, check_url


@pytest.mark.parametrize("addr, why", [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("169.254.1.1", "link-local"),
    ("100.100.100.200", "metadata"),
    ("100.64.3.2", "non-global"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd00:ec2::254", "metadata"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
])
def test_non_public_addresses_are_refused_with_their_class(addr, why):
    problem = address_problem(ipaddress.ip_address(addr))
    assert problem is not None and why in problem


@pytest.mark.parametrize("addr", ["8.8.8.8", "93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_pass(addr):
    assert address_problem(ipaddress.ip_address(addr)) is None


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:6379/_INFO", "javascript:alert(1)",
    "http:///nohost", "http://example.com:99999/", "data:text/html,hi", "",
])
def test_bad_urls_are_bad_url(url):
    with pytest.raises(FetchError) as e:
        check_url(url, Allowlist.parse([]))
    assert e.value.reason == "bad_url"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8080/admin", "http://[::1]/", "http://10.0.0.7/x",
    "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/", "https://0.0.0.0/", "http://[::ffff:7f00:1]/",
])
def test_private_and_metadata_urls_are_blocked(url):
    with pytest.raises(FetchError) as e:
        check_url(url, Allowlist.parse([]))
    assert e.value.reason == "blocked"
    assert "blocked" in str(e.value)


def test_metadata_reason_is_named():
    with pytest.raises(FetchError) as e:
        check_url("http://169.254.169.254/", Allowlist.parse([]))
    assert "metadata" in str(e.value)
    with pytest.raises(FetchError) as e:
        check_url("http://METADATA.google.internal./", Allowlist.parse(["127.0.0.1"]))
    assert "metadata" in str(e.value)


def test_allowlist_by_address_network_and_name():
    allow = Allowlist.parse(["127.0.0.1", "10.20.0.0/16", "Intranet.Example", " "])
    assert check_url("http://127.0.0.1:9000/x", allow) == [ipaddress.ip_address("127.0.0.1")]
    assert check_url("http://10.20.3.4/", allow)
    assert allow.allows_host("intranet.example.")
    with pytest.raises(FetchError):
        check_url("http://10.21.0.1/", allow)
    with pytest.raises(FetchError):
        check_url("http://127.0.0.2/", allow)


def test_unresolvable_host_is_a_connect_error():
    with pytest.raises(FetchError) as e:
        check_url("http://no-such-host.invalid/", Allowlist.parse([]))
    assert e.value.reason == "connect_error" and e.value.transient


def test_backend_refuses_to_connect_to_a_private_address(local_server):
    backend = GuardedBackend(Allowlist.parse([]))
    with pytest.raises(FetchError) as e:
        backend.connect_tcp("127.0.0.1", local_server.port, timeout=1)
    assert e.value.reason == "blocked"
    allowed = GuardedBackend(Allowlist.parse(["127.0.0.1"]))
    stream = allowed.connect_tcp("127.0.0.1", local_server.port, timeout=1)
    stream.close()


def test_loopback_server_is_blocked_without_allowlist(local_server, settings):
    strict = settings.model_copy(update={"fetch_allow_hosts": []})
    with GuardedClient(strict) as client, pytest.raises(FetchError) as e:
        client.get(local_server.url("/article"))
    assert e.value.reason == "blocked"
    assert local_server.hits("/article") == 0  # refused before any byte was sent


@pytest.mark.parametrize("target", [
    "http://10.0.0.1/internal", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/",
    "http://metadata.google.internal/", "file:///etc/passwd",
])
def test_redirect_to_a_private_address_is_blocked(local_server, settings, target):
    only_loopback_v4 = settings.model_copy(update={"fetch_allow_hosts": ["127.0.0.1"]})
    with GuardedClient(only_loopback_v4) as client, pytest.raises(FetchError) as e:
        client.get(local_server.url(f"/redirect/to?url={quote(target, safe='')}"))
    assert e.value.reason in ("blocked", "bad_url")
    assert e.value.reason == ("bad_url" if target.startswith("file:") else "blocked")
    assert local_server.hits("/redirect/to") == 1


def test_slow_dns_lookup_times_out_and_answers_are_cached(monkeypatch):
    import socket
    import time

    from pipeline.fetch import ssrf

    calls = []

    def slow_getaddrinfo(host, port, *a, **kw):
        calls.append(host)
        if host == "slow.example":
            time.sleep(1.0)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    ssrf.clear_dns_cache()
    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    with pytest.raises(FetchError) as e:
        ssrf.resolve("slow.example", 80, timeout_s=0.1)
    assert e.value.reason == "timeout"
    assert ssrf.resolve("fast.example", 80, timeout_s=1.0) == [ipaddress.ip_address("93.184.215.14")]
    assert ssrf.resolve("FAST.example", 80, timeout_s=1.0) == [ipaddress.ip_address("93.184.215.14")]
    assert calls.count("fast.example") == 1
    ssrf.clear_dns_cache()
