"""The allowed-network policies for outbound URLs that plugins or users supply.

Checked when a URL is registered and again at connect time against the address actually dialled,
so a name that later resolves somewhere else (DNS rebinding) cannot reach a forbidden network.

Three policies: the gateway's (GATEWAY_POLICY) reaches only GATEWAY_ALLOWED_NETWORKS, where plugin
services run; webhooks' (WEBHOOK_POLICY) and integrations' (INTEGRATION_POLICY) reach public addresses,
and private ones only inside WEBHOOK_ALLOWED_NETWORKS / INTEGRATION_ALLOWED_NETWORKS. Link-local, metadata, multicast and reserved addresses are refused by both,
whatever the settings say.
"""

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

# Never reachable, whatever the allowed networks say: link-local (cloud metadata at 169.254.169.254),
# the other clouds' metadata addresses, multicast, unspecified and reserved addresses.
_ALWAYS_REFUSED = [
    ipaddress.ip_network(net)
    for net in ("169.254.0.0/16", "fe80::/10", "224.0.0.0/4", "ff00::/8", "0.0.0.0/8", "::/128", "240.0.0.0/4",
                "fd00:ec2::254/128", "100.100.100.200/32")
]


class NetworkPolicyError(ValueError):
    """The URL or address is outside the allowed networks; the message says why."""


@lru_cache(maxsize=8)
def _allowed(networks):
    return [ipaddress.ip_network(net, strict=False) for net in networks]


@dataclass(frozen=True)
class Policy:
    """Which addresses outbound calls may dial: those in the networks of the setting `setting`, and every
    public (globally routable) address when `public` is true."""

    setting: str
    public: bool = False

    def networks(self):
        return _allowed(tuple(getattr(settings, self.setting)))


GATEWAY_POLICY = Policy("GATEWAY_ALLOWED_NETWORKS")
WEBHOOK_POLICY = Policy("WEBHOOK_ALLOWED_NETWORKS", public=True)
INTEGRATION_POLICY = Policy("INTEGRATION_ALLOWED_NETWORKS", public=True)


def allowed_networks():
    return GATEWAY_POLICY.networks()


def check_address(address, policy=GATEWAY_POLICY):
    """Raise NetworkPolicyError unless the IP `address` is allowed by `policy`; returns the address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _ALWAYS_REFUSED) or ip.is_multicast or ip.is_link_local:
        raise NetworkPolicyError(f"address {ip} is in a network that is never allowed")
    if policy.public and ip.is_global:
        return ip
    if not any(ip in net for net in policy.networks() if net.version == ip.version):
        if policy.public:
            raise NetworkPolicyError(f"address {ip} is not public and is outside {policy.setting}")
        raise NetworkPolicyError(f"address {ip} is outside the allowed networks")
    return ip


def resolve(host, port):
    """All addresses `host` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkPolicyError(f"host '{host}' does not resolve ({exc.strerror})") from None
    except UnicodeError:  # the IDNA codec refuses an empty label ("a..b") or one of 64+ characters
        raise NetworkPolicyError(f"host '{host}' is not a valid host name") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url, policy=GATEWAY_POLICY):
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
        check_address(address, policy)
