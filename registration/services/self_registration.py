"""Path 4: a parent signs up without a PIN; the practice authenticates or declines each request."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from patients.models import FamilyContact, Patient, PatientContact
from registration.messaging.tasks import send_enrollment_codes
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    RegistrationPath,
    SelfRegistrationRequest,
)
from registration.services.access_rules import access_grant_check, access_make
from registration.services.accounts import NewAccount, portal_account_lock, portal_account_make
from registration.services.audit import audit_record
from registration.services.errors import (
    AccountDisabled,
    AccountNotConfirmed,
    AlreadyRegistered,
    ContactHasNoAccount,
    ContactHasTwoAccounts,
    ContactNotOnChart,
    DeclineNoteRequired,
    InvalidChild,
    ReasonRequired,
    RegistrationError,
    RequestAlreadyDecided,
    RequestAlreadyWaiting,
    RequestAskedAgain,
    RequestNotDeclined,
)
from registration.services.invitation_rules import patient_lock_invitable
from registration.services.pin_rules import pins_revoke


@dataclass(frozen=True)
class ChildDetails:
    first_name: str
    last_name: str
    date_of_birth: date


def self_registration_submit(
    *,
    children: Sequence[ChildDetails],
    account: PortalAccount | None = None,
    new_account: NewAccount | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> list[SelfRegistrationRequest]:
    """Ask the practice to let an account see each named child. The account sees nothing until then.

    Give either an existing `account` or a `new_account` to create with the requests.
    """
    if (account is None) == (new_account is None):
        raise ValueError("Give exactly one of account and new_account.")
    now = now or timezone.now()
    children = [ChildDetails(c.first_name.strip(), c.last_name.strip(), c.date_of_birth) for c in children]
    today = timezone.localdate(now)  # the practice's day, not UTC's
    if not children or any(not c.first_name or not c.last_name or c.date_of_birth > today for c in children):
        raise InvalidChild()
    named = {(c.first_name.casefold(), c.last_name.casefold(), c.date_of_birth) for c in children}
    if len(named) < len(children):
        raise InvalidChild(_("Each child is named once. Remove the repeated child and send again."))
    with transaction.atomic(durable=True):
        created = account is None
        account = (
            portal_account_make(details=new_account, now=now) if created else portal_account_lock(account)
        )
        for child in children:
            if account.self_registrations.filter(
                status=SelfRegistrationRequest.Status.AWAITING,
                child_first_name__iexact=child.first_name,
                child_last_name__iexact=child.last_name,
                child_date_of_birth=child.date_of_birth,
            ).exists():
                raise RequestAlreadyWaiting(
                    _("You have already asked to see %(name)s. The practice will verify it soon.")
                    % {"name": child.first_name}
                )
        user = account.user
        requests = SelfRegistrationRequest.objects.bulk_create(
            SelfRegistrationRequest(
                account=account,
                child_first_name=child.first_name,
                child_last_name=child.last_name,
                child_date_of_birth=child.date_of_birth,
                parent_first_name=user.first_name,
                parent_last_name=user.last_name,
                parent_email=user.email,
                parent_cell_phone=account.cell_phone,
                submitted_at=now,
            )
            for child in children
        )
        audit_record(
            action=AuditEvent.Action.SELF_REGISTRATION_SUBMITTED,
            at=now,
            actor=user,
            path=RegistrationPath.SELF_REGISTRATION,
            account=account,
            client_address=client_address,
            details={"request_ids": [r.pk for r in requests], "account_created": created},
        )
        transaction.on_commit(partial(_enrollment_codes_enqueue, account.pk))
    return requests


def _enrollment_codes_enqueue(account_id: int) -> None:
    send_enrollment_codes.enqueue(account_id)


def self_registration_authenticate(
    *,
    request: SelfRegistrationRequest,
    patient: Patient,
    by: User,
    contact: FamilyContact | None = None,
    new_contact_relationship: PatientContact.Relationship | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PortalAccess:
    """Let the request's account see `patient` as `contact`, who becomes Registered.

    Pass the chart's `contact`, or a `new_contact_relationship` to add the parent to the chart from the
    details they typed. Unused PINs for the same patient and contact are revoked: redeeming one would
    give the parent a second account. A deceased child or an inactive chart is refused with
    `PatientNotInvitable`: decline the request instead.
    """
    if (contact is None) == (new_contact_relationship is None):
        raise ValueError("Give exactly one of contact and new_contact_relationship.")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        request = _request_lock_awaiting(request)
        account = portal_account_lock(request.account)
        if account.email_verified_at is None:
            # Until then the account cannot sign in, and its details are anyone's typing.
            raise AccountNotConfirmed()
        patient_lock_invitable(patient)  # before the chart gains a contact or anyone gains access
        contact_created = contact is None
        if contact_created:
            if new_contact_relationship not in PatientContact.Relationship.values or (
                new_contact_relationship == PatientContact.Relationship.SELF
            ):
                raise RegistrationError("Choose how the parent is related to the patient.")
            contact = FamilyContact.objects.create(
                first_name=request.parent_first_name,
                last_name=request.parent_last_name,
                email=request.parent_email,
                cell_phone=request.parent_cell_phone,
                preferred_language=account.preferred_language,
            )
            PatientContact.objects.create(
                patient=patient, contact=contact, relationship=new_contact_relationship
            )
        elif not PatientContact.objects.filter(patient=patient, contact=contact).exists():
            raise ContactNotOnChart()

        return _request_grant(
            request,
            account=account,
            patient=patient,
            contact=contact,
            by=by,
            now=now,
            client_address=client_address,
            details={"contact_created": contact_created},
        )


def _request_grant(
    request: SelfRegistrationRequest,
    *,
    account: PortalAccount,
    patient: Patient,
    contact: FamilyContact,
    by: User,
    now: datetime,
    client_address: str | None,
    details: dict,
) -> PortalAccess:
    """Let `account` see `patient` as `contact`, settle the request with that access, and audit it.

    Unused PINs for the same patient and contact are revoked: redeeming one would give the parent a
    second account.
    """
    link = PatientContact.objects.select_related("contact").get(patient=patient, contact=contact)
    access_grant_check(
        patient=patient,
        link=link,
        day=timezone.localdate(now),
        emails=[account.user.email, request.parent_email],
        phones=[account.cell_phone, request.parent_cell_phone],
        names=[(request.parent_first_name, request.parent_last_name)],
        account=account,
    )
    access = PortalAccess.objects.filter(account=account, patient=patient).first()
    if access is None:
        path = RegistrationPath.SELF_REGISTRATION
        access = access_make(account=account, patient=patient, contact_id=contact.pk, path=path, now=now)
    revoked = pins_revoke(
        Pin.objects.filter(patient=patient, contact=contact), reason=Pin.EndReason.AUTHENTICATED, now=now
    )
    request.status = SelfRegistrationRequest.Status.AUTHENTICATED
    request.decided_by, request.decided_at, request.access = by, now, access
    request.save(update_fields=["status", "decided_by", "decided_at", "access"])
    audit_record(
        action=AuditEvent.Action.SELF_REGISTRATION_AUTHENTICATED,
        at=now,
        actor=by,
        path=RegistrationPath.SELF_REGISTRATION,
        patient=patient,
        contact=contact,
        account=account,
        client_address=client_address,
        details={"request_id": request.pk, "access_id": access.pk, **details, "revoked_pin_ids": revoked},
    )
    return access


def self_registration_add_to_existing_account(
    *,
    request: SelfRegistrationRequest,
    patient: Patient,
    contact: FamilyContact,
    by: User,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PortalAccess:
    """Let the account `contact` already signs in with see `patient`, and settle the request with it.

    For a parent who signed up again instead of signing in: authenticating the request would give them
    a second account for an admin to disable. The request's own account gains nothing; its portal names
    the account to use. Refused when the contact has no enabled account but the request's (authenticate
    instead), more than one (a duplicate to settle first), or that account already sees the child.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        request = _request_lock_awaiting(request)
        others = set(
            PortalAccess.objects.filter(contact=contact, account__disabled_at__isnull=True)
            .exclude(account_id=request.account_id)
            .values_list("account_id", flat=True)
        )
        if not others:
            raise ContactHasNoAccount()
        if len(others) > 1:
            raise ContactHasTwoAccounts()
        # Both accounts in a fixed order, as disabling a duplicate locks them.
        locked = {
            a.pk: a
            for a in PortalAccount.objects.select_for_update()
            .select_related("user")
            .filter(pk__in=[request.account_id, *others])
            .order_by("pk")
        }
        requester, account = locked[request.account_id], locked[others.pop()]
        if requester.email_verified_at is None:
            # Until then anyone could have typed these details: they learn nothing, not even a masked email.
            raise AccountNotConfirmed()
        if account.is_disabled:
            raise AccountDisabled(
                "That account was disabled meanwhile. Reload the page to see what was done."
            )
        patient_lock_invitable(patient)
        if not PatientContact.objects.filter(patient=patient, contact=contact).exists():
            raise ContactNotOnChart()
        if PortalAccess.objects.filter(account=account, patient=patient).exists():
            raise AlreadyRegistered()
        return _request_grant(
            request,
            account=account,
            patient=patient,
            contact=contact,
            by=by,
            now=now,
            client_address=client_address,
            details={"requesting_account_id": requester.pk},
        )


