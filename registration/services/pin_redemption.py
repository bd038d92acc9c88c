"""A parent redeeming a PIN: the child joins their account, new or existing, and is Registered."""

from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from patients.models import PatientContact
from registration import pin_codes as codes
from registration.models import (
    AccessBasis,
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
)
from registration.services.access_rules import access_grant_check, access_make
from registration.services.accounts import NewAccount, portal_account_lock, portal_account_make
from registration.services.audit import audit_record
from registration.services.errors import (
    ChildAlreadyOnAccount,
    ContactRestricted,
    EmailInUse,
    OwnAccountNotAllowed,
    OwnPinNeedsOwnAccount,
    PatientIsAdult,
    PinAlreadyUsed,
    PinExpired,
    PinLocked,
    PinNoLongerUsable,
    PinNotAccepted,
    PinReplaced,
    RegistrationError,
    RelationshipEnded,
    TeenAddressIsParents,
)
from registration.services.invitation_rules import patient_invitation_refusal
from registration.statistics.tallies import statuses_refresh


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
        pin = _pin_find_locked(parts, child_birth_date=child_birth_date, now=now)
        if pin is None:
            raise PinNotAccepted()
        if pin.end_reason == Pin.EndReason.LOCKED:
            raise PinLocked()
        usable = _pin_is_live(pin, now)
        if pin.patient.date_of_birth != child_birth_date:
            if not usable:
                raise PinNotAccepted()
            refusal = _pin_count_failure(pin, now=now, client_address=client_address)
        elif pin.redeemed_at is not None:
            raise PinAlreadyUsed()
        elif pin.end_reason in _ENDED_AS_UNKNOWN:
            # Its message never left, or its holder may not see the child: either way, as for a PIN
            # that does not match. A restricted person learns nothing, not even that the child died.
            raise PinNotAccepted()
        elif patient_invitation_refusal(pin.patient) is not None:
            # Marked deceased or inactive since the PIN was issued. The parent has proved they hold
            # the PIN, but is not told why: the practice tells the family, not a web page.
            raise PinNoLongerUsable()
        elif pin.revoked_at is not None and pin.end_reason == Pin.EndReason.MAJORITY:
            raise PinNoLongerUsable()
        elif pin.revoked_at is not None:
            raise PinReplaced()
        elif not usable:
            raise PinExpired()
        else:
            link = _pin_link(pin)
            refusal = _grant_refusal(pin, link, account, new_account, now, client_address)
            if refusal is None:
                try:
                    return _redeem(
                        pin,
                        link,
                        account=account,
                        new_account=new_account,
                        now=now,
                        client_address=client_address,
                    )
                except EmailInUse as in_use:
                    # Told to the PIN's holder, so it spends a try: else one PIN could test any number of
                    # emails for an account (issue 12, finding 8).
                    refusal = _pin_count_failure(pin, now=now, client_address=client_address, refusal=in_use)
    # The failed try, or the refusal's audit event, is committed before the parent hears about it.
    raise refusal


def _pin_link(pin: Pin) -> PatientContact | None:
    """The chart's link between the PIN's patient and contact, if the EHR still has one: read with the
    PIN (`_CHART_LINK`)."""
    if pin.link_id is None:
        return None
    return PatientContact(
        pk=pin.link_id,
        patient=pin.patient,
        contact=pin.contact,
        relationship=pin.link_relationship,
        valid_from=pin.link_valid_from,
        valid_until=pin.link_valid_until,
    )


def _grant_refusal(pin: Pin, link, account, new_account, now, client_address) -> RegistrationError | None:
    """What to tell a parent who may not be given the PIN's child (a restriction, a parent of an adult,
    an own account's PIN used with a parent's address), or None; a restriction's refusal is audited."""
    if account is not None:
        emails, phones = [account.user.email], [account.cell_phone]
    else:
        emails, phones = [new_account.email], [new_account.cell_phone]
    link = link or PatientContact(patient=pin.patient, contact=pin.contact, relationship="other")
    try:
        access_grant_check(
            patient=pin.patient,
            link=link,
            day=timezone.localdate(now),
            emails=emails,
            phones=phones,
            account=account,
        )
    except ContactRestricted as restricted:
        audit_record(
            action=AuditEvent.Action.RESTRICTION_REFUSED,
            at=now,
            actor=account.user if account is not None else None,
            path=pin.path,
            patient=pin.patient,
            contact=pin.contact,
            account=account,
            client_address=client_address,
            details={"pin_id": pin.pk, "restriction_id": restricted.restriction.pk, "refused": "pin_redeem"},
        )
        return PinNotAccepted()
    except TeenAddressIsParents:
        return OwnPinNeedsOwnAccount()
    except (PatientIsAdult, OwnAccountNotAllowed, RelationshipEnded):
        return PinNoLongerUsable()  # staff's reasons; the parent is told to ask the practice
    if (
        link.relationship == PatientContact.Relationship.SELF
        and account is not None
        and account.accesses.exclude(basis=AccessBasis.SELF).exists()
    ):
        return OwnPinNeedsOwnAccount()  # a parent's account may not hold the patient's own access
    return None


# The chart's link between a PIN's patient and contact, read in the PIN's own query.
_CHART_LINK = FilteredRelation(
    "patient__contact_links", condition=Q(patient__contact_links__contact=F("contact"))
)
_LINK_FIELDS = ("id", "relationship", "valid_from", "valid_until")

# Answered "not accepted" with the right birth date too (see pin_redeem): never worth a check.
_ENDED_AS_UNKNOWN = (Pin.EndReason.NOT_DELIVERED, Pin.EndReason.RESTRICTED)


def _pin_is_live(pin: Pin, now: datetime) -> bool:
    return pin.redeemed_at is None and pin.revoked_at is None and pin.expires_at > now


def _pin_find_locked(parts: codes.PinParts, *, child_birth_date: date, now: datetime) -> Pin | None:
    """Lock the PINs with the typed lookup and return the one the typed secret matches, or None.

    Only the secrets of PINs whose answer would differ from an unknown PIN's are checked (an Argon2
    check each): a live PIN (a wrong birth date counts against it), a locked one ("locked", whatever
    the date), and an ended one for a child born on the typed date ("already used", "expired",
    "replaced"). An ended PIN with another birth date, or one revoked as not delivered or restricted,
    is answered as unknown anyway, so ended PINs sharing the lookup cost nothing as they accumulate.
    """
    # Locked first, then read with their chart: a PIN a chart merge (HL7 A40) moved while we waited is
    # read on the chart it is on now (a locking join rechecks it against the old chart and misses it).
    locked = list(Pin.objects.select_for_update().filter(lookup=parts.lookup).values_list("pk", flat=True))
    worth_a_check = (
        Q(redeemed_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        | Q(end_reason=Pin.EndReason.LOCKED)
        | (Q(patient__date_of_birth=child_birth_date) & ~Q(end_reason__in=_ENDED_AS_UNKNOWN))
    )
    candidates = (
        list(
            # The teen's choice of what parents see comes along: a teenager's access is granted with it.
            Pin.objects.select_related("patient__parent_level_choice", "contact")
            .annotate(link=_CHART_LINK)
            .annotate(**{f"link_{name}": F(f"link__{name}") for name in _LINK_FIELDS})
            .filter(worth_a_check, pk__in=locked)
        )
        if locked
        else []
    )
    if not candidates:
        codes.pin_secret_dummy_check(parts)
    # The likeliest first, the typed birth date's live PIN: a redemption checks one secret.
    candidates.sort(
        key=lambda pin: (pin.patient.date_of_birth != child_birth_date, not _pin_is_live(pin, now))
    )
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
    if locked:
        statuses_refresh([pin.patient_id])
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


def _redeem(
    pin: Pin, link: PatientContact | None, *, account, new_account, now, client_address
) -> PortalAccess:
    created = account is None
    account = portal_account_make(details=new_account, now=now) if created else account  # locked already
    if not created and PortalAccess.objects.filter(account=account, patient=pin.patient).exists():
        raise ChildAlreadyOnAccount()
    pin.redeemed_at, pin.redeemed_by = now, account
    pin.save(update_fields=["redeemed_at", "redeemed_by"])
    access = access_make(
        account=account,
        patient=pin.patient,
        contact_id=pin.contact_id,
        path=pin.path,
        now=now,
        pin=pin,
        relationship=link.relationship if link is not None else "",
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
        details={"pin_id": pin.pk, "access_id": access.pk, "account_created": created}
        | {"basis": access.basis, "level": access.level},
    )
    return access
