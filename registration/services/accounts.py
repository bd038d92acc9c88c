"""Parents' portal accounts: making one as part of a registration, and disabling a duplicate."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.sessions import user_sessions_end
from registration.models import AuditEvent, Pin, PortalAccess, PortalAccount, SelfRegistrationRequest
from registration.selectors import duplicate_account_reasons

from .audit import audit_record
from .errors import (
    AccountDisabled,
    DisableReasonRequired,
    EmailInUse,
    KeptAccountNotConfirmed,
    NotSuggestedDuplicates,
    SameAccount,
)
from .pin_rules import pins_revoke


@dataclass(frozen=True)
class NewAccount:
    """What a parent gives to make an account. The password is checked for strength by the form."""

    email: str
    password: str
    first_name: str
    last_name: str
    cell_phone: str = ""  # E.164, already validated
    preferred_language: str = "en"


def portal_account_make(*, details: NewAccount, now: datetime) -> PortalAccount:
    """Create the sign-in user and its portal account; the caller's transaction and audit event cover it."""
    email = User.objects.normalize_email(details.email).strip()
    if User.objects.filter(email__iexact=email).exists():
        raise EmailInUse()
    user = User(
        username=email.lower(), email=email, first_name=details.first_name, last_name=details.last_name
    )
    user.set_password(details.password)
    try:
        with transaction.atomic():  # a savepoint: a racing sign-up with the same email fails cleanly
            user.save()
            return PortalAccount.objects.create(
                user=user,
                cell_phone=details.cell_phone,
                preferred_language=details.preferred_language,
                created_at=now,
            )
    except IntegrityError as error:
        raise EmailInUse() from error


def portal_account_lock(account: PortalAccount) -> PortalAccount:
    """Lock the account's row for this transaction and refuse a disabled one."""
    locked = PortalAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
    if locked.is_disabled:
        raise AccountDisabled()
    return locked


def account_disable_duplicate(
    *,
    duplicate: PortalAccount,
    keep: PortalAccount,
    by: User,
    reason: str,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PortalAccount:
    """Disable a parent's duplicate account and move what it could see to the account they keep.

    Only a pair the duplicates page suggests now (`duplicate_account_reasons`), and only with a reason:
    otherwise an admin could move any family's children into any account. The duplicate can no longer
    sign in, and the sessions it is signed in to end. Its accesses and waiting self-registration
    requests move to the kept account (an access to a child the kept account already sees stays behind,
    inert). Live PINs issued to the family contacts it was registered as are revoked, so the duplicate
    cannot be re-created from them. Returns the kept account.
    """
    now = now or timezone.now()
    if duplicate.pk == keep.pk:
        raise SameAccount()
    if not reason.strip():
        raise DisableReasonRequired()
    with transaction.atomic(durable=True):
        # Waiting requests before accounts, the order self_registration_authenticate locks them in.
        list(
            SelfRegistrationRequest.objects.select_for_update()
            .filter(account_id=duplicate.pk, status=SelfRegistrationRequest.Status.AWAITING)
            .values_list("pk", flat=True)
        )
        # Lock both in a fixed order so two admins merging the same pair cannot deadlock.
        locked = {
            a.pk: a
            for a in PortalAccount.objects.select_for_update()
            .select_related("user")
            .filter(pk__in=[duplicate.pk, keep.pk])
            .order_by("pk")
        }
        duplicate, keep = locked[duplicate.pk], locked[keep.pk]
        if duplicate.is_disabled or keep.is_disabled:
            raise AccountDisabled(
                "One of these accounts is already disabled. Reload the page to see what was done."
            )
        if keep.email_verified_at is None:
            # Its details are anyone's typing (a phone typed to pair with a family's account): the
            # children go only to an account whose owner confirmed the email.
            raise KeptAccountNotConfirmed()
        # Asked with both accounts locked, so a merge of either cannot change the answer meanwhile.
        suggested_because = duplicate_account_reasons(duplicate.pk, keep.pk)
        if not suggested_because:
            raise NotSuggestedDuplicates()

        kept_patient_ids = set(keep.accesses.values_list("patient_id", flat=True))
        accesses = list(duplicate.accesses.all())
        moved = [a.pk for a in accesses if a.patient_id not in kept_patient_ids]
        PortalAccess.objects.filter(pk__in=moved).update(account=keep)
        requests = list(
            duplicate.self_registrations.filter(status=SelfRegistrationRequest.Status.AWAITING).values_list(
                "pk", flat=True
            )
        )
        SelfRegistrationRequest.objects.filter(pk__in=requests).update(account=keep)
        revoked = pins_revoke(
            Pin.objects.filter(contact_id__in={a.contact_id for a in accesses}),
            reason=Pin.EndReason.ACCOUNT_DISABLED,
            now=now,
        )

        duplicate.user.is_active = False
        duplicate.user.save(update_fields=["is_active"])
        user_sessions_end(duplicate.user)
        duplicate.disabled_at = now
        duplicate.disabled_by = by
        duplicate.merged_into = keep
        duplicate.save(update_fields=["disabled_at", "disabled_by", "merged_into"])

        audit_record(
            action=AuditEvent.Action.ACCOUNT_DISABLED,
            at=now,
            actor=by,
            account=duplicate,
            client_address=client_address,
            details={
                "kept_account_id": keep.pk,
                "moved_access_ids": moved,
                "left_access_ids": [a.pk for a in accesses if a.pk not in moved],
                "moved_request_ids": requests,
                "revoked_pin_ids": revoked,
                "suggested_because": suggested_because,
                "reason": reason.strip(),
            },
        )
    return keep


def portal_account_verify_email(
    *, account: PortalAccount, now: datetime | None = None, client_address: str | None = None
) -> PortalAccount:
    """Record that the parent followed the link sent to their email address."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        account = PortalAccount.objects.select_for_update().get(pk=account.pk)
        if account.email_verified_at is None:
            account.email_verified_at = now
            account.save(update_fields=["email_verified_at"])
            audit_record(
                action=AuditEvent.Action.EMAIL_VERIFIED,
                at=now,
                actor=account.user,
                account=account,
                client_address=client_address,
            )
    return account
