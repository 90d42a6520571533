"""SSRF guard: refuse URLs whose host resolves to an address that is not on the public internet.

A feed is written by someone else; its links (and the redirects its servers send) may point at
``http://127.0.0.1:6379/``, ``http://10.0.0.5/admin`` or a cloud metadata service. Every hop
of every fetch is checked twice:

1. :func:`check_url` before the request: scheme (http/https only), host present, known
   metadata host names refused, the host resolved and every address it resolves to checked.
2. :class:`GuardedBackend` at connect time: the connection is opened to an address that was
   checked in the same call, so a DNS answer that changes between the check and the connect
   (DNS rebinding) cannot slip a private address through.

Refused addresses (the classes of Python's :mod:`ipaddress`, which follows the IANA special-
purpose address registries, RFC 6890): loopback, private (RFC 1918, RFC 4193 ULA, ...), link-local
(which holds 169.254.169.254), multicast, reserved, unspecified, shared/CGNAT (100.64.0.0/10,
which holds Alibaba's 100.100.100.200) and anything else that is not globally routable
(``not is_global``); IPv4 addresses embedded in IPv6 (``::ffff:a.b.c.d``, 6to4, Teredo, NAT64
``64:ff9b::/96``) are unwrapped and checked as IPv4. Cloud metadata endpoints are named
explicitly so the reason says so: AWS/GCP/Azure/OpenStack 169.254.169.254, AWS IPv6
fd00:ec2::254, AWS ECS task metadata 169.254.170.2, Oracle 192.0.0.192, Alibaba 100.100.100.200,
and the host names ``metadata.google.internal``, ``metadata.goog``, ``metadata``,
``instance-data`` and ``instance-data.ec2.internal`` (the providers' own documentation).

``settings.fetch_allow_hosts`` is the allowlist: host names (exact, case-insensitive), IP
addresses or CIDR networks (``"10.1.0.0/16"``). An allowlisted host name or an address inside an
allowlisted network is let through. It is empty by default; tests and the demo allow
``127.0.0.1``.
"""
from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import socket
import threading
import time
import typing
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata service addresses (see the module docstring for their owners).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "192.0.0.192", "100.100.100.200")
)
#: Cloud metadata host names, refused before any DNS look-up.
METADATA_HOSTNAMES: frozenset[str] = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOWED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Allowlist:
    """Parsed ``settings.fetch_allow_hosts``: host names and networks exempt from the guard."""

    hostnames: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: typing.Iterable[str]) -> "Allowlist":
        """Split entries into IP networks (an address is a /32 or /128) and host names."""
        names: set[str] = set()
        nets = []
        for raw in entries:
            entry = raw.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(nets))

    def allows_host(self, host: str) -> bool:
        """True when ``host`` (name or literal address) is allowlisted as such."""
        h = host.lower().strip("[]").rstrip(".")
        if h in self.hostnames:
            return True
        try:
            return self.allows_address(ipaddress.ip_address(h))
        except ValueError:
            return False

    def allows_address(self, addr: IPAddress) -> bool:
        """True when ``addr`` lies in an allowlisted network."""
        return any(addr.version == n.version and addr in n for n in self.networks)


def _embedded_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr.teredo is not None:
            return addr.teredo[1]
        if addr in _NAT64:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def address_problem(addr: IPAddress) -> str | None:
    """Say why ``addr`` must not be fetched, or return None when it is a public address.

    The answer is a short phrase used in error messages: ``"a cloud metadata address"``,
    ``"a loopback address"``, ``"a private address"`` ...
    """
    inner = _embedded_ipv4(addr)
    if inner is not None:
        why = address_problem(inner)
        return f"{why} (embedded in {addr})" if why else None
    if addr in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if addr.is_unspecified:
        return "an unspecified address"
    if addr.is_loopback:
        return "a loopback address"
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_multicast:
        return "a multicast address"
    if addr.is_reserved:
        return "a reserved address"
    if addr.is_private:
        return "a private address"
    if not addr.is_global:
        return "a non-global address"
    return None


#: How long a successful look-up is reused, seconds. The check before a request and the
#: connection opened right after it then see the same answer (one look-up, not two).
DNS_CACHE_TTL_S = 30.0
DNS_CACHE_MAX = 4096
_dns_cache: dict[tuple[str, int], tuple[float, list]] = {}
_dns_lock = threading.Lock()
_executor: tuple[int, concurrent.futures.ThreadPoolExecutor] | None = None


