"""Rate limits: sliding windows over tries recorded in the database, which every app process shares.

The limits are data, in `settings.RATE_LIMITS`: for each action, a list of (tries, window in seconds,
counted per), where "address" is the client's address, "account" the account name that was typed,
whether or not such an account exists, and "device" a browser that signed in to that account before
(its device cookie, `ratelimits/devices.py`). A try from such a browser is counted against its device's
limits instead of the account's; any other try, against the account's and not a device's. Keys are HMACs,
so no address, email or cookie is stored.

A try is recorded before it is counted: requests racing past a limit may all be refused, but never
all let through. A refused try is removed again, so waiting out the window is always enough.
"""

import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils.crypto import salted_hmac
from django.utils.timezone import now  # the clock: tests move it instead of sleeping

from ratelimits.models import Hit

SCOPES = ("address", "account", "device")


@dataclass(frozen=True)
class Limit:
    tries: int
    seconds: int
    per: str


class RateLimited(Exception):
    """Too many tries: the next one counts again in `retry_after` seconds."""

    def __init__(self, action: str, retry_after: int):
        super().__init__(f"too many tries at {action}; retry after {retry_after} s")
        self.action = action
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """A try that was within the limits and is now counted."""

    hit_ids: tuple[int, ...]
    forgotten_keys: tuple[str, ...]

    def succeeded(self) -> None:
        """Stop counting this try and the earlier ones of its account or device: for limits that count
        failures.

        The address's tries are not forgotten: otherwise someone guessing at many accounts could reset
        their address's count by signing in to an account of their own.
        """
        Hit.objects.filter(Q(pk__in=self.hit_ids) | Q(key__in=self.forgotten_keys)).delete()


def rate_limit_try(
    action: str, *, address: str | None, account: str | None = None, device: str | None = None
) -> Attempt:
    """Count a try at `action` against its limits; raise `RateLimited` if it would go over one.

    `device` is the nonce of a device cookie the browser holds for `account`: the try then counts
    against the device's limits instead of the account's.
    """
    skipped = "account" if device else "device"
    limits = [limit for limit in action_limits(action) if limit.per != skipped]
    at = now()
    values = {"address": address_bucket(address), "account": account_identity(account), "device": device}
    keys = {per: _key(action, per, values[per]) for per in dict.fromkeys(limit.per for limit in limits)}
    hits = Hit.objects.bulk_create([Hit(key=key, at=at) for key in keys.values()])
    hit_ids = tuple(hit.pk for hit in hits)

    windows = {}
    for i, limit in enumerate(limits):
        within = Q(key=keys[limit.per], at__gt=at - timedelta(seconds=limit.seconds))
        windows |= {f"count{i}": Count("pk", filter=within), f"first{i}": Min("at", filter=within)}
    longest = max(limit.seconds for limit in limits)
    found = Hit.objects.filter(key__in=keys.values(), at__gt=at - timedelta(seconds=longest)).aggregate(
        **windows
    )
    waits = [
        (found[f"first{i}"] + timedelta(seconds=limit.seconds) - at).total_seconds()
        for i, limit in enumerate(limits)
        if found[f"count{i}"] > limit.tries
    ]
    if waits:
        Hit.objects.filter(pk__in=hit_ids).delete()
        raise RateLimited(action, retry_after=max(1, math.ceil(max(waits))))
    forgotten = tuple(key for per, key in keys.items() if per != "address")
    return Attempt(hit_ids=hit_ids, forgotten_keys=forgotten)


def account_identity(typed: str | None) -> str:
    """The account a typed name means, as sign-in finds it: NFKC and case folded (a full-width
    "FrontDesk" is "frontdesk"), so no spelling of one account gets a budget of its own."""
    folded = unicodedata.normalize("NFKC", (typed or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def action_limits(action: str) -> list[Limit]:
    limits = [Limit(*limit) for limit in settings.RATE_LIMITS[action]]
    if not limits or any(limit.per not in SCOPES for limit in limits):
        raise ValueError(f"RATE_LIMITS[{action!r}] needs (tries, seconds, per) with per in {SCOPES}.")
    return limits


def address_bucket(address: str | None) -> str:
    """The address as counted: an IPv6 client counts by its /64, since one subscriber holds all of it."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hits_prune() -> int:
    """Delete tries older than the longest window of any action; return how many."""
    longest = max(limit.seconds for action in settings.RATE_LIMITS for limit in action_limits(action))
    deleted, _ = Hit.objects.filter(at__lte=now() - timedelta(seconds=longest)).delete()
    return deleted


def _key(action: str, per: str, value: str) -> str:
    return salted_hmac("ratelimits.hit", f"{action}\n{per}\n{value}", algorithm="sha256").hexdigest()
