"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

A browser that signs in to an account is given a signed cookie naming that account; its later sign-in
tries for the account count against a budget of the cookie's own (`RATE_LIMITS["sign_in"]`'s "device"
limits), not the account's. Someone guessing from elsewhere then locks the account for every browser
but those its owner signed in on, and a cookie that fails too often is locked out by itself.

The cookie names each of the last few accounts signed in on the browser (a front-desk computer is
shared) by an HMAC of the account's identity, with a random nonce that keys the device's budget: it
holds no username or email, and without the secret key no cookie can be made or changed.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from ratelimits.limits import account_identity

SALT = "ratelimits.devices"
MAX_AGE = 365 * 24 * 60 * 60
ACCOUNTS_PER_BROWSER = 5


def device_nonce(request: HttpRequest, account: str | None) -> str | None:
    """The nonce of the browser's device cookie for the typed `account`; None if it holds no valid one."""
    identity = _identity(account)
    return next((nonce for named, nonce in _entries(request) if named == identity), None)


def device_cookie_set(response: HttpResponse, request: HttpRequest, *, account: str) -> None:
    """Mark the browser as one that signed in to `account`, with a new nonce; keep the other accounts
    it signed in to, the most recent first."""
    identity = _identity(account)
    entries = [[identity, secrets.token_urlsafe(16)]]
    entries += [entry for entry in _entries(request) if entry[0] != identity]
    response.set_cookie(
        settings.DEVICE_COOKIE_NAME,
        signing.dumps(entries[:ACCOUNTS_PER_BROWSER], salt=SALT),
        max_age=MAX_AGE,
        secure=settings.DEVICE_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _entries(request: HttpRequest) -> list[list[str]]:
    value = request.COOKIES.get(settings.DEVICE_COOKIE_NAME)
    if not value:
        return []
    try:
        entries = signing.loads(value, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # forged, changed, or older than a year
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, list) and len(entry) == 2]


def _identity(account: str | None) -> str:
    # 128 bits of the HMAC: the cookie is signed as a whole, so this only has to tell accounts apart.
    return salted_hmac(SALT, account_identity(account), algorithm="sha256").hexdigest()[:32]
