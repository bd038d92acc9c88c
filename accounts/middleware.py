from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth import middleware as auth_middleware
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from accounts.backends import user_read_with_session
from accounts.roles import role_groups_from_session
from accounts.sessions import KIND, SIGNED_OUT_BECAUSE, clock, session_ended, session_seen


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with the user read in the session's query (`accounts.session_store`) and the roles
    taken from the session: a signed-in request reads one row where it read three tables.

    Django's own checks still decide: the session's password hash, the backend, an inactive user.
    """

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: signed_in_user(request))


def signed_in_user(request):
    """The request's user (anonymous if none), checked by Django's `get_user()`."""
    if not hasattr(request, "_cached_user"):
        session = request.session
        session.get(SESSION_KEY)  # reads the session row, and its user, if not read yet
        with user_read_with_session(getattr(session, "signed_in_user", None)):
            user = auth.get_user(request)
        if user.is_authenticated:
            role_groups_from_session(user, session)
        request._cached_user = user
    return request._cached_user


class SessionTimeoutMiddleware:
    """Sign out a session left idle or open too long (`settings.SESSION_TIMEOUTS`): automatic logoff.

    It reads only the session, which a signed-in request loads anyway, and writes the time of activity
    back at most once a minute, so it adds no query to a page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session:
            now = clock()
            ended = session_ended(session, now)
            if ended:
                kind = session.get(KIND, "parent")
                setattr(request, SIGNED_OUT_BECAUSE, ended)  # for the audit trail's sign-out event
                logout(request)
                messages.info(request, _signed_out_message(kind, ended))
            else:
                session_seen(session, now)
        return self.get_response(request)


def _signed_out_message(kind: str, ended: str) -> str:
    limits = settings.SESSION_TIMEOUTS[kind]
    if kind == "staff":  # the staff site is in English
        if ended == "total":
            return f"You were signed out {limits['total'] // 3600} hours after signing in. Sign in again."
        return f"You were signed out after {limits['idle'] // 60} minutes without activity. Sign in again."
    if ended == "total":
        return _("You were signed out %(hours)d hours after signing in. Sign in again.") % {
            "hours": limits["total"] // 3600
        }
    return _("You were signed out after %(minutes)d minutes without activity. Sign in again.") % {
        "minutes": limits["idle"] // 60
    }