def _resolver_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Threads that run ``getaddrinfo`` so that a look-up can have a timeout (the C call has none).

    One pool per process: a pool inherited through ``fork`` (Celery's prefork workers) has no
    live threads, so a new one is made when the process id changes.
    """
    global _executor
    pid = os.getpid()
    with _dns_lock:
        if _executor is None or _executor[0] != pid:
            _executor = (pid, concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="ww-dns"))
        return _executor[1]


def clear_dns_cache() -> None:
    """Forget cached look-ups (tests; a long-lived process never needs it)."""
    with _dns_lock:
        _dns_cache.clear()


def resolve(host: str, port: int, timeout_s: float | None = None) -> list[IPAddress]:
    """Resolve ``host`` to its addresses (A and AAAA), in the resolver's order, without duplicates.

    ``timeout_s`` bounds the look-up (None: the system resolver's own limits). Raises
    :class:`FetchError` ``connect_error`` (transient) when the name does not resolve and
    ``timeout`` when the look-up takes longer than ``timeout_s``.
    """
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    key = (literal.lower(), port)
    now = time.monotonic()
    with _dns_lock:
        hit = _dns_cache.get(key)
    if hit and hit[0] > now:
        return list(hit[1])
    try:
        if timeout_s is None:
            infos = socket.getaddrinfo(literal, port, type=socket.SOCK_STREAM)
        else:
            future = _resolver_pool().submit(socket.getaddrinfo, literal, port, type=socket.SOCK_STREAM)
            try:
                infos = future.result(timeout=timeout_s)
            except concurrent.futures.TimeoutError as exc:
                raise FetchError(f"DNS look-up of {host} took more than {timeout_s:g}s", reason="timeout",
                                 transient=True) from exc
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}", reason="connect_error", transient=True) from exc
    out: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    if not out:
        raise FetchError(f"cannot resolve {host}: no address", reason="connect_error", transient=True)
    with _dns_lock:
        if len(_dns_cache) >= DNS_CACHE_MAX:
            _dns_cache.clear()
        _dns_cache[key] = (now + DNS_CACHE_TTL_S, list(out))
    return out


def check_host(host: str, port: int, allow: Allowlist, *, url: str | None = None,
               timeout_s: float | None = None) -> list[IPAddress]:
    """Resolve ``host`` and return the addresses that may be connected to.

    An allowlisted host name returns all its addresses unchecked. Otherwise every resolved
    address must be public (or allowlisted); if ANY is not, the host is refused, because the
    connection could land on it. Raises :class:`FetchError` ``blocked`` with the reason, or
    ``connect_error`` when the name does not resolve.
    """
    name = host.lower().strip("[]").rstrip(".")
    if name in allow.hostnames:
        return resolve(host, port, timeout_s)
    if name in METADATA_HOSTNAMES:
        raise FetchError(f"blocked: {host} is a cloud metadata host", reason="blocked", url=url)
    addrs = resolve(host, port, timeout_s)
    for addr in addrs:
        if allow.allows_address(addr):
            continue
        why = address_problem(addr)
        if why:
            shown = host if host.strip("[]") == str(addr) else f"{host} resolves to {addr}, which"
            raise FetchError(f"blocked: {shown} is {why}", reason="blocked", url=url)
    return addrs


def check_url(url: str, allow: Allowlist, *, timeout_s: float | None = None) -> list[IPAddress]:
    """Check one URL before it is requested (first request and every redirect hop).

    Returns the checked addresses. Raises :class:`FetchError` with reason ``bad_url`` (not
    http/https, no host, unparsable port), ``blocked`` (see :func:`check_host`), or
    ``connect_error``/``timeout`` from the DNS look-up (bounded by ``timeout_s``).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"bad URL {url!r}: {exc}", reason="bad_url", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise FetchError(f"bad URL {url!r}: only http and https are fetched", reason="bad_url", url=url)
    host = parts.hostname
    if not host:
        raise FetchError(f"bad URL {url!r}: no host", reason="bad_url", url=url)
    if port is None:
        port = 443 if scheme == "https" else 80
    return check_host(host, port, allow, url=url, timeout_s=timeout_s)


class GuardedBackend:
    """An ``httpcore`` network backend that checks the address it connects to.

    ``connect_tcp`` resolves the host itself, refuses it through :func:`check_host` and
    connects to the first checked address that answers. TLS is started afterwards by httpcore
    with the original host name (SNI and certificate checks are unchanged).
    """

    def __init__(self, allow: Allowlist, inner=None):
        import httpcore

        self._allow = allow
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        """Connect to a checked address of ``host`` (raises FetchError ``blocked``)."""
        import httpcore

        addrs = check_host(host, port, self._allow, timeout_s=timeout)
        last: Exception | None = None
        for addr in addrs:
            try:
                return self._inner.connect_tcp(str(addr), port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover - never used
        """Unix sockets are never fetched."""
        raise FetchError("blocked: unix sockets are not fetched", reason="blocked")

    def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend."""
        self._inner.sleep(seconds)
