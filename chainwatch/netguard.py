"""Keep user-supplied URLs away from the server's own network.

``sources add`` and "crawl now" take URLs from users; without this check a
team's server could be made to fetch its own admin pages, cloud metadata
(169.254.169.254) or databases on the private network. Hosts are resolved and
every address checked; the crawler checks again for each request, redirects
included (crawler.middlewares.NetGuardMiddleware).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURLError(ValueError):
    """The URL cannot be crawled: wrong scheme, unresolvable host or a forbidden address."""


def check_scheme(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURLError(f"{url!r}: only http:// and https:// URLs can be crawled")
    if not parts.hostname:
        raise UnsafeURLError(f"{url!r}: the URL has no host name")
    return parts.hostname


def forbidden_reason(address: str) -> str | None:
    """Why an IP address must not be fetched, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour):
        ip = ip.ipv4_mapped or ip.sixtofour  # ::ffff:127.0.0.1, 2002:7f00:1:: (6to4) carry an IPv4 address
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_private:
        return "a private-network address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    if not ip.is_global:
        # 100.64.0.0/10 (carrier-grade NAT; Alibaba Cloud's metadata service is 100.100.100.200)
        return "a shared or special-purpose address"
    return None


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"host {host!r} does not resolve ({exc})") from None
    return sorted({info[4][0] for info in infos})


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> None:
    if allow_private:
        return
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            raise UnsafeURLError(
                f"{host} resolves to {address}, {reason}; chainwatch does not crawl the server's own "
                "network unless an admin sets allow_private_networks (CHAINWATCH_ALLOW_PRIVATE_NETWORKS=1)")


def literal_address(host: str) -> list[str]:
    """``[address]`` when the host is an IP address written out (no resolver asked), else []."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return []


def check_url(url: str, allow_private: bool = False, must_resolve: bool = True) -> None:
    """Raise UnsafeURLError unless ``url`` is http(s) on a host that resolves to allowed addresses.

    ``must_resolve=False`` lets a host that does not resolve now pass (a saved URL is checked again
    by the crawler on every request); one that resolves to a forbidden address never passes."""
    host = check_scheme(url)
    addresses = literal_address(host)
    if not addresses:
        try:
            addresses = resolve(host)
        except UnsafeURLError:
            if must_resolve:
                raise
            return
    check_addresses(host, addresses, allow_private)
