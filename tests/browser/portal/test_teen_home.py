"""A teen on their own account chooses what their parents see; their mother's portal then shows the
teen's name and whose choice it is, not the visits. Phone-sized, with axe on each page.
Screenshots: var/screenshots/portal-teen_chooses_what_parents_see-*.png."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from patients.models import PatientContact
from registration.models import AccessBasis, AuditEvent, PortalAccess
from registration.services.accounts import portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.teen_accounts import teen_contact_add
from tests.factories import AppointmentFactory, NewAccountFactory, PatientContactFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(page: Page, live_server, user) -> None:
    client = Client()
    client.force_login(user, backend="accounts.backends.RolesModelBackend")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


def _account(link, by):
    issued = pin_issue(patient=link.patient, contact=link.contact, path="chart", by=by)
    access = pin_redeem(
        code=issued.code, child_birth_date=link.patient.date_of_birth, new_account=NewAccountFactory()
    )
    return portal_account_verify_email(account=access.account)


def test_teen_chooses_what_parents_see(page: Page, live_server, front_desk, audit, screen):
    today = timezone.localdate()
    ana = PatientFactory(first_name="Ana", last_name="Reyes", date_of_birth=dt.date(today.year - 15, 1, 1))
    mother_link = PatientContactFactory(patient=ana, relationship=PatientContact.Relationship.MOTHER)
    AppointmentFactory(patient=ana, visit_type="Sports physical")
    mother = _account(mother_link, front_desk)
    teen = _account(
        teen_contact_add(patient=ana, email="ana.reyes@example.com", cell_phone="", by=front_desk), front_desk
    )

    _signed_in(page, live_server, teen.user)
    page.goto(f"{live_server.url}/portal/home/")
    expect(page.get_by_role("heading", name="Your health record")).to_be_visible()
    expect(page.get_by_role("heading", name="Your children")).to_have_count(0)
    parents = page.get_by_role("region", name="What your parents can see")
    expect(parents).to_contain_text("Your appointments, messages and billing, not your health record.")
    audit.look(page, "teen-home")

    parents.get_by_label("Nothing").check()
    parents.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Your parents' portal shows what you chose from now on.")).to_be_visible()
    expect(parents).to_contain_text("Nothing: your record is not on their portal.")
    assert PortalAccess.objects.get(account=mother).level == "none"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_LEVEL_CHANGED, account=mother).exists()
    assert PortalAccess.objects.get(account=teen).basis == AccessBasis.SELF
    audit.look(page, "teen-chose")

    _signed_in(page, live_server, mother.user)
    page.goto(f"{live_server.url}/portal/home/")
    card = page.locator("article.child", has_text="Ana Reyes")
    expect(card).to_contain_text("Because Ana is 12 or older, Ana decides what you can see.")
    expect(card).not_to_contain_text("Sports physical")
    audit.look(page, "mother-home")
    audit.assert_clean()
