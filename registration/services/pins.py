"""Issuing PINs (paths 1-3), sending them in a welcome message (path 2), and redeeming them."""

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration import pin_codes as codes
from registration.messaging.tasks import welcome_message_enqueue
from registration.models import (
    PIN_PATHS,
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    RegistrationPath,
    WelcomeMessage,
)
from registration.selectors import pins_usable, self_registration_requests_matching
from registration.services.accounts import NewAccount, portal_account_lock, portal_account_make
from registration.services.audit import audit_record
from registration.services.errors import (
    AlreadyRegistered,
    AppointmentMismatch,
    ChildAlreadyOnAccount,
    ContactNotOnChart,
    EmailInUse,
    InvalidAddress,
    OutstandingPin,
    PinAlreadyUsed,
    PinExpired,
    PinLocked,
    PinNoLongerUsable,
    PinNotAccepted,
    PinReplaced,
    PossibleDuplicate,
    RegistrationError,
)
from registration.services.invitation_rules import patient_invitation_refusal, patient_lock_invitable
from registration.services.pin_rules import pin_expiry, pins_revoke
from registration.welcome_addresses import (
    CONTACT_FIELD,
    AddressInvalid,
    welcome_address_clean,
    welcome_address_on_chart,
)


@dataclass(frozen=True)
class IssuedPin:
    pin: Pin
    code: str = field(repr=False)  # the only time the plain PIN exists: show it once, never store or log it


