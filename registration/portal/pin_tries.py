"""The "N tries left" warning on the PIN page, counted by the browser's session rather than read from the PIN.

A wrong date of birth for a live PIN and a PIN that doesn't exist get the same answer, so that no one
can find PINs by trying them; a count read from the PIN row would tell them apart. The session counts
what this browser typed instead: a made-up PIN's count goes down exactly as a real one's. The PIN row's
own count, updated under a lock, stays the one that locks it (and may run out sooner, if the PIN was
also tried elsewhere).
"""

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from registration import pin_codes as codes

SESSION_KEY = "portal_pin_tries"
# A session remembers this many PINs: enough for a parent with several children's slips.
_PINS_REMEMBERED = 10


def _key(typed: str) -> str | None:
    """A short keyed hash of the PIN, never the PIN: 32 bits, so even with the key a stored value
    narrows a PIN down to 2**28 candidates instead of naming it."""
    try:
        parts = codes.pin_parse(typed)
    except codes.PinFormatError:
        return None  # a PIN can't look like this: nothing to count
    return salted_hmac("registration.pin_tries", parts.display, algorithm="sha256").hexdigest()[:8]


def pin_try_failed(session, typed: str) -> int | None:
    """Count a failed try at the typed PIN; return how many it has left, or None if it can't be a PIN."""
    key = _key(typed)
    if key is None:
        return None
    tries = dict(session.get(SESSION_KEY, {}))
    tries[key] = tries.pop(key, 0) + 1
    session[SESSION_KEY] = dict(list(tries.items())[-_PINS_REMEMBERED:])
    return max(settings.PIN_MAX_FAILED_ATTEMPTS - tries[key], 0)


def pin_tries_forget(session, typed: str) -> None:
    tries = session.get(SESSION_KEY)
    if tries and (key := _key(typed)) in tries:
        session[SESSION_KEY] = {k: n for k, n in tries.items() if k != key}


def tries_left_warning(left: int) -> str:
    return ngettext(
        "%(count)s try left before this PIN locks.",
        "%(count)s tries left before this PIN locks.",
        left,
    ) % {"count": left}
