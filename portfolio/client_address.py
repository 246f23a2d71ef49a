"""The address a request came from, for the login lockout and the audit trail.

By default it is the TCP peer (``REMOTE_ADDR``): a header such as ``X-Forwarded-For`` is
written by whoever sends the request, so trusting it would let anyone pick the address their
failed logins count against. Behind reverse proxies, ``TRUSTED_PROXY_COUNT`` says how many of
ours stand in front of the app; each appends the address it received the connection from to
``X-Forwarded-For``, so the entry that many places from the right is the one the outermost of
our proxies saw, and what a client put further left is ignored.
"""

from django.conf import settings

__all__ = ["client_address"]


def client_address(request):
    """The client's IP address as text (``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` is set)."""
    peer = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if not proxies:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        # The request did not pass through every proxy we expect: only the peer is known.
        return peer
    return _without_port(forwarded[-proxies])


def _without_port(address):
    if address.startswith("["):  # [IPv6]:port
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:  # IPv4:port
        return address.split(":", 1)[0]
    return address
