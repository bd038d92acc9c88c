"""An admin records a court order on a chart, with the order as a PDF; the father's row then says why
instead of offering Generate PIN, and the father, signed in on the portal, no longer sees the child and
reads no hint of why. Screenshots: var/screenshots/test_court_order_recorded_on_the_chart-*.png (and
/tmp/shots/ when it exists, for a reviewer)."""

import datetime as dt
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from patients.models import PatientContact
from registration.models import AccessRestriction, AuditEvent, PortalAccess
from registration.services.accounts import portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from tests.browser.pages import DESKTOP, family, horizontal_overflow
from tests.factories import NewAccountFactory, PatientContactFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PARENT_PASSWORD = "a long enough pass phrase"  # NewAccountFactory's


def _registered(link, by, email):
    issued = pin_issue(patient=link.patient, contact=link.contact, path="chart", by=by)
    access = pin_redeem(
        code=issued.code,
        child_birth_date=link.patient.date_of_birth,
        new_account=NewAccountFactory(email=email, first_name=email.split(".")[0].title()),
    )
    portal_account_verify_email(account=access.account)
    return access


def test_court_order_recorded_on_the_chart(
    page: Page, browser: Browser, live_server, sign_in, practice_admin, front_desk, snap, settings, tmp_path
):
    settings.RESTRICTION_DOCUMENT_DIR = tmp_path / "restrictions"
    ellie = family("Ellie Marsh", "Hannah Marsh", born=dt.date(2019, 6, 11), email="hannah.marsh@example.org")
    father = PatientContactFactory(
        patient=ellie.patient,
        contact__first_name="Tomas",
        contact__last_name="Marsh",
        contact__email="tomas.marsh@example.org",
        relationship=PatientContact.Relationship.FATHER,
    )
    # Tomas sees Ellie, and her brother Noah, whom the order does not concern.
    noah = PatientContactFactory(
        patient=PatientFactory(first_name="Noah", last_name="Marsh", date_of_birth=dt.date(2021, 2, 3)),
        contact=father.contact,
        relationship=PatientContact.Relationship.FATHER,
    )
    access = _registered(father, front_desk, "tomas.marsh@example.org")
    issued = pin_issue(patient=noah.patient, contact=noah.contact, path="chart", by=front_desk)
    pin_redeem(code=issued.code, child_birth_date=noah.patient.date_of_birth, account=access.account)

    sign_in(page, practice_admin, screenshot=False)
    page.goto(f"{live_server.url}/staff/patients/{ellie.patient.pk}/")
    panel = page.locator("#access")
    expect(panel.get_by_role("heading", name="Access")).to_be_visible()
    expect(panel).to_contain_text("tomas.marsh@example.org")

    form = panel.locator("details.restrict", has_text="Restrict Tomas Marsh")
    form.get_by_text("Restrict Tomas Marsh…").click()
    expect(form).to_contain_text("This ends Tomas Marsh's PIN and portal access to Ellie Marsh now")
    form.get_by_label("Basis").select_option(label="Court order")
    expect(form.get_by_label("First day")).to_have_value(timezone.localdate().isoformat())
    form.get_by_label("Note for staff").fill("Order 24-FC-118, Cook County")
    form.get_by_label("The order").set_input_files(
        files=[{"name": "order.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 order\n%%EOF"}]
    )
    snap(page, "form")
    form.get_by_role("button", name="Record restriction of Tomas Marsh").click()

    expect(page).to_have_url(re.compile(rf"/staff/patients/{ellie.patient.pk}/#access$"))
    expect(page.locator(".flash")).to_contain_text(
        "Recorded: Tomas Marsh may not be given access to Ellie Marsh."
    )
    since = f"Restricted by court order since {timezone.localdate():%m/%d/%Y}"
    contacts = page.get_by_role("region", name="Family contacts")
    tomas_row = contacts.get_by_role("row").filter(has_text="Tomas Marsh")
    expect(tomas_row).to_contain_text(since)
    expect(tomas_row.get_by_role("button", name=re.compile("Generate PIN"))).to_have_count(0)
    expect(panel).to_contain_text("a restriction was recorded")  # his access, ended
    expect(panel.get_by_role("link", name="Document")).to_be_visible()
    restriction = AccessRestriction.objects.get()
    assert restriction.document.name.endswith(".pdf")
    assert not PortalAccess.objects.filter(account=access.account, patient=ellie.patient).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_ENFORCED).count() == 1

    page.set_viewport_size(DESKTOP)
    snap(page, "chart-1280")
    results = Axe().run(page, options=WCAG_21_AA).response
    assert not results["violations"], [(v["id"], v["nodes"][0]["target"]) for v in results["violations"]]
    page.set_viewport_size(PHONE)
    snap(page, "chart-390")
    overflow = horizontal_overflow(page)
    assert overflow is None or "table" in str(overflow), overflow

    # Tomas signs in, in a browser of his own: Noah is there, Ellie is not, and nothing says why.
    parent = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    portal = parent.new_page()
    portal.goto(f"{live_server.url}/portal/sign-in/")
    portal.get_by_label("Email").fill("tomas.marsh@example.org")
    portal.get_by_label("Password").fill(PARENT_PASSWORD)
    portal.get_by_role("button", name="Sign in").click()
    expect(portal).to_have_url(re.compile(r"/portal/home/$"))
    expect(portal.locator("article.child")).to_have_count(1)
    expect(portal.locator("article.child")).to_contain_text("Noah")
    text = portal.locator("body").inner_text()
    assert "Ellie" not in text
    assert not re.search(r"restrict|court|protective|custody", text, re.IGNORECASE), text
    snap(portal, "parent-home")
    parent.close()
