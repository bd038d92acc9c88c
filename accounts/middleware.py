from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.utils.translation import gettext as _

from accounts.sessions import KIND, SIGNED_OUT_BECAUSE, clock, session_ended, session_seen


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
