"""Parents' portal accounts: making one as part of a registration, disabling a duplicate, and undoing that."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.sessions import user_sessions_end
from registration.messaging.account_email_requests import parent_email_verification_queue
from registration.models import AuditEvent, Pin, PortalAccess, PortalAccount, SelfRegistrationRequest
from registration.selectors import duplicate_account_reasons, pins_live
from registration.services.audit import audit_record
from registration.services.errors import (
    AccountDisabled,
    AccountNotDisabled,
    DisableReasonRequired,
    EmailInUse,
    KeptAccountNotConfirmed,
    NotSuggestedDuplicates,
    SameAccount,
)
from registration.services.pin_rules import pins_revoke
from registration.statistics.tallies import statuses_refresh


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
    """Create the sign-in user and its portal account, and queue the email that confirms its address,
    sent once the caller's transaction commits; the caller's transaction and audit event cover it."""
    email = User.objects.normalize_email(details.email).strip()
    user = User(
        username=email.lower(), email=email, first_name=details.first_name, last_name=details.last_name
    )
    user.set_password(details.password)
    try:
        with transaction.atomic():  # a savepoint: a racing sign-up with the same email fails cleanly
            user.save()
            account = PortalAccount.objects.create(
                user=user,
                cell_phone=details.cell_phone,
                preferred_language=details.preferred_language,
                created_at=now,
            )
    except IntegrityError as error:  # the email's index, whatever its case: an account has it
        raise EmailInUse() from error
    parent_email_verification_queue(account=account, now=now)
    return account


def portal_account_lock(account: PortalAccount) -> PortalAccount:
    """Lock the account's row for this transaction and refuse a disabled one."""
    locked = PortalAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
    if locked.is_disabled:
        raise AccountDisabled()
    return locked


@dataclass(frozen=True)
class DisablePlan:
    """What disabling `duplicate` and keeping `keep` does: the confirmation page shows it, the service
    does it."""

    duplicate: PortalAccount
    keep: PortalAccount
    suggested_because: list[str]
    moved: list[PortalAccess]  # children the kept account does not see yet
    left: list[PortalAccess]  # children both see: stay behind, inert
    waiting: list[SelfRegistrationRequest]
    live_pins: int  # unused PINs of the contacts the duplicate was registered as, revoked


