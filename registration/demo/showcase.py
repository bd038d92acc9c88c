"""Portal state of the visible demo families, made the way the practice makes it: through the services.

Each step first looks for what it would make, so a second run does nothing, and a run interrupted
halfway finishes the job the next time.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from accounts.models import User
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.demo.families import (
    EMAIL_VERIFIED_AFTER,
    Family,
    Newcomer,
    Plan,
    pin_times,
    request_authenticated_at,
    request_submitted_at,
)
from registration.models import Pin, PortalAccess, PortalAccount, SelfRegistrationRequest
from registration.services.accounts import NewAccount, portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import IssuedPin, pin_issue
from registration.services.self_registration import (
    ChildDetails,
    self_registration_authenticate,
    self_registration_submit,
)


@dataclass(frozen=True)
class Showcase:
    by: User  # the front-desk user who issues PINs and authenticates requests
    password: str  # every new demo parent's password
    today: date


def family_register(family: Family, ctx: Showcase) -> Counter:
    """Bring one showcase family to its plan's portal state."""
    patients = list(Patient.objects.filter(mrn__in=[c.mrn for c in family.children]).order_by("mrn"))
    if family.plan == Plan.NOT_REGISTERED or not patients:
        return Counter()
    contacts = {
        link.relationship: link.contact
        for link in PatientContact.objects.filter(patient__in=patients).select_related("contact")
    }
    done: Counter = Counter()
    if family.plan in (Plan.AWAITING, Plan.AUTHENTICATED):
        main = contacts[family.contacts[0].relationship]
        done += _requests_ensure(family, patients, main, ctx)
        done += _email_verified_ensure(main.email)  # staff authenticate only confirmed accounts
        if family.plan == Plan.AUTHENTICATED:
            done += _authentications_ensure(family, patients, main, ctx)
    else:
        for k, spec in enumerate(family.registering_contacts):
            for i, patient in enumerate(patients):
                ensure = _pin_ensure if family.plan in (Plan.PENDING, Plan.EXPIRED) else _redeemed_ensure
                done += ensure(family, i, patient, contacts[spec.relationship], k, ctx)
    for spec in family.registering_contacts:
        done += _email_verified_ensure(spec.email)
    return done


def newcomer_register(newcomer: Newcomer, ctx: Showcase) -> Counter:
    """A parent unknown to the practice signs up for their baby: a request that matches nobody."""
    done = Counter()
    if not User.objects.filter(username=newcomer.parent.email).exists():
        parent = newcomer.parent
        self_registration_submit(
            children=[
                ChildDetails(
                    newcomer.child_first_name, newcomer.child_last_name, newcomer.child_date_of_birth
                )
            ],
            new_account=_new_account(
                parent.first_name, parent.last_name, parent.email, parent.cell_phone, parent.language, ctx
            ),
            now=newcomer.submitted_at,
        )
        done.update(accounts=1, requests=1)
    return done + _email_verified_ensure(newcomer.parent.email)


# ---------------------------------------------------------------- PINs
def _pin_ensure(family, child_index, patient, contact, contact_index, ctx: Showcase) -> Counter:
    if Pin.objects.filter(patient=patient, contact=contact).exists():
        return Counter()
    times = pin_times(family, child_index, contact_index, ctx.today, settings.PIN_VALIDITY_DAYS)
    _issue(family, patient, contact, times.issued_at, ctx)
    return Counter(pins=1)


def _redeemed_ensure(family, child_index, patient, contact, contact_index, ctx: Showcase) -> Counter:
    if PortalAccess.history.filter(patient=patient, contact=contact).exists():  # an ended one too
        return Counter()
    times = pin_times(family, child_index, contact_index, ctx.today, settings.PIN_VALIDITY_DAYS)
    issued = _issue(family, patient, contact, times.issued_at, ctx)
    account = _account_of(contact)
    pin_redeem(
        code=issued.code,  # used here and forgotten: never printed or stored
        child_birth_date=patient.date_of_birth,
        account=account,
        new_account=None if account else _contact_account(contact, ctx),
        now=times.redeemed_at,
    )
    return Counter(pins=1, accesses=1, accounts=0 if account else 1)


