"""Django's sign-in signals, written to the audit trail: staff, parents and the Django admin alike.

Each sign-in page goes through `authenticate()` and `login()`, which send these signals; so do the
portal pages that sign a parent in after a PIN or an email link, and the automatic logoff.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from accounts.sessions import SIGNED_OUT_BECAUSE
from portalreg.proxies import client_address
from registration.services import sign_ins


def _page(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else ""


def signed_in(sender, request, user, **kwargs):
    sign_ins.sign_in_record(user=user, page=_page(request), client_address=client_address(request))


def signed_out(sender, request, user, **kwargs):
    if user is None:  # signing out a browser that was not signed in
        return
    sign_ins.sign_out_record(
        user=user,
        page=_page(request),
        why=getattr(request, SIGNED_OUT_BECAUSE, "asked"),
        client_address=client_address(request),
    )


def sign_in_failed(sender, credentials, request=None, **kwargs):
    if request is None:  # authenticate() called outside a request, e.g. by a script: nobody to record
        return
    typed = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    sign_ins.sign_in_failure_record(typed=typed, page=_page(request), client_address=client_address(request))


def connect() -> None:
    """Audit every sign-in, sign-out and failed sign-in (called by `RegistrationConfig.ready`)."""
    user_logged_in.connect(signed_in, dispatch_uid="registration.audit_signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="registration.audit_signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="registration.audit_sign_in_failed")