def self_registration_decline(
    *,
    request: SelfRegistrationRequest,
    reason: str,
    by: User,
    note: str = "",
    now: datetime | None = None,
    client_address: str | None = None,
) -> SelfRegistrationRequest:
    """Refuse a request for one of the `DeclineReason`s, with an optional note in staff's own words.

    The parent reads the reason in their language and the note as the practice's note; "other" says
    nothing by itself, so it needs a note.
    """
    note = note.strip()
    self_registration_decline_check(reason=reason, note=note)
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        request = _request_lock_awaiting(request)
        request.status = SelfRegistrationRequest.Status.DECLINED
        request.decided_by, request.decided_at = by, now
        request.decline_reason, request.decline_note = reason, note
        request.save(update_fields=["status", "decided_by", "decided_at", "decline_reason", "decline_note"])
        audit_record(
            action=AuditEvent.Action.SELF_REGISTRATION_DECLINED,
            at=now,
            actor=by,
            path=RegistrationPath.SELF_REGISTRATION,
            account=request.account,
            client_address=client_address,
            details={"request_id": request.pk, "reason": reason, "note": note},
        )
    return request


def self_registration_decline_check(*, reason: str, note: str) -> None:
    """Refuse a reason that is none of the `DeclineReason`s, or "other" without a note."""
    if reason not in SelfRegistrationRequest.DeclineReason.values:
        raise ReasonRequired()
    if reason == SelfRegistrationRequest.DeclineReason.OTHER and not note.strip():
        raise DeclineNoteRequired()


