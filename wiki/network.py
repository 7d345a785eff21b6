"""Who is asking: the client address that rate limits and login throttling count against.

Behind a reverse proxy every request comes from the proxy's address; with PROXY_FIX_X_FOR set,
werkzeug's ProxyFix (applied in create_app) has already replaced `remote_addr` with the address
the trusted proxy saw, so this module only reads `request.remote_addr`. A client cannot choose
its own address with a forged X-Forwarded-For: ProxyFix takes the value the last trusted proxy
appended, not the first one in the header.
"""

from __future__ import annotations

import ipaddress

from flask import request


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
