"""The teen's own PIN (issued to the chart's SELF contact) and the teen's choice of what parents see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registration.models import (
    AccessBasis,
    AccessLevel,
    AuditEvent,
    LevelSetBy,
    ParentLevelChoice,
    PortalAccess,
)
from registration.services.accounts import portal_account_verify_email
from registration.services.errors import OwnPinNeedsOwnAccount
from registration.services.pin_redemption import pin_redeem
from registration.services.teen_accounts import (
    ParentLevelNotChosen,
    ParentLevelNotYours,
    parent_level_choose,
    parent_level_record_in_person,
    teen_contact_add,
)
from tests.factories import AppointmentFactory, NewAccountFactory, PatientContactFactory, PatientFactory
from tests.teen.conftest import born_years_ago

BACKEND = "accounts.backends.RolesModelBackend"


@pytest.fixture
def own_pin(teen, staff, issue_pin):
    """The teen's own email on the chart and a PIN issued to it from the chart's row, as staff do."""
    link = teen_contact_add(patient=teen, email="ana.reyes@example.com", cell_phone="", by=staff)
    return issue_pin(link)


@pytest.fixture
def family(teen, make_portal_account):
    """Both parents on the portal (the policy's level for teens: limited), and a visit next week."""
    teen.mother_account = make_portal_account(teen.mother)
    teen.father_account = make_portal_account(teen.father)
    teen.visit = AppointmentFactory(patient=teen, visit_type="Sports physical")
    return teen


def _own_account(own_pin):
    access = pin_redeem(
        code=own_pin.code,
        child_birth_date=own_pin.pin.patient.date_of_birth,
        new_account=NewAccountFactory(email="ana.reyes@example.com"),
    )
    portal_account_verify_email(account=access.account)  # as the teen does, from the email
    return access


def test_the_own_pin_redeemed_with_a_new_account_is_the_patients_own_full_access(own_pin, teen):
    access = _own_account(own_pin)
    assert (access.basis, access.level, access.patient) == (AccessBasis.SELF, AccessLevel.FULL, teen)
    assert access.contact.email == "ana.reyes@example.com"


def test_the_own_pin_redeemed_with_a_parents_email_is_refused_and_gives_no_access(own_pin, teen):
    with pytest.raises(OwnPinNeedsOwnAccount):
        pin_redeem(
            code=own_pin.code,
            child_birth_date=teen.date_of_birth,
            new_account=NewAccountFactory(email=teen.mother.contact.email),
        )
    assert not PortalAccess.history.filter(patient=teen).exists()
    own_pin.pin.refresh_from_db()
    assert own_pin.pin.redeemed_at is None


def test_the_own_pin_redeemed_into_a_parents_account_is_refused(own_pin, family):
    with pytest.raises(OwnPinNeedsOwnAccount):
        pin_redeem(code=own_pin.code, child_birth_date=family.date_of_birth, account=family.mother_account)
    assert not PortalAccess.objects.filter(patient=family, basis=AccessBasis.SELF).exists()


def test_the_teen_chooses_none_and_every_parents_access_shows_nothing(own_pin, family, client):
    teen_account = _own_account(own_pin).account
    parents = PortalAccess.objects.filter(patient=family, basis=AccessBasis.PARENT)
    assert set(parents.values_list("level", flat=True)) == {AccessLevel.LIMITED}

    choice = parent_level_choose(
        account=teen_account, patient=family, level=AccessLevel.NONE, client_address="198.51.100.7"
    )

    assert (choice.level, choice.how, choice.account) == ("none", "portal", teen_account)
    for access in parents:
        assert (access.level, access.level_set_by) == (AccessLevel.NONE, LevelSetBy.TEEN)
        assert access.level_set_at == choice.chosen_at
    changed = AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_LEVEL_CHANGED, patient=family)
    per_access = {e.details["access_id"]: e for e in changed if "access_id" in e.details}
    assert set(per_access) == {a.pk for a in parents}
    for event in per_access.values():
        assert event.details | {"access_id": 0} == {
            "access_id": 0,
            "old": "limited",
            "new": "none",
            "chosen_by": "teen",
        }
        assert (event.actor, event.client_address) == (teen_account.user, "198.51.100.7")

    client.force_login(family.mother_account.user, backend=BACKEND)
    page = client.get(reverse("portal:home"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sports physical" not in text and "Upcoming visits" not in text
    assert (
        f"Because {family.first_name} is 12 or older, {family.first_name} decides what you can see." in text
    )


def test_the_parents_page_shows_the_visit_while_the_level_is_limited(family, client):
    client.force_login(family.mother_account.user, backend=BACKEND)
    text = client.get(reverse("portal:home")).content.decode()
    assert "Sports physical" in text and "Appointments, messages and billing" in text


def test_the_teen_chooses_on_the_portal_page(own_pin, family, client):
    teen_account = _own_account(own_pin).account
    client.force_login(teen_account.user, backend=BACKEND)
    home = client.get(reverse("portal:home")).content.decode()
    assert "What your parents can see" in home and "Add a child" not in home

    answer = client.post(reverse("portal:parent-level"), {"patient": family.pk, "level": "full"})

    assert answer.status_code == 302
    assert ParentLevelChoice.objects.get(patient=family).level == "full"
    assert set(PortalAccess.objects.filter(patient=family).values_list("level", flat=True)) == {"full"}


def test_a_parent_cannot_choose_for_the_teen(own_pin, family, client):
    _own_account(own_pin)
    with pytest.raises(ParentLevelNotYours):
        parent_level_choose(account=family.mother_account, patient=family, level="full")
    client.force_login(family.mother_account.user, backend=BACKEND)
    client.post(reverse("portal:parent-level"), {"patient": family.pk, "level": "full"})
    assert not ParentLevelChoice.objects.exists()
    assert set(
        PortalAccess.objects.filter(patient=family, basis="parent").values_list("level", flat=True)
    ) == {"limited"}


def test_staff_record_the_choice_made_in_person(family, staff):
    choice = parent_level_record_in_person(patient=family, level=AccessLevel.NONE, by=staff)
    assert (choice.how, choice.recorded_by, choice.account) == ("in_person", staff, None)
    accesses = PortalAccess.objects.filter(patient=family)
    assert {(a.level, a.level_set_by) for a in accesses} == {(AccessLevel.NONE, LevelSetBy.STAFF)}


def test_a_child_under_the_teen_age_has_no_choice(staff):
    child = PatientFactory(date_of_birth=born_years_ago(10))
    with pytest.raises(ParentLevelNotChosen):
        parent_level_record_in_person(patient=child, level=AccessLevel.NONE, by=staff)
    assert not ParentLevelChoice.objects.exists()


def test_a_parent_granted_after_the_choice_gets_the_chosen_level(family, staff, make_portal_account):
    parent_level_record_in_person(patient=family, level=AccessLevel.NONE, by=staff)
    grandma = PatientContactFactory(patient=family, relationship="grandparent")
    make_portal_account(grandma)
    assert PortalAccess.objects.get(patient=family, contact=grandma.contact).level == AccessLevel.NONE


def _home_queries(client, account) -> int:
    client.force_login(account.user, backend=BACKEND)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("portal:home")).status_code == 200
    return len(queries)


def test_the_portal_home_reads_the_same_queries_for_one_child_or_four(
    make_portal_account, issue_pin, staff, client
):
    one = make_portal_account()
    four = make_portal_account()
    parent = PortalAccess.objects.get(account=four).contact
    # Three more children of this parent: a teen (limited), a teen who chose none, a young child.
    for years, choice in ((14, None), (15, AccessLevel.NONE), (6, None)):
        link = PatientContactFactory(contact=parent, patient__date_of_birth=born_years_ago(years))
        AppointmentFactory(patient=link.patient)
        pin_redeem(code=issue_pin(link).code, child_birth_date=link.patient.date_of_birth, account=four)
        if choice:
            parent_level_record_in_person(patient=link.patient, level=choice, by=staff)
    levels = sorted(PortalAccess.objects.filter(account=four).values_list("level", flat=True))
    assert len(levels) == 4 and "none" in levels and "limited" in levels
    assert _home_queries(client, one) == _home_queries(client, four)


def test_a_spanish_parent_reads_the_level_in_spanish(family, staff, client):
    client.force_login(family.mother_account.user, backend=BACKEND)
    limited = client.get(reverse("portal:home") + "?lang=es", follow=True).content.decode()
    assert "Citas, mensajes y facturación" in limited
    parent_level_record_in_person(patient=family, level=AccessLevel.NONE, by=staff)
    none = client.get(reverse("portal:home")).content.decode()
    assert f"Como {family.first_name} tiene 12 años o más, {family.first_name} decide" in none


def test_a_teen_posting_another_patients_id_changes_nothing(own_pin, family, client, make_portal_account):
    teen_account = _own_account(own_pin).account
    other = PatientContactFactory(patient__date_of_birth=born_years_ago(14))
    make_portal_account(other)
    client.force_login(teen_account.user, backend=BACKEND)
    client.post(reverse("portal:parent-level"), {"patient": other.patient.pk, "level": "none"})
    assert not ParentLevelChoice.objects.exists()
    assert PortalAccess.objects.get(patient=other.patient).level == "limited"
