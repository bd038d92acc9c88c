"""Our own proxies (`settings.TRUSTED_PROXIES`), and the client address they forward to us.

X-Forwarded-For and X-Forwarded-Proto are believed only from a peer (REMOTE_ADDR) that is one of them:
a client connecting directly writes whatever it likes there (issue 12, finding 10).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_proxy_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(settings.TRUSTED_PROXIES))


def is_trusted_proxy(address: str | None) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted_proxy_networks())


def forwarded_client(forwarded_for: str, *, proxy: str) -> str | None:
    """The client address our proxies forwarded, the request having come from our proxy `proxy`.

    Each of our proxies appends the address it was connected from. Walked from the right, every entry
    that is one of our proxies was appended by another of ours, and the first that is not is the
    client, as our outermost proxy saw it; anything further left the client wrote itself. Unlike a
    count of proxies (TRUSTED_PROXY_COUNT, before), this holds when some requests take a shorter path
    (a health check, a second balancer). None if that entry is not an address.
    """
    entries = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
    for entry in reversed(entries):
        if not is_trusted_proxy(entry):
            return address_normalized(entry)
    # Our proxies all the way: the request began at one of them (an internal probe, say).
    return address_normalized(entries[0] if entries else proxy)


def address_normalized(text: str | None) -> str | None:
    """`text` as an address in its usual spelling; None if it is not one."""
    parsed = _address(text)
    return str(parsed) if parsed else None


def _address(text: str | None) -> Address | None:
    try:
        parsed = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    # A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
    return getattr(parsed, "ipv4_mapped", None) or parsed


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]):
    try:
        # strict: "10.0.0.7/8" is a typo for an address or a network, not a guess to widen.
        return tuple(ipaddress.ip_network(entry.strip()) for entry in configured)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from, for the audit trail and rate limits.

    From one of our proxies (`TRUSTED_PROXIES`), the client it forwarded in X-Forwarded-For
    (above); from anyone else, the peer itself, whatever X-Forwarded-For it sent.
    """
    peer = request.META.get("REMOTE_ADDR")
    if is_trusted_proxy(peer):
        return forwarded_client(request.META.get("HTTP_X_FORWARDED_FOR", ""), proxy=peer)
    return address_normalized(peer)
