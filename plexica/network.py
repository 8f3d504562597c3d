"""The allowed-network policy for outbound URLs that plugins or users supply.

Checked when a URL is registered and again at connect time against the address actually dialled,
so a name that later resolves somewhere else (DNS rebinding) cannot reach a forbidden network.
"""

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

# Never reachable, whatever GATEWAY_ALLOWED_NETWORKS says: link-local (cloud metadata at
# 169.254.169.254), multicast, unspecified and reserved addresses.
_ALWAYS_REFUSED = [
    ipaddress.ip_network(net)
    for net in ("169.254.0.0/16", "fe80::/10", "224.0.0.0/4", "ff00::/8", "0.0.0.0/8", "::/128", "240.0.0.0/4")
]


class NetworkPolicyError(ValueError):
    """The URL or address is outside the allowed networks; the message says why."""


@lru_cache(maxsize=8)
def _allowed(networks):
    return [ipaddress.ip_network(net, strict=False) for net in networks]


def allowed_networks():
    return _allowed(tuple(settings.GATEWAY_ALLOWED_NETWORKS))


def check_address(address):
    """Raise NetworkPolicyError unless the IP `address` is in an allowed network."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _ALWAYS_REFUSED) or ip.is_multicast or ip.is_link_local:
        raise NetworkPolicyError(f"address {ip} is in a network that is never allowed")
    if not any(ip in net for net in allowed_networks() if net.version == ip.version):
        raise NetworkPolicyError(f"address {ip} is outside the allowed networks")
    return ip


def resolve(host, port):
    """All addresses `host` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkPolicyError(f"host '{host}' does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url):
    """Raise NetworkPolicyError unless `url` is absolute http(s) and every address of its host is allowed."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed "[" or a host that NFKC-normalizes to a delimiter
        raise NetworkPolicyError("must be an absolute http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise NetworkPolicyError("must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise NetworkPolicyError("must not contain credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise NetworkPolicyError("has an invalid port") from None
    for address in resolve(hostname, port):
        check_address(address)
