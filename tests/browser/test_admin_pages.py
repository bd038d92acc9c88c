"""Admin-only pages: duplicate accounts and the audit trail; front desk is kept out of both."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from registration.models import AuditEvent, PortalAccount, RegistrationPath
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_authenticate
from registration.services.welcome_invites import welcome_invite
from tests.browser.pages import DESKTOP, expect_current_page, family, horizontal_overflow, nav, row, sign_up

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = {"desktop": DESKTOP, "tablet": {"width": 820, "height": 1180}}


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_admin_disables_a_duplicate_after_reading_what_happens_then_enables_it_again(
    page: Page, live_server, sign_in, practice_admin, front_desk, snap, size
):
    page.set_viewport_size(SIZES[size])
    link = family("Amelia Castellano", "Maria Castellano", email="maria.c@example.org")
    first = sign_up(
        email="maria.c@example.org",
        parent="Maria Castellano",
        child="Amelia Castellano",
        born=link.patient.date_of_birth,
        phone="+13125550101",
    )
    self_registration_authenticate(request=first, patient=link.patient, contact=link.contact, by=front_desk)
    second = sign_up(
        email="maria.castellano.home@example.net",
        parent="Maria Castellano",
        child="Amelia Castellano",
        born=link.patient.date_of_birth,
        phone="+13125550101",
    )
    sign_in(page, practice_admin, screenshot=False)
    nav(page).get_by_role("link", name="Duplicate accounts").click()

    expect(page.get_by_role("heading", name="Duplicate accounts", level=1)).to_be_visible()
    expect_current_page(page, "Duplicate accounts")
    pair = page.locator("form.pair")
    expect(pair).to_have_count(1)
    expect(pair).to_contain_text("same cell phone")
    keep = pair.get_by_role("radio", name=re.compile(r"maria\.c@example\.org"))
    expect(pair.get_by_role("radio", name=re.compile("Sees: Amelia Castellano"))).to_have_count(1)
    expect(page.get_by_text("No account has been disabled.")).to_be_visible()
    assert horizontal_overflow(page) is None
    snap(page, "duplicates")

    keep.check()
    pair.get_by_label("Reason (kept in the audit trail)").fill("Signed up twice: work and home email")
    pair.get_by_role("button", name="Disable duplicate…").click()

    # Asked first: which account goes, which stays, and nothing has changed yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Disable maria.castellano.home@example.net?")
    expect(page.get_by_text("Nothing has changed yet.")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "maria.c@example.org (Maria Castellano) is the account that stays."
    )
    expect(page.locator("main")).to_contain_text(
        "Waiting requests moving to maria.c@example.org: Amelia Castellano."
    )
    expect(page.locator("main")).to_contain_text(
        "The parent is not told: tell them to sign in with maria.c@example.org."
    )
    assert horizontal_overflow(page) is None
    snap(page, "confirm")
    assert not PortalAccount.objects.get(pk=second.account_id).is_disabled

    page.get_by_role("button", name="Disable maria.castellano.home@example.net").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Disabled maria.castellano.home@example.net: it can no longer sign in. maria.c@example.org is kept."
    )
    expect(page.locator("form.pair")).to_have_count(0)
    expect(page.get_by_text("No suspected duplicates.")).to_be_visible()
    expect(page.get_by_text("pairs found")).to_have_count(0)  # not "1 pairs found, the first 0 shown"
    disabled = page.locator("form.disabled-account")
    expect(disabled).to_have_count(1)
    expect(disabled).to_contain_text(f"by {practice_admin.username}; kept maria.c@example.org")
    snap(page, "after-disable")
    disabled_account = PortalAccount.objects.get(pk=second.account_id)
    assert disabled_account.is_disabled and disabled_account.merged_into_id == first.account_id

    disabled.get_by_role("button", name="Enable maria.castellano.home@example.net again").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Enabled maria.castellano.home@example.net again: it can sign in. "
        "Moved back to it from maria.c@example.org: 1 waiting request."
    )
    expect(page.locator("form.pair")).to_have_count(1)  # the pair is back to settle
    assert horizontal_overflow(page) is None
    snap(page, "enabled-again")
    enabled = PortalAccount.objects.select_related("user").get(pk=second.account_id)
    assert not enabled.is_disabled and enabled.user.is_active
    assert enabled.self_registrations.get().status == "awaiting"


def test_front_desk_sees_no_admin_pages(page: Page, live_server, sign_in, front_desk, snap):
    sign_in(page, front_desk)
    expect(nav(page).get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Duplicate accounts")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Audit trail")).to_have_count(0)
    for name, url in [("duplicates", "/staff/duplicates/"), ("audit", "/staff/audit/")]:
        response = page.goto(live_server.url + url)
        assert response.status == 403, f"{url}: {response.status}"
        snap(page, f"{name}-forbidden")


def test_audit_trail_filtered_by_mrn_or_name(
    page: Page, live_server, sign_in, practice_admin, front_desk, snap
):
    amelia = family("Amelia Castellano", "Maria Castellano")
    oliver = family("Oliver Brennan", "Sam Brennan", born=dt.date(2018, 1, 2))
    for link in (amelia, oliver):
        pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    welcome_invite(
        patient=amelia.patient,
        contact=amelia.contact,
        channel="email",
        address=amelia.contact.email,
        by=front_desk,
    )
    sign_in(page, practice_admin)
    nav(page).get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect_current_page(page, "Audit trail")
    expect(row(page, "Brennan, Oliver")).to_have_count(1)
    snap(page, "all")

    expected = AuditEvent.objects.filter(patient=amelia.patient)
    assert expected.count() >= 2  # PIN issued, welcome message queued (and sent, once delivery runs)
    for step, typed in [("by-mrn", amelia.patient.mrn.lower()), ("by-name", "castellano am")]:
        page.get_by_label("Patient", exact=True).fill(typed)
        page.get_by_role("button", name="Filter").click()
        events = page.locator("table.list tbody tr")
        expect(events).to_have_count(expected.count())
        for event in events.all():
            expect(event).to_contain_text("Castellano, Amelia")
        expect(row(page, "PIN issued")).to_contain_text(front_desk.username)
        expect(row(page, "Welcome message queued")).to_contain_text(front_desk.username)
        expect(row(page, "Brennan, Oliver")).to_have_count(0)
        snap(page, step)

    page.get_by_label("Patient", exact=True).fill("NOPE-404")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Patient", exact=True)).to_have_accessible_description(
        re.compile("No patient has that name, MRN or date of birth")
    )
    expect(page.get_by_text("No events match.")).to_be_visible()
    snap(page, "unknown-patient")


def test_admin_imports_a_csv_after_reading_its_preview(
    page: Page, live_server, sign_in, practice_admin, snap, tmp_path
):
    export = tmp_path / "patients.csv"
    export.write_text(
        "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
        "contact_last_name,relationship,email,cell_phone,preferred_language\n"
        "EHR101,Nora,Quill,2019-04-17,F,,Ada,Quill,mother,ada.quill@example.org,(202) 555-0143,en\n"
        "EHR102,Otto,Quill,17th of April,M,,Ada,Quill,mother,ada.quill@example.org,,en\n"
    )
    sign_in(page, practice_admin)
    nav(page).get_by_role("link", name="Import").click()
    expect_current_page(page, "Import")
    snap(page, "import")
    page.get_by_label("Export file").set_input_files(str(export))
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Nothing has been saved yet")
    expect(page.locator(".problems")).to_contain_text("Line 3")
    snap(page, "import-preview")
    page.get_by_role("button", name="Import these records").click()

    expect(page.get_by_role("heading", name="Import done")).to_be_visible()
    snap(page, "import-done")
    page.get_by_role("link", name="Find a patient").click()
    page.get_by_label("Search", exact=True).fill("quill")
    page.get_by_role("button", name="Search").click()
    expect(row(page, "Quill, Nora")).to_be_visible()
