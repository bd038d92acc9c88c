"""A restricted person cannot be given the child by any path, and a restriction ends what they have."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from patients.models import PatientContact
from registration.models import (
    AccessRestriction,
    AuditEvent,
    Pin,
    PortalAccess,
    RegistrationPath,
    WelcomeMessage,
)
from registration.selectors import first_reachable_links, patient_portal_status
from registration.services.enrollment_codes import enrollment_codes_make
from registration.services.errors import (
    ContactRestricted,
    PatientIsAdult,
    PinNoLongerUsable,
    PinNotAccepted,
    RestrictionInvalid,
)
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import (
    restriction_create,
    restriction_lift,
    restrictions_take_effect,
)
from registration.services.self_registration import (
    ChildDetails,
    self_registration_add_to_existing_account,
    self_registration_authenticate,
)
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db
Basis = AccessRestriction.Basis


@pytest.fixture
def restrict(admin):
    def make(link, **kwargs) -> AccessRestriction:
        kwargs.setdefault("basis", Basis.COURT_ORDER)
        kwargs.setdefault("starts_on", timezone.localdate() - dt.timedelta(days=3))
        return restriction_create(patient=link.patient, contact=link.contact, by=admin, **kwargs)

    return make


@pytest.fixture
def family(db):
    """A child with a mother and a father on the chart; the father will be restricted."""
    mother = PatientContactFactory(patient__date_of_birth=dt.date(2019, 5, 4))
    father = PatientContactFactory(patient=mother.patient, relationship=PatientContact.Relationship.FATHER)
    return mother, father


@pytest.mark.parametrize(
    "path", [RegistrationPath.CHART, RegistrationPath.APPOINTMENT_WINDOW, RegistrationPath.PATIENT_ADMIN]
)
def test_no_pin_is_issued_to_a_restricted_contact_on_any_pin_path(family, restrict, staff, path):
    _, father = family
    restriction = restrict(father)
    with pytest.raises(ContactRestricted) as refused:
        pin_issue(patient=father.patient, contact=father.contact, path=path, by=staff)
    since = timezone.localdate() - dt.timedelta(days=3)
    assert str(refused.value) == (
        f"{father.contact.full_name} may not be given access to this child: Restricted by court order since "
        f"{since.month}/{since.day}/{since.year}."
    )
    assert refused.value.restriction == restriction
    assert not Pin.objects.filter(contact=father.contact).exists()


def test_no_welcome_goes_to_a_restricted_contact_nor_to_their_address_typed_for_another(
    family, restrict, staff
):
    mother, father = family
    restrict(father)
    with pytest.raises(ContactRestricted):
        welcome_invite(
            patient=father.patient,
            contact=father.contact,
            channel=WelcomeMessage.Channel.EMAIL,
            address=father.contact.email,
            by=staff,
        )
    with pytest.raises(ContactRestricted):  # the father's address, typed for the mother's row
        welcome_invite(
            patient=mother.patient,
            contact=mother.contact,
            channel=WelcomeMessage.Channel.EMAIL,
            address=father.contact.email.upper(),
            by=staff,
        )
    assert not Pin.objects.exists() and not WelcomeMessage.objects.exists()
    assert mother.contact.__class__.objects.get(pk=mother.contact.pk).email == mother.contact.email


def test_register_all_picks_the_next_contact_and_never_the_restricted_one(family, restrict):
    mother, father = family
    restrict(mother)  # the first contact on the chart
    assert first_reachable_links([mother.patient_id])[mother.patient_id].contact == father.contact
    restrict(father)
    assert first_reachable_links([mother.patient_id]) == {}


def test_creating_a_restriction_ends_the_persons_access_and_live_pin_audited(
    family, restrict, issue_pin, admin
):
    _mother, father = family
    access = pin_redeem(
        code=issue_pin(father).code,
        child_birth_date=father.patient.date_of_birth,
        new_account=NewAccountFactory(),
    )
    second_child = PatientContactFactory(contact=father.contact)  # a sibling the order does not cover
    sibling_access = pin_redeem(
        code=issue_pin(second_child).code,
        child_birth_date=second_child.patient.date_of_birth,
        account=access.account,
    )
    restriction = restrict(father, note="Order 2026-FC-114, sole custody to mother")
    access = PortalAccess.history.get(pk=access.pk)
    assert (access.end_reason, access.ended_at is not None) == ("restricted", True)
    assert not PortalAccess.objects.filter(pk=access.pk).exists()
    assert PortalAccess.objects.filter(pk=sibling_access.pk).exists(), "only this child's access ends"
    assert patient_portal_status(father.patient) == "not_registered"
    ended = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ENDED)
    assert ended.details == {"access_id": access.pk, "reason": "restricted", "restriction_id": restriction.pk}
    assert (ended.actor, ended.account_id, ended.patient_id) == (admin, access.account_id, father.patient_id)
    enforced = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_ENFORCED)
    assert enforced.details["ended_access_ids"] == [access.pk]
    created = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_CREATED)
    assert created.details["basis"] == "court_order" and "Order 2026" not in str(created.details)


def test_a_restriction_revokes_the_persons_live_pin_and_its_holder_hears_only_that_it_does_not_match(
    family, restrict, issue_pin
):
    _, father = family
    issued = issue_pin(father)
    restrict(father)
    assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.RESTRICTED
    with pytest.raises(PinNotAccepted) as refused:
        pin_redeem(
            code=issued.code, child_birth_date=father.patient.date_of_birth, new_account=NewAccountFactory()
        )
    assert str(refused.value) == str(PinNotAccepted())
    assert not PortalAccess.history.filter(patient=father.patient).exists()


def test_the_restricted_person_redeeming_the_other_parents_pin_is_refused_as_a_mismatch_and_audited(
    family, restrict, issue_pin
):
    mother, father = family
    restrict(father)
    issued = issue_pin(mother)
    with pytest.raises(PinNotAccepted):
        pin_redeem(
            code=issued.code,
            child_birth_date=mother.patient.date_of_birth,
            new_account=NewAccountFactory(email=father.contact.email),
        )
    assert not PortalAccess.history.exists()
    refused = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_REFUSED)
    assert refused.details["refused"] == "pin_redeem" and refused.contact == mother.contact
    assert Pin.objects.get(pk=issued.pin.pk).redeemed_at is None, "the mother can still use her PIN"
    access = pin_redeem(
        code=issued.code, child_birth_date=mother.patient.date_of_birth, new_account=NewAccountFactory()
    )
    assert access.patient == mother.patient


def test_self_registration_is_not_granted_to_a_restricted_person_by_contact_email_or_name(
    family, restrict, staff
):
    _mother, father = family
    restrict(father)
    patient = father.patient
    child = ChildDetails(patient.first_name, patient.last_name, patient.date_of_birth)
    # As the chart's contact.
    (request,) = confirmed_self_registration(children=[child], new_account=NewAccountFactory())
    with pytest.raises(ContactRestricted):
        self_registration_authenticate(request=request, patient=patient, contact=father.contact, by=staff)
    # Added as a new contact, typing the father's email.
    (request,) = confirmed_self_registration(
        children=[child], new_account=NewAccountFactory(email=father.contact.email.title())
    )
    with pytest.raises(ContactRestricted):
        self_registration_authenticate(
            request=request, patient=patient, new_contact_relationship="father", by=staff
        )
    # Added as a new contact with a new email and phone, but the father's name.
    (request,) = confirmed_self_registration(
        children=[child],
        new_account=NewAccountFactory(
            first_name=father.contact.first_name, last_name=father.contact.last_name
        ),
    )
    with pytest.raises(ContactRestricted):
        self_registration_authenticate(
            request=request, patient=patient, new_contact_relationship="father", by=staff
        )
    assert not PortalAccess.history.exists()
    assert PatientContact.objects.filter(patient=patient).count() == 2, "no contact half-saved"


def test_a_request_is_not_added_to_the_restricted_persons_existing_account(
    family, restrict, make_portal_account, staff
):
    _mother, father = family
    other_child = PatientContactFactory(contact=father.contact)
    make_portal_account(other_child)  # the father's account, through his other child
    restrict(father)
    patient = father.patient
    (request,) = confirmed_self_registration(
        children=[ChildDetails(patient.first_name, patient.last_name, patient.date_of_birth)],
        new_account=NewAccountFactory(),
    )
    with pytest.raises(ContactRestricted):
        self_registration_add_to_existing_account(
            request=request, patient=patient, contact=father.contact, by=staff
        )


def test_no_sign_up_code_goes_to_a_restricted_contact(family, restrict):
    _, father = family
    restrict(father)
    patient = father.patient
    requests = confirmed_self_registration(
        children=[ChildDetails(patient.first_name, patient.last_name, patient.date_of_birth)],
        new_account=NewAccountFactory(
            first_name=father.contact.first_name, last_name=father.contact.last_name
        ),
    )
    assert enrollment_codes_make(account_id=requests[0].account_id) == []


def test_a_restriction_starting_later_takes_effect_on_its_day_once(family, restrict, issue_pin):
    _, father = family
    today = timezone.localdate()
    restriction = restrict(
        father, starts_on=today + dt.timedelta(days=2), ends_on=today + dt.timedelta(days=90)
    )
    issued = issue_pin(father)  # not in effect yet: staff may still issue
    assert restrictions_take_effect(day=today + dt.timedelta(days=1)) == 0
    assert restrictions_take_effect(day=today + dt.timedelta(days=2)) == 1
    assert restrictions_take_effect(day=today + dt.timedelta(days=2)) == 0
    assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.RESTRICTED
    assert AccessRestriction.objects.get(pk=restriction.pk).enforced_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_ENFORCED).count() == 1


def test_after_its_last_day_or_once_lifted_staff_may_issue_again(family, restrict, staff, admin):
    _, father = family
    today = timezone.localdate()
    restriction = restrict(father)
    with pytest.raises(RestrictionInvalid):
        restriction_lift(restriction=restriction, by=admin, reason=" ")
    restriction_lift(restriction=restriction, by=admin, reason="Order vacated 11/30/2026")
    assert pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff).pin
    ended = restrict(father, starts_on=today - dt.timedelta(days=30), ends_on=today - dt.timedelta(days=1))
    assert not ended.in_effect_on(today)
    lifted = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_LIFTED)
    assert lifted.details == {"restriction_id": restriction.pk, "reason": "Order vacated 11/30/2026"}


def test_bad_restrictions_are_refused_and_nothing_is_saved(family, restrict):
    _, father = family
    today = timezone.localdate()
    with pytest.raises(RestrictionInvalid, match="cannot be before"):
        restrict(father, starts_on=today, ends_on=today - dt.timedelta(days=1))
    with pytest.raises(RestrictionInvalid, match="PDF"):
        restrict(father, document=SimpleUploadedFile("order.exe", b"MZ"))
    stranger = PatientContactFactory()
    with pytest.raises(Exception, match="not on"):
        restrict(PatientContact(patient=father.patient, contact=stranger.contact))
    assert not AccessRestriction.objects.exists() and not AuditEvent.objects.exists()


def test_the_document_is_kept_outside_the_public_roots(family, restrict, settings, tmp_path):
    settings.RESTRICTION_DOCUMENT_DIR = str(tmp_path / "restrictions")
    _, father = family
    restriction = restrict(father, document=SimpleUploadedFile("order.pdf", b"%PDF-1.7 order"))
    assert restriction.document.path.startswith(str(tmp_path / "restrictions"))
    assert restriction.document.read() == b"%PDF-1.7 order"
    with pytest.raises(ValueError, match="not accessible via a URL"):  # only the view that audits reading
        _ = restriction.document.url


def test_a_parent_of_an_adult_gets_no_pin_but_a_legal_guardian_does(staff):
    adult = PatientFactory(date_of_birth=timezone.localdate().replace(year=timezone.localdate().year - 19))
    parent = PatientContactFactory(patient=adult)
    with pytest.raises(PatientIsAdult):
        pin_issue(patient=adult, contact=parent.contact, path="chart", by=staff)
    guardian = PatientContactFactory(patient=adult, relationship=PatientContact.Relationship.GUARDIAN)
    assert pin_issue(patient=adult, contact=guardian.contact, path="chart", by=staff).pin


def test_a_contact_restricted_for_one_child_may_still_be_given_a_sibling(family, restrict, staff):
    _, father = family
    restrict(father)
    sibling = PatientContactFactory(contact=father.contact)
    assert pin_issue(patient=sibling.patient, contact=father.contact, path="chart", by=staff).pin


def test_the_restricted_persons_own_account_is_them_whatever_its_email(family, restrict, issue_pin, admin):
    mother, father = family
    his = pin_redeem(
        code=issue_pin(father).code,
        child_birth_date=father.patient.date_of_birth,
        new_account=NewAccountFactory(email="not.on.the.chart@example.net"),
    ).account
    restrict(father)
    grandmother = PatientContactFactory(patient=mother.patient, relationship="grandparent")
    with pytest.raises(PinNotAccepted):
        pin_redeem(
            code=issue_pin(grandmother).code, child_birth_date=mother.patient.date_of_birth, account=his
        )
    assert not PortalAccess.objects.filter(account=his).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_REFUSED, account=his).count() == 1


def test_a_restriction_ends_the_child_on_the_persons_account_however_it_came(family, restrict, issue_pin):
    mother, father = family
    sibling = PatientContactFactory(contact=father.contact)
    his = pin_redeem(
        code=issue_pin(sibling).code,
        child_birth_date=sibling.patient.date_of_birth,
        new_account=NewAccountFactory(email="not.on.the.chart@example.net"),
    ).account
    # He got the child with the grandmother's PIN, before any order.
    grandmother = PatientContactFactory(patient=mother.patient, relationship="grandparent")
    pin_redeem(code=issue_pin(grandmother).code, child_birth_date=mother.patient.date_of_birth, account=his)
    restrict(father)
    assert list(PortalAccess.objects.filter(account=his).values_list("patient", flat=True)) == [
        sibling.patient_id
    ]


def test_a_relationship_the_ehr_ended_gets_no_pin_no_welcome_and_its_old_pin_answers_ask_the_practice(
    family, issue_pin, staff
):
    mother, father = family
    issued = issue_pin(father)
    PatientContact.objects.filter(pk=father.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    PatientContact.objects.filter(pk=mother.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    with pytest.raises(PinNoLongerUsable):
        pin_redeem(
            code=issued.code, child_birth_date=father.patient.date_of_birth, new_account=NewAccountFactory()
        )
    assert first_reachable_links([father.patient_id]) == {}


def test_the_same_restriction_sent_twice_is_recorded_once(family, restrict):
    _, father = family
    first, second = restrict(father), restrict(father)
    assert first == second
    assert AccessRestriction.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_CREATED).count() == 1
