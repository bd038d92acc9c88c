"""Who may use the staff site. Roles are groups; a parent belongs to none."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP
from portalreg.practice import practice_details

# The session key holding the user's role groups, written at sign-in (accounts/sessions.py): no request
# reads the groups. Changing them (or is_staff, is_superuser, is_active) ends the user's sessions
# (accounts/role_changes.py), so a session never holds roles its user no longer has.
SESSION_ROLES = "staff_roles"


def user_roles(user) -> frozenset[str]:
    """The user's staff roles: their role groups, and practice admin for a superuser."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    return role_groups(user) | ({ADMIN_GROUP} if user.is_superuser else frozenset())


def role_groups(user) -> frozenset[str]:
    """The role groups the user is in: as the session holds them, else read once and kept on the user."""
    if not hasattr(user, "_role_groups"):
        user._role_groups = frozenset(
            user.groups.filter(name__in=(FRONT_DESK_GROUP, ADMIN_GROUP)).values_list("name", flat=True)
        )
    return user._role_groups


def role_groups_from_session(user, session) -> None:
    """Take the user's role groups from their session, if it holds them."""
    if SESSION_ROLES in session:
        user._role_groups = frozenset(session[SESSION_ROLES])


def is_staff_member(user) -> bool:
    return bool(user_roles(user))


def is_practice_admin(user) -> bool:
    return ADMIN_GROUP in user_roles(user)


def _role_required(test):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.STAFF_LOGIN_URL)
            if not test(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_member_required = _role_required(is_staff_member)
practice_admin_required = _role_required(is_practice_admin)


# Which navigation entry each staff page belongs to.
NAV_SECTIONS = {
    "dashboard": "dashboard",
    "statistics": "statistics",
    "access-changes": "access-changes",
    "register-all": "dashboard",
    "register-all-run": "dashboard",
    "register-all-progress": "dashboard",
    "self-registrations": "requests",
    "reconcile": "requests",
    "authenticate": "requests",
    "decline": "requests",
    "patient-search": "patients",
    "patient-chart": "patients",
    "appointment": "patients",
    "welcome-send": "patients",
    "welcome-message": "patients",
    "welcome-resend": "patients",
    "pin-generate": "patients",
    "duplicates": "duplicates",
    "disable-duplicate": "duplicates",
    "audit": "audit",
    "import": "import",
    "import-help": "import",
    "import-run": "import",
    "import-progress": "import",
    "import-confirm": "import",
    "feed": "feed",
    "feed-message": "feed",
}


def staff_context(request):
    """Template context for the staff navigation."""
    match = getattr(request, "resolver_match", None)
    section = NAV_SECTIONS.get(match.url_name) if match and match.namespace == "staff" else None
    # A callable: asked only on pages that draw the staff navigation (a session without its roles,
    # signed in before they were kept, reads the groups then).
    return {
        "is_practice_admin": lambda: is_practice_admin(request.user),
        **practice_details(),
        "nav_section": section,
    }
