"""Where outbound calls may go: https only, no credentials in the URL, no internal addresses.

A base URL (of a Raptor Maps integration or a WattCarbon account) and the signed URL Raptor Maps
hands out are typed or sent by someone else; followed blindly they would make the workers call
the cloud metadata service (169.254.169.254), a database on the private network or the machine
itself. The rules, checked when a URL is saved and again for every connection:

- the scheme is ``https``; ``http`` only for a host in ``OUTBOUND_ALLOW_HOSTS``;
- no ``user:password@`` in the URL;
- the host is not, and does not resolve to, a loopback, private, link-local, multicast,
  reserved, unspecified or otherwise non-global address (IPv4, IPv6, IPv4-mapped IPv6, and
  the decimal or octal spellings ``inet_aton`` accepts, such as ``2130706433``).

A host named in ``OUTBOUND_ALLOW_HOSTS`` (the sandbox and the tests: ``127.0.0.1,localhost``) is
let through as it is written in the URL; a name that merely resolves to an allowed address is not.
The connection-time check is in uploads/outbound/transport.py: it connects to the addresses checked here,
so a name that resolves differently the second time (DNS rebinding) gains nothing.
"""

import contextlib
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

__all__ = [
    "OutboundGuard",
    "OutboundRefused",
    "address_problem",
    "system_resolver",
    "validate_outbound_base_url",
]

DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundRefused(Exception):
    """A URL or an address the outbound rules do not allow; raised before any connection is made.

    Deliberately not an OSError: the HTTP libraries let it through unchanged, and it is never retried.
    """


def system_resolver(host, port):
    """Every address ``host`` resolves to (IPv4 and IPv6), as strings, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_problem(address):
    """Why ``address`` (an IP address, as text or object) may not be called, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if ip.version == 6:
        # ::ffff:127.0.0.1 reaches 127.0.0.1; 6to4 and Teredo embed an IPv4 address too.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            problem = address_problem(embedded)
            if problem:
                return problem
    for name, test in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if test:
            return f"{'an' if name[0] in 'aeiou' else 'a'} {name} address"
    if not ip.is_global:
        return "not a public address"
    return None


def _literal_address(host):
    """The IP address ``host`` spells, however it spells it (``[::1]``, ``2130706433``, ``0177.1``), or None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        # What the system resolver does with numeric IPv4 forms: decimal, octal, hex, short.
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, UnicodeError):
        return None


@dataclass(frozen=True)
class OutboundGuard:
    """The outbound rules with their allow-list; ``resolver(host, port)`` returns the addresses to check.

    ``resolver`` is a hook for tests (a name they control); production uses the system resolver.
    """

    allow_hosts: frozenset = frozenset()
    resolver: Callable = field(default=system_resolver, compare=False)

    @classmethod
    def from_settings(cls, resolver=None):
        hosts = frozenset(host.strip().strip("[]").lower() for host in settings.OUTBOUND_ALLOW_HOSTS if host.strip())
        return cls(allow_hosts=hosts, resolver=resolver or system_resolver)

    def is_allowed_host(self, host):
        return (host or "").lower() in self.allow_hosts

    def check_url(self, url, what="URL"):
        """(scheme, host, port) of ``url`` when its form is allowed; OutboundRefused naming the rule otherwise.

        Checks the scheme, credentials and a literal address; names are checked by ``addresses``.
        The message never repeats the URL's query (a signed URL's query is its credential).
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise OutboundRefused(f"the {what} is not a valid URL ({exc}).") from None
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in DEFAULT_PORTS or not host:
            raise OutboundRefused(f"the {what} must be an https:// URL with a host name.")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise OutboundRefused(f"the {what} may not carry a user name or password (user:password@host).")
        allowed = self.is_allowed_host(host)
        if scheme != "https" and not allowed:
            raise OutboundRefused(
                f"the {what} must use https, not {scheme} (http is allowed only for the hosts in OUTBOUND_ALLOW_HOSTS)."
            )
        literal = _literal_address(host)
        if literal is not None and not allowed:
            problem = address_problem(literal)
            if problem:
                raise OutboundRefused(
                    f"the {what}'s host {host} is {problem} ({literal}); only public hosts are called."
                )
        return scheme, host, port or DEFAULT_PORTS[scheme]

    def addresses(self, host, port):
        """The addresses to connect to for ``host``, every one of them checked; OutboundRefused otherwise.

        An allowed host is resolved but not checked. A name is refused when any of its addresses
        is internal (one bad answer among good ones is still an attempt to reach inside).
        """
        literal = _literal_address(host)
        found = [literal] if literal is not None else self.resolver(host, port)
        if self.is_allowed_host(host):
            return found
        for address in found:
            problem = address_problem(address)
            if problem:
                raise OutboundRefused(f"{host} resolves to {address}, {problem}; only public hosts are called.")
        return found


def validate_outbound_base_url(url):
    """Model validator of a base URL: the outbound rules, the name resolved now if it resolves.

    A name that does not resolve today is accepted (it may tomorrow); every connection checks
    its addresses again (uploads/outbound/transport.py).
    """
    guard = OutboundGuard.from_settings()
    try:
        _, host, port = guard.check_url(url, what="base URL")
        if _literal_address(host) is None:
            # A name that does not resolve now is checked again at every connection.
            with contextlib.suppress(OSError, UnicodeError):
                guard.addresses(host, port)
    except OutboundRefused as exc:
        raise ValidationError(_sentence(str(exc)), code="outbound_refused") from None


def _sentence(text):
    return text[:1].upper() + text[1:]