def _issue(family: Family, patient, contact, at: datetime, ctx: Showcase) -> IssuedPin:
    appointment = None
    if family.pin_path == "appointment_window":  # handed over at the visit it was issued in
        appointment = (
            Appointment.objects.filter(patient=patient, starts_at__lte=at).order_by("-starts_at").first()
        )
    return pin_issue(
        patient=patient, contact=contact, path=family.pin_path, by=ctx.by, appointment=appointment, now=at
    )


# ---------------------------------------------------------------- self-registration
def _requests_ensure(family, patients, contact: FamilyContact, ctx: Showcase) -> Counter:
    account = _account_of(contact)
    asked = set()
    if account is not None:
        asked = {
            (r.child_first_name.lower(), r.child_last_name.lower(), r.child_date_of_birth)
            for r in account.self_registrations.all()
        }
    missing = [
        p for p in patients if (p.first_name.lower(), p.last_name.lower(), p.date_of_birth) not in asked
    ]
    if not missing:
        return Counter()
    self_registration_submit(
        children=[ChildDetails(p.first_name, p.last_name, p.date_of_birth) for p in missing],
        account=account,
        new_account=None if account else _contact_account(contact, ctx),
        now=request_submitted_at(family, ctx.today),
    )
    return Counter(requests=len(missing), accounts=0 if account else 1)


def _authentications_ensure(family, patients, contact: FamilyContact, ctx: Showcase) -> Counter:
    account = _account_of(contact)
    done = Counter()
    for patient in patients:
        if PortalAccess.history.filter(account=account, patient=patient).exists():
            continue
        request = account.self_registrations.get(
            status=SelfRegistrationRequest.Status.AWAITING,
            child_first_name__iexact=patient.first_name,
            child_last_name__iexact=patient.last_name,
            child_date_of_birth=patient.date_of_birth,
        )
        self_registration_authenticate(
            request=request,
            patient=patient,
            by=ctx.by,
            contact=contact,
            now=request_authenticated_at(family, ctx.today),
        )
        done["accesses"] += 1
    return done


# ---------------------------------------------------------------- accounts
def _account_of(contact: FamilyContact) -> PortalAccount | None:
    return PortalAccount.objects.filter(user__username=contact.email.lower()).first()


def _email_verified_ensure(email: str) -> Counter:
    """The parent followed the link in the 'confirm your email' message, soon after signing up."""
    account = PortalAccount.objects.filter(
        user__username=email.lower(), email_verified_at__isnull=True
    ).first()
    if account is None:
        return Counter()
    portal_account_verify_email(account=account, now=account.created_at + EMAIL_VERIFIED_AFTER)
    return Counter(emails_verified=1)


def _contact_account(contact: FamilyContact, ctx: Showcase) -> NewAccount:
    return _new_account(
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.cell_phone,
        contact.preferred_language,
        ctx,
    )


def _new_account(first, last, email, phone, language, ctx: Showcase) -> NewAccount:
    return NewAccount(
        email=email,
        password=ctx.password,
        first_name=first,
        last_name=last,
        cell_phone=str(phone) if phone else "",
        preferred_language=language,
    )


# ---------------------------------------------------------------- a duplicate account
def duplicate_register(described: list[Family], ctx: Showcase) -> Counter:
    """A registered parent who later signs up again under a home email, naming the same child.

    The practice's duplicate-accounts page shows the pair (same cell phone, and a waiting request for
    a child the other account already sees), so an admin can try disabling the duplicate.
    """
    family = next((f for f in described if f.plan == Plan.REGISTERED), None)
    if family is None:
        return Counter()
    spec = family.registering_contacts[0]
    account = PortalAccount.objects.filter(user__username=spec.email.lower()).select_related("user").first()
    patient = Patient.objects.filter(mrn=family.children[0].mrn).first()
    home_email = f"{spec.email.split('@')[0]}.home@example.net"
    if account is None or patient is None or User.objects.filter(username=home_email).exists():
        return Counter()
    self_registration_submit(
        children=[ChildDetails(patient.first_name, patient.last_name, patient.date_of_birth)],
        new_account=_new_account(
            account.user.first_name,
            account.user.last_name,
            home_email,
            account.cell_phone,
            account.preferred_language,
            ctx,
        ),
        now=account.created_at + (EMAIL_VERIFIED_AFTER * 10),
    )
    return Counter(accounts=1, requests=1) + _email_verified_ensure(home_email)
