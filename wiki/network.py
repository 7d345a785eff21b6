"""Who is asking: the client address that rate limits and login throttling count against.

Behind a reverse proxy every request comes from the proxy's address; with PROXY_FIX_X_FOR set,
werkzeug's ProxyFix (applied in create_app) has already replaced `remote_addr` with the address
the trusted proxy saw, so this module only reads `request.remote_addr`. A client cannot choose
its own address with a forged X-Forwarded-For: ProxyFix takes the value the last trusted proxy
appended, not the first one in the header. With TRUSTED_PROXIES set, ProxyFix applies only to
requests whose peer is one of those proxies (`TrustedProxyFix`): a client that reaches an app
server directly keeps its own address whatever it writes in X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress

from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix


def parse_networks(values) -> list:
    """Addresses or networks ("10.0.0.5", "10.0.0.0/24", "::1") as ip_network objects."""
    if isinstance(values, str):
        values = [part.strip() for part in values.split(",") if part.strip()]
    return [ipaddress.ip_network(value, strict=False) for value in values]


def in_networks(address: str | None, networks: list) -> bool:
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped:
        client = client.ipv4_mapped
    return any(client.version == network.version and client in network for network in networks)


class TrustedProxyFix:
    """werkzeug's ProxyFix (x_for, x_proto=1, x_host=1) for requests from the trusted proxies
    only (every request when none are listed)."""

    def __init__(self, wrapped, x_for: int, trusted) -> None:
        self.wrapped = wrapped
        self.fixed = ProxyFix(wrapped, x_for=x_for, x_proto=1, x_host=1)
        self.trusted = parse_networks(trusted)

    def __call__(self, environ, start_response):
        if not self.trusted or in_networks(environ.get("REMOTE_ADDR"), self.trusted):
            return self.fixed(environ, start_response)
        return self.wrapped(environ, start_response)


def client_address() -> str:
    """The client's address as counted by limits: IPv4 as is, IPv6 by its /64 network (one
    household or phone gets a whole /64, so single IPv6 addresses would be free to change)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