def self_registration_reopen(
    *,
    request: SelfRegistrationRequest,
    by: User,
    now: datetime | None = None,
    client_address: str | None = None,
) -> SelfRegistrationRequest:
    """Put a declined request back in the queue, undecided: the parent's portal shows it waiting again.

    The decision undone is kept in the audit event. Refused when the request is no longer declined,
    when its account is disabled, or when the parent has asked for the same child again since (that
    request is the one to decide: two waiting for one child would make two answers).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # The request, then its account: the order self_registration_authenticate locks them in. The
        # account's lock keeps a new request for the same child (submitted under it) from racing this.
        request = SelfRegistrationRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != SelfRegistrationRequest.Status.DECLINED:
            raise RequestNotDeclined()
        account = PortalAccount.objects.select_for_update().get(pk=request.account_id)
        if account.is_disabled:
            raise AccountDisabled(
                "The account that made this request is disabled. Enable it again on the Duplicate "
                "accounts page first, or ask the parent to ask again from the account they use."
            )
        Status = SelfRegistrationRequest.Status
        asked_again = account.self_registrations.filter(
            status__in=[Status.AWAITING, Status.AUTHENTICATED],
            child_first_name__iexact=request.child_first_name,
            child_last_name__iexact=request.child_last_name,
            child_date_of_birth=request.child_date_of_birth,
        )
        if asked_again.exists():
            raise RequestAskedAgain()
        undone = {
            "declined_by_id": request.decided_by_id,
            "declined_at": request.decided_at.isoformat(),
            "reason": request.decline_reason,
            "note": request.decline_note,
        }
        request.status = SelfRegistrationRequest.Status.AWAITING
        request.decided_by, request.decided_at = None, None
        request.decline_reason, request.decline_note = "", ""
        request.save(update_fields=["status", "decided_by", "decided_at", "decline_reason", "decline_note"])
        audit_record(
            action=AuditEvent.Action.SELF_REGISTRATION_REOPENED,
            at=now,
            actor=by,
            path=RegistrationPath.SELF_REGISTRATION,
            account=account,
            client_address=client_address,
            details={"request_id": request.pk, "undone": undone},
        )
    return request


def _request_lock_awaiting(request: SelfRegistrationRequest) -> SelfRegistrationRequest:
    # No join to the account: if a merge moved the request while we waited for its lock, PostgreSQL
    # would recheck the join against the old account row and find no row at all.
    locked = SelfRegistrationRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != SelfRegistrationRequest.Status.AWAITING:
        raise RequestAlreadyDecided()
    if locked.account.is_disabled:
        raise AccountDisabled("The account that made this request is disabled.")
    return locked