def pin_issue(
    *,
    patient: Patient,
    contact: FamilyContact,
    path: RegistrationPath,
    by: User,
    appointment: Appointment | None = None,
    duplicate_override_reason: str = "",
    replace_outstanding: bool = True,
    replacing_pin_id: int | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> IssuedPin:
    """Issue a PIN for one patient and family contact; any earlier unused PIN for the pair stops working.

    Issuing is the practice's authentication of the contact: nothing else is asked of staff. If a waiting
    self-registration request may be this parent's, refuse with `PossibleDuplicate` unless staff give a
    reason to go on. A deceased child or an inactive chart is refused with `PatientNotInvitable`. A PIN
    of the pair still valid is replaced, unless `replace_outstanding=False` (staff have not confirmed yet)
    or it is not `replacing_pin_id` (staff confirmed replacing another, which a colleague replaced since):
    then `OutstandingPin` is raised and nothing changes.
    """
    now = now or timezone.now()
    parts = codes.pin_code_new()
    with transaction.atomic(durable=True):
        pin, details = _issue(
            patient=patient,
            contact=contact,
            path=path,
            by=by,
            appointment=appointment,
            duplicate_override_reason=duplicate_override_reason,
            replace_outstanding=replace_outstanding,
            replacing_pin_id=replacing_pin_id,
            now=now,
            parts=parts,
        )
        audit_record(
            action=AuditEvent.Action.PIN_ISSUED,
            at=now,
            actor=by,
            path=path,
            patient=patient,
            contact=contact,
            client_address=client_address,
            details=details,
        )
    return IssuedPin(pin=pin, code=parts.display)


def welcome_invite(
    *,
    patient: Patient,
    contact: FamilyContact,
    channel: WelcomeMessage.Channel,
    address: str,
    by: User,
    appointment: Appointment | None = None,
    duplicate_override_reason: str = "",
    replace_outstanding: bool = True,
    replacing_pin_id: int | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> WelcomeMessage:
    """Issue a PIN through the appointment list and queue a welcome email or text carrying it.

    The address is validated and, if staff corrected it, saved back to the contact. The message is
    recorded in the same transaction as the PIN, so neither exists without the other, and queued for
    sending once that transaction commits. Staff never see this PIN: its code is drawn only when the
    message is sent (`welcome_delivery`), so it is never stored readable anywhere; until then the PIN
    row has no code, and nothing typed redeems it.
    """
    now = now or timezone.now()
    try:
        address = welcome_address_clean(channel, address)
    except AddressInvalid as error:
        raise InvalidAddress(str(error)) from error
    with transaction.atomic(durable=True):
        pin, details = _issue(
            patient=patient,
            contact=contact,
            path=RegistrationPath.APPOINTMENT_LIST,
            by=by,
            appointment=appointment,
            duplicate_override_reason=duplicate_override_reason,
            replace_outstanding=replace_outstanding,
            replacing_pin_id=replacing_pin_id,
            now=now,
            parts=None,
        )
        if welcome_address_on_chart(pin.contact, channel) != address:
            field = CONTACT_FIELD[channel]
            FamilyContact.objects.filter(pk=contact.pk).update(**{field: address})
            details["contact_updated"] = field
        message = WelcomeMessage.objects.create(
            pin=pin,
            channel=channel,
            address=address,
            language=contact.preferred_language,
            queued_at=now,
        )
        details |= {"welcome_message_id": message.pk, "channel": channel}
        audit_record(
            action=AuditEvent.Action.WELCOME_QUEUED,
            at=now,
            actor=by,
            path=RegistrationPath.APPOINTMENT_LIST,
            patient=patient,
            contact=contact,
            client_address=client_address,
            details=details,
        )
        transaction.on_commit(partial(welcome_message_enqueue, message.pk))
    return message


def _issue(
    *,
    patient,
    contact,
    path,
    by,
    appointment,
    duplicate_override_reason,
    replace_outstanding,
    replacing_pin_id,
    now,
    parts: codes.PinParts | None,
) -> tuple[Pin, dict]:
    """Make the PIN row, its code's hash from `parts`; with None, a row whose code is drawn later."""
    if path not in PIN_PATHS:
        raise RegistrationError(f"PINs are not issued through {path}.")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise AppointmentMismatch()
    # First, and under the patient's lock: a deceased child or an inactive chart gets nothing.
    patient_lock_invitable(patient)
    # Locking the chart link serialises staff issuing for the same pair: the second waits, then
    # replaces the first's PIN, so exactly one stays live. The link alone: locking the contact too
    # deadlocked with a redemption holding the PIN, whose new access refers to the contact.
    link = (
        PatientContact.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(patient=patient, contact=contact)
        .first()
    )
    if link is None:
        raise ContactNotOnChart()
    if PortalAccess.objects.filter(
        patient=patient, contact=contact, account__disabled_at__isnull=True
    ).exists():
        raise AlreadyRegistered()
    details: dict = {}
    matches = list(self_registration_requests_matching(patient=patient, contacts=[link.contact]))
    if matches:
        if not duplicate_override_reason.strip():
            raise PossibleDuplicate(matches)
        details["duplicate_override"] = {
            "reason": duplicate_override_reason.strip(),
            "request_ids": [r.pk for r in matches],
        }

    if not replace_outstanding or replacing_pin_id is not None:
        # Checked under the link's lock: two clicks a minute apart must not send two PINs unasked, and
        # staff who agreed to replace one PIN are asked again about a colleague's newer one.
        outstanding = pins_usable(now).filter(patient=patient, contact=contact)
        outstanding = outstanding.select_related("welcome_message").first()
        if outstanding is not None and outstanding.pk != replacing_pin_id:
            raise OutstandingPin(outstanding)
    revoked = pins_revoke(
        Pin.objects.filter(patient=patient, contact=contact), reason=Pin.EndReason.SUPERSEDED, now=now
    )
    pin = Pin.objects.create(
        patient=patient,
        contact=link.contact,
        appointment=appointment,
        path=path,
        issued_by=by,
        lookup=codes.PIN_NOT_DRAWN_LOOKUP if parts is None else parts.lookup,
        secret_hash=codes.pin_secret_not_drawn() if parts is None else codes.pin_secret_hash(parts),
        issued_at=now,
        expires_at=pin_expiry(now),
    )
    details |= {"pin_id": pin.pk, "expires_at": pin.expires_at.isoformat(), "revoked_pin_ids": revoked}
    if appointment is not None:
        details["appointment_id"] = appointment.pk
    return pin, details


def pin_redeem(
    *,
    code: str,
    child_birth_date: date,
    account: PortalAccount | None = None,
    new_account: NewAccount | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PortalAccess:
    """Let a parent's account see the PIN's patient, who becomes Registered.

    Give either the parent's existing `account` or the details of a `new_account`, made in the same
    transaction. The PIN row is locked, so of many parents racing with one PIN exactly one succeeds.
    A wrong date of birth counts against the PIN, and so does a new account's email that has an account
    already; after `PIN_MAX_FAILED_ATTEMPTS` it is locked. A PIN whose child the EHR has since recorded
    as deceased, or whose chart it made inactive, is refused.
    """
    if (account is None) == (new_account is None):
        raise ValueError("Give exactly one of account and new_account.")
    now = now or timezone.now()
    try:
        parts = codes.pin_parse(code)
    except codes.PinFormatError as error:
        raise PinNotAccepted(str(error)) from error

    refusal: RegistrationError | None = None
    with transaction.atomic(durable=True):
        if account is not None:
            # Account before PIN, the order account_disable_duplicate locks them in (else a deadlock).
            account = portal_account_lock(account)
        pin = _pin_find_locked(parts)
        if pin is None:
            raise PinNotAccepted()
        if pin.end_reason == Pin.EndReason.LOCKED:
            raise PinLocked()
        usable = pin.redeemed_at is None and pin.revoked_at is None and pin.expires_at > now
        if pin.patient.date_of_birth != child_birth_date:
            if not usable:
                raise PinNotAccepted()
            refusal = _pin_count_failure(pin, now=now, client_address=client_address)
        elif pin.redeemed_at is not None:
            raise PinAlreadyUsed()
        elif patient_invitation_refusal(pin.patient) is not None:
            # Marked deceased or inactive since the PIN was issued. The parent has proved they hold
            # the PIN, but is not told why: the practice tells the family, not a web page.
            raise PinNoLongerUsable()
        elif pin.revoked_at is not None and pin.end_reason == Pin.EndReason.NOT_DELIVERED:
            raise PinNotAccepted()  # its message never left: ask the practice for a new PIN
        elif pin.revoked_at is not None:
            raise PinReplaced()
        elif not usable:
            raise PinExpired()
        else:
            try:
                return _redeem(
                    pin, account=account, new_account=new_account, now=now, client_address=client_address
                )
            except EmailInUse as in_use:
                # Told to the PIN's holder, so it spends a try: else one PIN could test any number of
                # emails for an account (issue 12, finding 8).
                refusal = _pin_count_failure(pin, now=now, client_address=client_address, refusal=in_use)
    # The failed try is committed before the parent hears about it.
    raise refusal


def _pin_find_locked(parts: codes.PinParts) -> Pin | None:
    candidates = list(
        Pin.objects.select_for_update(of=("self",))
        .select_related("patient", "contact")
        .filter(lookup=parts.lookup)
    )
    if not candidates:
        codes.pin_secret_dummy_check(parts)
    return next((pin for pin in candidates if codes.pin_secret_matches(parts, pin.secret_hash)), None)


def _pin_count_failure(
    pin: Pin, *, now: datetime, client_address: str | None, refusal: RegistrationError | None = None
) -> RegistrationError:
    """Count a failed try against the PIN, locking it at the maximum; return what to tell the parent:
    the PIN is locked, or `refusal` (by default, that the PIN and date of birth do not match)."""
    pin.failed_attempts += 1
    locked = pin.failed_attempts >= settings.PIN_MAX_FAILED_ATTEMPTS
    if locked:
        pin.revoked_at, pin.end_reason = now, Pin.EndReason.LOCKED
    pin.save(update_fields=["failed_attempts", "revoked_at", "end_reason"])
    audit_record(
        action=AuditEvent.Action.PIN_LOCKED if locked else AuditEvent.Action.PIN_REDEEM_FAILED,
        at=now,
        actor=None,
        path=pin.path,
        patient=pin.patient,
        contact=pin.contact,
        client_address=client_address,
        details={"pin_id": pin.pk, "failed_attempts": pin.failed_attempts}
        | ({"refusal": type(refusal).__name__} if refusal else {}),
    )
    return PinLocked() if locked else refusal or PinNotAccepted()


def _redeem(pin: Pin, *, account, new_account, now, client_address) -> PortalAccess:
    created = account is None
    account = portal_account_make(details=new_account, now=now) if created else account  # locked already
    if PortalAccess.objects.filter(account=account, patient=pin.patient).exists():
        raise ChildAlreadyOnAccount()
    pin.redeemed_at, pin.redeemed_by = now, account
    pin.save(update_fields=["redeemed_at", "redeemed_by"])
    access = PortalAccess.objects.create(
        account=account,
        patient=pin.patient,
        contact_id=pin.contact_id,
        path=pin.path,
        granted_at=now,
        pin=pin,
    )
    audit_record(
        action=AuditEvent.Action.PIN_REDEEMED,
        at=now,
        actor=account.user,
        path=pin.path,
        patient=pin.patient,
        contact=pin.contact,
        account=account,
        client_address=client_address,
        details={"pin_id": pin.pk, "access_id": access.pk, "account_created": created},
    )
    return access
