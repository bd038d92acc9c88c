"""Who the parent in this browser is: a signed-in, confirmed parent account, or the unconfirmed account
this browser made."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse_lazy

from registration.models import PortalAccount

# The account this browser made (and chose the password of), not yet confirmed: it may enter a code
# sent to the contact on file, and confirm its email without typing the password again.
MADE_HERE = "portal_account_made_here"


def parent_account(user):
    """The signed-in user's portal account, or None for anyone else (staff, anonymous, disabled, or an
    account whose email is not confirmed: anyone could have made it with someone else's address)."""
    if not user.is_authenticated or not user.is_active:
        return None
    account = getattr(user, "portal_account", None)
    if account is None or account.is_disabled or account.email_verified_at is None:
        return None
    return account


def account_made_here(request):
    """The unconfirmed account this browser made, if any."""
    account_id = request.session.get(MADE_HERE)
    if account_id is None:
        return None
    return (
        PortalAccount.objects.select_related("user")
        .filter(pk=account_id, disabled_at__isnull=True, email_verified_at__isnull=True)
        .first()
    )


def parent_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse_lazy('portal:sign-in')}?next={request.get_full_path()}")
        account = parent_account(request.user)
        unconfirmed = getattr(request.user, "portal_account", None)
        if account is None and unconfirmed is not None and unconfirmed.email_verified_at is None:
            return redirect("portal:sign-up-sent")  # a session from before accounts had to confirm
        if account is None:
            raise PermissionDenied
        return view(request, account, *args, **kwargs)

    return wrapped