def account_disable_duplicate_plan(*, duplicate: PortalAccount, keep: PortalAccount) -> DisablePlan:
    """Say what disabling `duplicate` into `keep` would do, or raise the refusal; change nothing.

    Only a pair the duplicates page suggests now (`duplicate_account_reasons`): otherwise an admin could
    move any family's children into any account. The children go only to an account whose owner
    confirmed the email: the other's details may be anyone's typing (a phone typed to pair with a
    family's account).
    """
    if duplicate.pk == keep.pk:
        raise SameAccount()
    if duplicate.is_disabled or keep.is_disabled:
        raise AccountDisabled(
            "One of these accounts is already disabled. Reload the page to see what was done."
        )
    if keep.email_verified_at is None:
        raise KeptAccountNotConfirmed()
    suggested_because = duplicate_account_reasons(duplicate.pk, keep.pk)
    if not suggested_because:
        raise NotSuggestedDuplicates()
    kept_patient_ids = set(keep.accesses.values_list("patient_id", flat=True))
    accesses = list(duplicate.accesses.select_related("patient").order_by("pk"))
    return DisablePlan(
        duplicate=duplicate,
        keep=keep,
        suggested_because=suggested_because,
        moved=[a for a in accesses if a.patient_id not in kept_patient_ids],
        left=[a for a in accesses if a.patient_id in kept_patient_ids],
        waiting=list(
            duplicate.self_registrations.filter(status=SelfRegistrationRequest.Status.AWAITING).order_by("pk")
        ),
        live_pins=pins_live(Pin.objects.filter(contact_id__in={a.contact_id for a in accesses})).count(),
    )


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

    Refused as `account_disable_duplicate_plan` says, and without a reason. The duplicate can no longer
    sign in, and the sessions it is signed in to end. Its accesses and waiting self-registration
    requests move to the kept account (an access to a child the kept account already sees stays behind,
    inert). Live PINs issued to the family contacts it was registered as are revoked, so the duplicate
    cannot be re-created from them. `account_reenable` undoes it. Returns the kept account.
    """
    now = now or timezone.now()
    if not reason.strip():
        raise DisableReasonRequired()
    with transaction.atomic(durable=True):
        # Waiting requests before accounts, the order self_registration_authenticate locks them in.
        list(
            SelfRegistrationRequest.objects.select_for_update()
            .filter(account_id=duplicate.pk, status=SelfRegistrationRequest.Status.AWAITING)
            .values_list("pk", flat=True)
        )
        duplicate, keep = _lock_pair(duplicate.pk, keep.pk)
        # Asked with both accounts locked, so a merge of either cannot change the answer meanwhile.
        plan = account_disable_duplicate_plan(duplicate=duplicate, keep=keep)
        moved = [a.pk for a in plan.moved]
        PortalAccess.objects.filter(pk__in=moved).update(account=keep)
        requests = [r.pk for r in plan.waiting]
        SelfRegistrationRequest.objects.filter(pk__in=requests).update(account=keep)
        revoked = pins_revoke(
            Pin.objects.filter(contact_id__in={a.contact_id for a in plan.moved + plan.left}),
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
        statuses_refresh(access.patient_id for access in plan.moved + plan.left)

        audit_record(
            action=AuditEvent.Action.ACCOUNT_DISABLED,
            at=now,
            actor=by,
            account=duplicate,
            client_address=client_address,
            details={
                "kept_account_id": keep.pk,
                "moved_access_ids": moved,
                "left_access_ids": [a.pk for a in plan.left],
                "moved_request_ids": requests,
                "revoked_pin_ids": revoked,
                "suggested_because": plan.suggested_because,
                "reason": reason.strip(),
            },
        )
    return keep


def _lock_pair(first_id: int, second_id: int) -> tuple[PortalAccount, PortalAccount]:
    # In a fixed order, so that two admins acting on the same pair cannot deadlock.
    locked = {
        a.pk: a
        for a in PortalAccount.objects.select_for_update()
        .select_related("user")
        .filter(pk__in=[first_id, second_id])
        .order_by("pk")
    }
    return locked[first_id], locked[second_id]


@dataclass(frozen=True)
class Reenabled:
    account: PortalAccount
    kept: PortalAccount | None  # the account it had been merged into
    returned: list[PortalAccess]  # children that move back from the kept account
    returned_request_ids: list[int]  # waiting requests that move back


def account_reenable(
    *, account: PortalAccount, by: User, now: datetime | None = None, client_address: str | None = None
) -> Reenabled:
    """Undo `account_disable_duplicate`: the account can sign in again and gets back what was moved.

    The accesses and waiting requests its disable moved to the kept account come back, those still
    there (a request decided since stays where it was decided). PINs it revoked stay revoked: the
    parent signs in instead. Refused when the account is not disabled.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        current = PortalAccount.objects.get(pk=account.pk)
        if not current.is_disabled:
            raise AccountNotDisabled()
        kept_id = current.merged_into_id
        disabled = (
            AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_DISABLED, account_id=account.pk)
            .order_by("-at", "-pk")
            .first()
        )
        moved = disabled.details if disabled else {}
        # Waiting requests before accounts, then both accounts in a fixed order: as disabling does.
        requests = list(
            SelfRegistrationRequest.objects.select_for_update()
            .filter(
                pk__in=moved.get("moved_request_ids", []),
                account_id=kept_id,
                status=SelfRegistrationRequest.Status.AWAITING,
            )
            .values_list("pk", flat=True)
        )
        account, kept = _lock_pair(account.pk, kept_id or account.pk)
        kept = kept if kept_id else None
        if not account.is_disabled or account.merged_into_id != kept_id:
            raise AccountNotDisabled()
        returned = list(
            PortalAccess.objects.filter(pk__in=moved.get("moved_access_ids", []), account_id=kept_id)
            .select_related("patient")
            .order_by("pk")
        )
        PortalAccess.objects.filter(pk__in=[a.pk for a in returned]).update(account=account)
        SelfRegistrationRequest.objects.filter(pk__in=requests).update(account=account)

        account.user.is_active = True
        account.user.save(update_fields=["is_active"])
        disabled_at = account.disabled_at
        account.disabled_at, account.disabled_by, account.merged_into = None, None, None
        account.save(update_fields=["disabled_at", "disabled_by", "merged_into"])
        statuses_refresh(PortalAccess.objects.filter(account=account).values_list("patient_id", flat=True))
        audit_record(
            action=AuditEvent.Action.ACCOUNT_REENABLED,
            at=now,
            actor=by,
            account=account,
            client_address=client_address,
            details={
                "kept_account_id": kept_id,
                "disabled_at": disabled_at.isoformat(),
                "returned_access_ids": [a.pk for a in returned],
                "returned_request_ids": requests,
            },
        )
    return Reenabled(account=account, kept=kept, returned=returned, returned_request_ids=requests)


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
