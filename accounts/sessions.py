"""Signed-in sessions: when they end, and ending all of one user's at once.

Each sign-in records in its session when it began, when it was last used, whose it is ("staff" or
"parent", the keys of `settings.SESSION_TIMEOUTS`) and the user's role groups. The session's row names
its user (`accounts.models.Session`), so that disabling an account, or changing its roles, can end its
sessions on every device.
"""

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.models import Session
from accounts.roles import SESSION_ROLES, is_staff_member, role_groups
from accounts.signed_in_cache import users_changed

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

    Call it in the transaction that changes the user: the sessions are deleted in that transaction too.
    """
    return users_sessions_end([user.pk])


def users_sessions_end(user_ids) -> int:
    """End every session of these users (primary keys, or a query of them); return how many."""
    ended = Session.objects.filter(user_id__in=user_ids).delete()[0]
    users_changed()  # what every process kept of them, too
    return ended


@receiver(user_logged_in, dispatch_uid="accounts.session_signed_in")
def session_signed_in(sender, request, user, **kwargs):
    """Start the session's clocks and keep the user's role groups in it."""
    user.__dict__.pop("_role_groups", None)  # read afresh: a user object may outlive a change of groups
    now = clock()
    session = request.session
    session[KIND], session[SIGNED_IN_AT], session[SEEN_AT] = session_kind(user), now, now
    session[SESSION_ROLES] = sorted(role_groups(user))
