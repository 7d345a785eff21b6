"""Where alerts may go: e-mail addresses, phone numbers, and webhook URLs that cannot be turned
against the app's own network (server-side request forgery).

A webhook's host is resolved, and every address it resolves to must be public: not loopback,
link-local (169.254.x.x holds cloud metadata services), private, shared, multicast, reserved
or unspecified, and the host must not be the app's own (BASE_URL, SERVER_NAME). Hosts and
networks listed in ALERT_WEBHOOK_ALLOWED_HOSTS are exempt (an internal tool that should get
alerts; the tests' receiver on loopback). The check runs when the subscription is saved and
again before every delivery, and the connection goes to the address that was checked, so a
name that resolves elsewhere later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from ..auth.accounts import validate_email
from ..errors import InvalidInput

PHONE = re.compile(r"\+[1-9][0-9]{7,14}")  # E.164
MAX_URL = 500


def clean_email(value) -> str:
    if not isinstance(value, str):
        raise InvalidInput(_("The e-mail address must be text."), field="deliver")
    try:
        email = validate_email(value)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="deliver") from None
    if email is None:
        raise InvalidInput(_("Give an e-mail address."), field="deliver")
    return email


def clean_phone(value) -> str:
    number = re.sub(r"[\s().-]", "", value) if isinstance(value, str) else ""
    if not PHONE.fullmatch(number):
        raise InvalidInput(
            _("The phone number must be in international form: + and the country code, e.g. +50937000000."),
            field="deliver",
        )
    return number


@dataclass(frozen=True)
class Target:
    """A webhook URL and the address checked for it."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _allowed_entries() -> list:
    entries = []
    for raw in current_app.config["ALERT_WEBHOOK_ALLOWED_HOSTS"]:
        try:
            entries.append(ipaddress.ip_network(raw, strict=False))
        except ValueError:
            entries.append(str(raw).lower())
    return entries


def _own_hosts() -> set[str]:
    hosts = set()
    for value in (current_app.config["BASE_URL"], current_app.config.get("SERVER_NAME") or ""):
        if value:
            host = urlsplit(value if "//" in value else f"//{value}").hostname
            if host:
                hosts.add(host.lower())
    return hosts


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
    except (OSError, UnicodeError):
        return []


def check_webhook(url) -> Target:
    """The URL's target, or InvalidInput (422) saying why alerts may not be sent there."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(_("Give the webhook's URL."), field="deliver")
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(_("A webhook must be an http:// or https:// URL."), field="deliver")
    if parts.username or parts.password:
        raise InvalidInput(_("A webhook URL must not hold a user name or password."), field="deliver")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(_("A webhook must be an http:// or https:// URL."), field="deliver") from None
    host = parts.hostname.lower()
    refused = InvalidInput(
        _("Alerts cannot be sent to %(host)s: it is this site or an internal address.", host=host), field="deliver"
    )
    allowed = _allowed_entries()
    host_allowed = host in [entry for entry in allowed if isinstance(entry, str)]
    if host in _own_hosts() and not host_allowed:
        raise refused
    addresses = _resolve(host, port)
    if not addresses:
        raise InvalidInput(_("The webhook's host %(host)s cannot be found.", host=host), field="deliver")
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%")[0])
        exempt = host_allowed or any(
            not isinstance(entry, str) and address.version == entry.version and address in entry for entry in allowed
        )
        if not exempt and not _public(address):
            raise refused
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to the checked address; the HTTP status (redirects are not followed)."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        return response.status
    finally:
        connection.close()
