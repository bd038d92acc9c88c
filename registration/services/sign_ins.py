"""Signing in and out, in the audit trail: who, from where, and failed tries without what was typed."""

from datetime import datetime

from django.db.models import Subquery
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import User
from ratelimits.limits import account_identity
from registration.models import AuditEvent, PortalAccount
from registration.services.audit import audit_record


def sign_in_record(*, user: User, page: str, client_address: str | None, now: datetime | None = None) -> None:
    """Record that `user` signed in on `page` (a URL name such as "portal:sign-in")."""
    _record(AuditEvent.Action.SIGNED_IN, user=user, page=page, client_address=client_address, now=now)


def sign_out_record(
    *, user: User, page: str, why: str, client_address: str | None, now: datetime | None = None
) -> None:
    """Record that `user` signed out: `why` is "asked", or the automatic logoff's "idle" or "total"."""
    _record(
        AuditEvent.Action.SIGNED_OUT, user=user, page=page, client_address=client_address, now=now, why=why
    )


def sign_in_failure_record(
    *, typed: str, page: str, client_address: str | None, now: datetime | None = None
) -> AuditEvent:
    """Record a refused sign-in. Neither the password nor the name typed is kept: an HMAC of the account
    the name means (`account_identity`), so one account's failures can be told apart from another's."""
    identity = salted_hmac("registration.sign_in_failed", account_identity(typed), algorithm="sha256")
    return audit_record(
        action=AuditEvent.Action.SIGN_IN_FAILED,
        at=now or timezone.now(),
        actor=None,
        client_address=client_address,
        details={"page": page, "identity_hmac": identity.hexdigest()},
    )


def _record(action, *, user, page, client_address, now, **details) -> None:
    # One INSERT, the account found inside it: no transaction of its own is needed (the admin's
    # sign-out runs inside the admin view's).
    audit_record(
        action=action,
        at=now or timezone.now(),
        actor=user,
        account_id=Subquery(PortalAccount.objects.filter(user=user).values("pk")),
        client_address=client_address,
        details={"page": page, **details},
    )
