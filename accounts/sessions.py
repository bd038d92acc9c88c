"""Signed-in sessions: when they end, and ending all of one user's at once.

Each sign-in records in its session when it began, when it was last used and whose it is ("staff" or
"parent", the keys of `settings.SESSION_TIMEOUTS`), and records its key in `UserSession`, so that
disabling an account can end its sessions on every device.
"""

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import UserSession
from accounts.roles import is_staff_member

KIND = "session_kind"
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# Set on the request by the automatic logoff before it signs the session out: "idle" or "total".
SIGNED_OUT_BECAUSE = "signed_out_because"
# Activity is written back at most once a minute: writing it on every request would add a query to each.
SEEN_RESOLUTION = 60


def clock() -> int:
    return int(time.time())


def session_kind(user) -> str:
    return "staff" if user.is_staff or is_staff_member(user) else "parent"


def session_ended(session, now: int) -> str | None:
    """Why a signed-in session has ended ("idle" or "total"), or None while it lasts.

    A session signed in before these times were recorded has ended: it is asked to sign in again.
    """
    limits = settings.SESSION_TIMEOUTS[session.get(KIND, "parent")]
    if now - session.get(SEEN_AT, 0) > limits["idle"]:
        return "idle"
    if now - session.get(SIGNED_IN_AT, 0) > limits["total"]:
        return "total"
    return None


def session_seen(session, now: int) -> None:
    """Record activity, if the last record is a minute old."""
    if now - session.get(SEEN_AT, 0) >= SEEN_RESOLUTION:
        session[SEEN_AT] = now


def user_sessions_end(user) -> int:
    """End every session the user is signed in to; return how many there were.

    Call it in the transaction that disables the user: with the database session store the sessions
    are deleted in that transaction too. A session whose key changed without a sign-in (a password
    change) is not recorded; it is refused all the same, as Django signs no inactive user in.
    """
    store = _session_store()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store().delete(key)
    UserSession.objects.filter(user=user).delete()
    return len(keys)


@receiver(user_logged_in, dispatch_uid="accounts.session_signed_in")
def session_signed_in(sender, request, user, **kwargs):
    """Start the session's clocks and record its key."""
    now = clock()
    session = request.session
    session[KIND], session[SIGNED_IN_AT], session[SEEN_AT] = session_kind(user), now, now
    if session.session_key is None:
        session.save()
    _sessions_forget_ended(user)
    UserSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user": user, "signed_in_at": timezone.now()}
    )


@receiver(user_logged_out, dispatch_uid="accounts.session_signed_out")
def session_signed_out(sender, request, user, **kwargs):
    if request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def _sessions_forget_ended(user) -> None:
    """Drop the records of the user's sessions that ended without signing out (expired, cleared)."""
    store = _session_store()
    keys = UserSession.objects.filter(user=user).values_list("session_key", flat=True)
    UserSession.objects.filter(session_key__in=[key for key in keys if not store().exists(key)]).delete()


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore
