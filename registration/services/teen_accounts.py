"""The adolescent's own account: the patient's own email and phone on the chart, and their choice of
what their parents see.

The patient's own address is a chart contact whose relationship is SELF ("the chart is the contact"):
staff then issue it a PIN, or send it a welcome, like any contact's, and `access_grant_check` refuses it
under the policy's teen age or to a parent's address. A teen on their own account, or staff with the
teen in person, may then choose their parents' level where the policy lets them.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from patients.models import FamilyContact, Patient, PatientContact
from registration.access_policy import access_policy, is_teen_on
from registration.models import (
    AccessBasis,
    AccessLevel,
    AuditEvent,
    LevelSetBy,
    ParentLevelChoice,
    Pin,
    PortalAccess,
    PortalAccount,
)
from registration.selectors import pins_live
from registration.services.access_rules import own_account_check, own_address_check
from registration.services.audit import audit_record
from registration.services.errors import InvalidAddress, RegistrationError
from registration.services.invitation_rules import patient_lock_invitable
from registration.services.pin_rules import pins_revoke
from registration.welcome_addresses import EMAIL, SMS, AddressInvalid, welcome_address_clean

SELF = PatientContact.Relationship.SELF
# The accesses a teen's choice applies to: their parents' and guardians', not an adult's consent.
PARENT_BASES = (AccessBasis.PARENT, AccessBasis.GUARDIAN)


class ParentLevelNotYours(RegistrationError):
    """Only the patient's own live account may choose what their parents see."""

    message = _("Only the patient, on their own account, can choose what their parents see.")


class ParentLevelNotChosen(RegistrationError):
    """The policy gives this patient no choice now: too young, an adult, or a practice that allows none."""

    message = _("The practice's policy does not let you choose what your parents see.")


def teen_contact_add(
    *,
    patient: Patient,
    email: str,
    cell_phone: str,
    by: User,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PatientContact:
    """Put the patient's own email and/or cell phone on the chart, as the contact whose relationship is
    SELF, for staff to issue the patient's own PIN to; return that chart link.

    Refused with `InvalidAddress` for neither or an invalid one, `PatientNotInvitable` for a chart nobody
    is invited to, `OwnAccountNotAllowed` under the policy's teen age (or where it allows no own account)
    and `TeenAddressIsParents` for an address a parent on file uses. A patient has one SELF contact: a
    second call changes its email and phone. Audited TEEN_CONTACT_ADDED either way.
    """
    now = now or timezone.now()
    email, phone = teen_address_clean(email=email, cell_phone=cell_phone)
    with transaction.atomic(durable=True):
        # The patient's lock serialises two staff adding the patient's contact: one SELF contact stays.
        patient_lock_invitable(patient)
        own_account_check(patient=patient, day=timezone.localdate(now))
        own_address_check(patient=patient, emails=[email], phones=[phone])
        link = (
            PatientContact.objects.select_for_update(of=("self",))
            .select_related("contact")
            .filter(patient=patient, relationship=SELF)
            .order_by("pk")
            .first()
        )
        if link is None:
            contact = FamilyContact.objects.create(
                first_name=patient.first_name,
                last_name=patient.last_name,
                email=email,
                cell_phone=phone,
                preferred_language=_family_language(patient),
            )
            link = PatientContact.objects.create(patient=patient, contact=contact, relationship=SELF)
            details = {"email": email, "cell_phone": phone, "created": True}
        else:
            contact = link.contact
            before = {"email": contact.email, "cell_phone": str(contact.cell_phone or "")}
            contact.email, contact.cell_phone = email, phone
            contact.save(update_fields=["email", "cell_phone"])
            # A PIN sent to the old address (a mistyped one, or a parent's phone) must not stay usable.
            revoked = []
            if before != {"email": email, "cell_phone": phone}:
                pins = Pin.objects.filter(patient=patient, contact=contact)
                revoked = pins_revoke(pins, reason=Pin.EndReason.SUPERSEDED, now=now)
            details = {"email": email, "cell_phone": phone, "created": False, "before": before}
            details |= {"revoked_pin_ids": revoked} if revoked else {}
        audit_record(
            action=AuditEvent.Action.TEEN_CONTACT_ADDED,
            at=now,
            actor=by,
            patient=patient,
            contact=link.contact,
            client_address=client_address,
            details=details,
        )
    return link


def teen_address_clean(*, email: str, cell_phone: str) -> tuple[str, str]:
    """Return the email as typed, trimmed, and the cell phone in E.164 ('' for one left empty); raise
    `InvalidAddress` when neither is given or one given is not valid."""
    email, cell_phone = (email or "").strip(), (cell_phone or "").strip()
    if not email and not cell_phone:
        raise InvalidAddress("Enter the patient's own email, cell phone, or both.")
    try:
        return (
            welcome_address_clean(EMAIL, email) if email else "",
            welcome_address_clean(SMS, cell_phone) if cell_phone else "",
        )
    except AddressInvalid as invalid:
        raise InvalidAddress(str(invalid)) from invalid


def _family_language(patient: Patient) -> str:
    """The language of the patient's parents on the chart (the first one's), else English."""
    language = (
        PatientContact.objects.filter(patient=patient)
        .exclude(relationship=SELF)
        .order_by("pk")
        .values_list("contact__preferred_language", flat=True)
        .first()
    )
    return language or FamilyContact.Language.ENGLISH


def parent_level_choose(
    *,
    account: PortalAccount,
    patient: Patient,
    level: str,
    now: datetime | None = None,
    client_address: str | None = None,
) -> ParentLevelChoice:
    """Record the teen's choice, on their own account, of what their parents see, and apply it to every
    live parent's and guardian's access to them; return the choice.

    Refused with `ParentLevelNotYours` unless `account` holds the patient's own live access, and with
    `ParentLevelNotChosen` where the policy gives the patient no choice today.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        _patient_lock(patient)
        own = PortalAccess.objects.filter(
            account=account, patient=patient, basis=AccessBasis.SELF, account__disabled_at__isnull=True
        )
        if not own.exists():
            raise ParentLevelNotYours()
        return _choice_apply(
            patient=patient,
            level=level,
            how=ParentLevelChoice.How.PORTAL,
            account=account,
            staff=None,
            now=now,
            client_address=client_address,
        )


def parent_level_record_in_person(
    *,
    patient: Patient,
    level: str,
    by: User,
    now: datetime | None = None,
    client_address: str | None = None,
) -> ParentLevelChoice:
    """Record the choice the teen made in person, told to staff, and apply it as `parent_level_choose`
    does; refused with `ParentLevelNotChosen` where the policy gives the patient no choice today."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        _patient_lock(patient)
        return _choice_apply(
            patient=patient,
            level=level,
            how=ParentLevelChoice.How.IN_PERSON,
            account=None,
            staff=by,
            now=now,
            client_address=client_address,
        )


def _patient_lock(patient: Patient) -> None:
    # FOR NO KEY UPDATE, as `patient_lock_invitable`: two choices for one patient apply one after the
    # other, and a self-registration grant waits for the choice. Then the child's live PINs: a parent
    # redeeming one now finishes first, so the accesses changed below include theirs; one redeeming
    # later waits, then reads this choice. (Patient before PINs, as a restriction takes them.)
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk").first()
    list(pins_live(Pin.objects.filter(patient=patient)).select_for_update().values_list("pk"))


def _choice_apply(
    *,
    patient: Patient,
    level: str,
    how: ParentLevelChoice.How,
    account: PortalAccount | None,
    staff: User | None,
    now: datetime,
    client_address: str | None,
) -> ParentLevelChoice:
    policy = access_policy()
    if level not in AccessLevel.values:
        raise RegistrationError(_("Choose full, limited or none."))
    if not policy.teen_chooses_parent_level or not is_teen_on(
        patient.date_of_birth, timezone.localdate(now), policy
    ):
        raise ParentLevelNotChosen()
    previous = ParentLevelChoice.objects.select_for_update().filter(patient=patient).first()
    choice, _created = ParentLevelChoice.objects.update_or_create(
        patient=patient,
        defaults={"level": level, "chosen_at": now, "how": how, "account": account, "recorded_by": staff},
    )
    set_by = LevelSetBy.TEEN if how == ParentLevelChoice.How.PORTAL else LevelSetBy.STAFF
    actor = account.user if account is not None else staff
    accesses = list(
        PortalAccess.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(patient=patient, basis__in=PARENT_BASES)
        .order_by("pk")
    )
    for access in accesses:
        old = access.level
        access.level, access.level_set_by, access.level_set_at = level, set_by, now
        access.save(update_fields=["level", "level_set_by", "level_set_at"])
        audit_record(
            action=AuditEvent.Action.ACCESS_LEVEL_CHANGED,
            at=now,
            actor=actor,
            patient=patient,
            contact_id=access.contact_id,
            account=access.account,
            client_address=client_address,
            details={"access_id": access.pk, "old": old, "new": level, "chosen_by": set_by.value},
        )
    # The choice itself, also when no parent has an account yet: it sets the level of their accesses to come.
    audit_record(
        action=AuditEvent.Action.ACCESS_LEVEL_CHANGED,
        at=now,
        actor=actor,
        patient=patient,
        account=account,
        client_address=client_address,
        details={
            "parent_level_choice_id": choice.pk,
            "old": previous.level if previous is not None else None,
            "new": level,
            "chosen_by": set_by.value,
            "how": how.value,
            "access_ids": [access.pk for access in accesses],
        },
    )
    return choice
