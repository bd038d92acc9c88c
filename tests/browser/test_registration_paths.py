"""The registration paths, walked in a browser as front-desk staff would (1280x800)."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from registration.models import Pin, RegistrationPath, SelfRegistrationRequest, WelcomeMessage
from registration.services.pins import pin_issue
from registration.services.self_registration import ChildDetails, self_registration_authenticate
from tests.browser.pages import (
    DESKTOP,
    PIN_FORMAT,
    expect_current_page,
    family,
    go_back_as_a_person,
    horizontal_overflow,
    nav,
    row,
    sign_up,
    today_at,
)
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = {"desktop": DESKTOP, "tablet": {"width": 820, "height": 1180}}


def test_path_1_pin_from_the_chart_is_shown_once(page: Page, live_server, sign_in, front_desk, snap):
    link = family("Amelia Castellano", "Maria Castellano")
    sign_in(page, front_desk)
    expect_current_page(page, "Dashboard")

    nav(page).get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patient administration")).to_be_visible()
    expect_current_page(page, "Patients")
    snap(page, "patients")
    page.get_by_label("Search", exact=True).fill("castel")
    page.get_by_role("button", name="Search", exact=True).click()
    snap(page, "search-results")
    page.get_by_role("link", name="Castellano, Amelia").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Castellano, Amelia")
    contact = row(page, "Maria Castellano")
    expect(contact.locator(".status")).to_have_text("Not registered")
    snap(page, "chart")
    contact.get_by_role("button", name="Generate PIN for Maria Castellano").click()

    pin = page.locator("#issued-pin")
    expect(pin).to_have_text(PIN_FORMAT)
    code = pin.inner_text()
    expect(page.get_by_role("button", name="Print slip")).to_be_visible()
    expect(page.locator(".slip")).to_be_hidden()
    snap(page, "pin-issued")
    # What "Print slip" prints: the slip, with the PIN, the portal address and a QR code; no screen part.
    page.emulate_media(media="print")
    slip = page.get_by_role("region", name="Printable slip")
    expect(slip).to_be_visible()
    expect(slip).to_contain_text(code)
    expect(slip).to_contain_text("/portal/pin/")
    expect(slip.locator("svg")).to_be_visible()
    expect(page.locator("#issued-pin")).to_be_hidden()
    snap(page, "print-slip")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Back to the chart").click()
    expect(row(page, "Maria Castellano").locator(".status")).to_have_text("Pending")
    expect(page.get_by_role("heading", level=1).locator(".status")).to_have_text("Pending")
    snap(page, "chart-pending")

    # Back to the PIN page: Chromium will not show a no-store POST answer from history; the person
    # reloads and confirms the resubmission. The PIN must not come back.
    page.on("dialog", lambda dialog: dialog.accept())
    go_back_as_a_person(page)
    snap(page, "back-to-pin")
    page.reload()
    expect(page.get_by_role("heading", name=re.compile("shown once"))).to_be_visible()
    expect(page.locator("#issued-pin")).to_have_count(0)
    expect(page.get_by_text(code)).to_have_count(0)
    snap(page, "pin-not-shown-again")
    assert Pin.objects.filter(patient=link.patient).count() == 1


def test_path_1_pin_from_the_appointment_window(page: Page, live_server, sign_in, front_desk, snap):
    link = family("Amelia Castellano", "Maria Castellano")
    appointment = AppointmentFactory(patient=link.patient, starts_at=today_at(10))
    sign_in(page, front_desk)

    visit = row(page, "Castellano, Amelia")
    expect(visit).to_contain_text("Not registered")
    expect(visit).to_contain_text("Dr. Rivera")
    visit.get_by_role("link", name="10:00 AM").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Appointment")
    expect(page.get_by_role("heading", level=1)).to_contain_text("10:00 AM")
    expect_current_page(page, "Patients")
    snap(page, "appointment-window")
    row(page, "Maria Castellano").get_by_role("button", name="Generate PIN for Maria Castellano").click()

    pin = page.locator("#issued-pin")
    expect(pin).to_have_text(PIN_FORMAT)
    code = pin.inner_text()
    snap(page, "pin-issued")
    issued = Pin.objects.get()
    assert (issued.path, issued.appointment_id) == (RegistrationPath.APPOINTMENT_WINDOW, appointment.pk)

    # Reload the PIN page itself (Chromium resubmits the form once the person confirms).
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    expect(page.get_by_role("heading", name=re.compile("shown once"))).to_be_visible()
    expect(page.get_by_text(code)).to_have_count(0)
    snap(page, "pin-reloaded")

    nav(page).get_by_role("link", name="Dashboard").click()
    expect(row(page, "Castellano, Amelia").locator(".status")).to_have_text("Pending")
    snap(page, "dashboard-pending")


def test_path_3_patient_administration(page: Page, live_server, sign_in, front_desk, snap):
    amelia = family("Amelia Castellano", "Maria Castellano")
    zoe = family("Zoe Whitfield", "Dana Whitfield")  # born the same day
    oliver = family(
        "Oliver Brennan", "Sam Brennan", born=dt.date(2018, 1, 2), email="sam.brennan@example.org"
    )
    pin_issue(patient=oliver.patient, contact=oliver.contact, path=RegistrationPath.CHART, by=front_desk)
    sign_in(page, front_desk)
    nav(page).get_by_role("link", name="Patients").click()
    snap(page, "patients")
    search = page.get_by_label("Search", exact=True)
    status = page.get_by_label("Portal status")
    results = page.locator("table.results tbody tr")

    search.fill("04/17/2019")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(2)
    expect(row(page, "Castellano, Amelia")).to_contain_text("Apr 17, 2019")
    expect(row(page, "Whitfield, Zoe")).to_be_visible()
    snap(page, "by-birth-date")

    page.get_by_label("Search", exact=True).fill("Sam.Brennan@example.org")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(1)
    expect(row(page, "Brennan, Oliver").locator(".status")).to_have_text("Pending")
    snap(page, "by-parent-email")

    page.get_by_label("Search", exact=True).fill("")
    status.select_option(label="Pending")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(1)
    expect(row(page, "Brennan, Oliver")).to_be_visible()
    snap(page, "status-pending")

    page.get_by_label("Portal status").select_option(label="Not registered")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(2)
    expect(row(page, "Brennan, Oliver")).to_have_count(0)
    snap(page, "status-not-registered")

    page.get_by_role("button", name="Generate PIN for Maria Castellano, parent of Amelia Castellano").click()
    expect(page.locator("#issued-pin")).to_have_text(PIN_FORMAT)
    snap(page, "pin-issued")
    issued = Pin.objects.get(patient=amelia.patient)
    assert issued.path == RegistrationPath.PATIENT_ADMIN
    assert not Pin.objects.filter(patient=zoe.patient).exists()


def test_path_2_register_from_the_appointment_list(page: Page, live_server, sign_in, front_desk, snap):
    link = family("Amelia Castellano", "Maria Castellano", email="maria.c@example.org")
    AppointmentFactory(patient=link.patient, starts_at=today_at(10))
    sign_in(page, front_desk)
    row(page, "Castellano, Amelia").get_by_role("link", name="Register").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Register Amelia Castellano")
    expect(page.get_by_label(re.compile("Maria Castellano"))).to_be_checked()
    expect(page.get_by_label("Email", exact=True)).to_be_checked()  # prefilled: she has an email
    snap(page, "register")
    page.get_by_label("Text message").check()
    address = page.get_by_label("Email address or cell phone")
    address.fill("555-12")
    page.get_by_role("button", name="Send welcome message").click()

    error = "Enter a valid cell phone number"
    field = page.locator(".field").filter(has=page.get_by_label("Email address or cell phone"))
    expect(field.locator(".field-error")).to_contain_text(error)
    expect(page.get_by_label("Email address or cell phone")).to_have_accessible_description(re.compile(error))
    expect(page.get_by_label("Text message")).to_be_checked()  # what was chosen is kept
    snap(page, "register-phone-error")
    assert not WelcomeMessage.objects.exists() and not Pin.objects.exists()

    page.get_by_label("Email address or cell phone").fill("(312) 555-0188")
    page.get_by_role("button", name="Send welcome message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome message for Amelia Castellano")
    expect(page.locator(".demographics .status").first).to_have_text("Pending")
    expect(page.locator("#message-status")).to_have_text(re.compile("Waiting to send|Sent|Failed"))
    expect(page.get_by_text("text message to (312) 555-0188")).to_be_visible()
    expect_current_page(page, "Patients")
    snap(page, "welcome-message")
    first = WelcomeMessage.objects.get()
    link.contact.refresh_from_db()
    assert str(link.contact.cell_phone) == "+13125550188"  # the corrected number is saved to the chart

    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("alert")).to_contain_text("is still valid. Sending a new one stops the old one.")
    assert WelcomeMessage.objects.count() == 1, "asked first"
    page.get_by_role("button", name="Send a new PIN").click()
    expect(page).not_to_have_url(re.compile(rf"/staff/messages/{first.pk}/"))
    expect(page.locator("#message-status")).to_be_visible()
    snap(page, "resent")
    assert WelcomeMessage.objects.count() == 2
    first.pin.refresh_from_db()
    assert first.pin.end_reason == Pin.EndReason.SUPERSEDED


def test_register_all_on_the_dashboard(page: Page, live_server, sign_in, front_desk, snap):
    by_email = family("Amelia Castellano", "Maria Castellano")
    by_text = family("Zoe Whitfield", "Dana Whitfield", email="")
    unreachable = family("Liam Okafor", "Chidi Okafor", email="", cell_phone="")
    pending = family("Oliver Brennan", "Sam Brennan")
    pin_issue(patient=pending.patient, contact=pending.contact, path=RegistrationPath.CHART, by=front_desk)
    for minutes, link in enumerate([by_email, by_text, unreachable, pending]):
        AppointmentFactory(patient=link.patient, starts_at=today_at(9, 15 * minutes))
    sign_in(page, front_desk)
    expect(page.locator("main table.list tbody tr")).to_have_count(4)

    page.get_by_role("button", name="Register all 2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Register all")
    assert not WelcomeMessage.objects.exists(), "the confirmation changes nothing"
    # The tests' immediate task queue runs it in the request: the summary comes at once.
    page.get_by_role("button", name="Send 2 welcome messages").click()
    expect(page.get_by_role("status")).to_have_text(
        "Of 3 patients not registered: 2 sent, 0 waiting to send, 0 not sent, 1 skipped."
    )
    expect(row(page, "Castellano, Amelia")).to_contain_text("email to ")
    expect(row(page, "Whitfield, Zoe")).to_contain_text("text message to (")
    expect(row(page, "Okafor, Liam")).to_contain_text("No family contact with an email or cell phone")
    expect(row(page, "Brennan, Oliver")).to_have_count(0)
    expect_current_page(page, "Dashboard")
    snap(page, "summary")
    assert WelcomeMessage.objects.count() == 2

    page.get_by_role("link", name="Back to the appointment list").click()
    for name, status in [
        ("Castellano, Amelia", "Pending"),
        ("Whitfield, Zoe", "Pending"),
        ("Okafor, Liam", "Not registered"),
        ("Brennan, Oliver", "Pending"),
    ]:
        expect(row(page, name).locator(".status")).to_have_text(status)
    snap(page, "dashboard-after")


def test_duplicate_warning_offers_to_authenticate_the_waiting_request(
    page: Page, live_server, sign_in, front_desk, snap
):
    link = family("Amelia Castellano", "Maria Castellano", email="maria.c@example.org")
    waiting = sign_up(
        email="maria.c@example.org",
        parent="Maria Castellano",
        child="Amelia Castellano",
        born=dt.date(2019, 4, 17),
    )
    sign_in(page, front_desk)
    expect(page.get_by_text("1 parent is waiting to be authenticated.")).to_be_visible()
    page.goto(f"{live_server.url}/staff/patients/{link.patient.pk}/")
    snap(page, "chart")
    page.get_by_role("button", name="Generate PIN for Maria Castellano").click()

    warning = page.get_by_role("alert")
    expect(warning.get_by_role("heading", name="This parent may already have signed up")).to_be_visible()
    expect(page.locator("#issued-pin")).to_have_count(0)
    snap(page, "duplicate-warning")
    assert not Pin.objects.exists()

    warning.get_by_role("link", name="Authenticate the request instead").click()
    expect(page.get_by_role("heading", name="Self-registration request", exact=True)).to_be_visible()
    match = page.get_by_role("radio", name=re.compile(r"Amelia Castellano .* as Maria Castellano"))
    expect(match).to_be_checked()
    snap(page, "reconcile")
    page.get_by_role("button", name="Authenticate").click()

    expect(page).to_have_url(f"{live_server.url}/staff/patients/{link.patient.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Authenticated: Amelia Castellano")
    expect(row(page, "Maria Castellano").locator(".status")).to_have_text("Registered")
    expect(page.get_by_role("heading", level=1).locator(".status")).to_have_text("Registered")
    snap(page, "chart-registered")
    waiting.refresh_from_db()
    assert waiting.status == SelfRegistrationRequest.Status.AUTHENTICATED


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_decline_shows_what_the_parent_will_read_then_reopen_undoes_it(
    page: Page, live_server, sign_in, front_desk, snap, size
):
    page.set_viewport_size(SIZES[size])
    PatientContactFactory(contact=FamilyContactFactory(first_name="Unrelated", last_name="Parent"))
    [request] = confirmed_self_registration(
        children=[ChildDetails("Rowan", "Quill", dt.date(2017, 7, 7))],
        new_account=NewAccountFactory(
            email="jordan.quill@example.net", first_name="Jordan", last_name="Quill", preferred_language="es"
        ),
    )
    sign_in(page, front_desk, screenshot=False)
    page.goto(f"{live_server.url}/staff/requests/{request.pk}/")

    expect(page.get_by_role("heading", name="Self-registration request", exact=True)).to_be_visible()
    expect(page.get_by_text("No patient matches")).to_be_visible()
    assert horizontal_overflow(page) is None
    snap(page, "reconcile")
    page.get_by_role("button", name="Decline…").click()  # no reason yet
    expect(page.get_by_role("group", name=re.compile("^Reason")).locator(".field-error")).to_have_text(
        "Choose a reason: the parent will be told it."
    )
    snap(page, "decline-without-reason")

    page.get_by_label("We could not match your child to our records.").check()
    page.get_by_label(re.compile("^Note to the parent")).fill("We have no patient named Rowan Quill.")
    page.get_by_role("button", name="Decline…").click()

    # Asked first, in the parent's language, and nothing has changed yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Decline Rowan Quill's request?")
    expect(page.get_by_role("heading", name="The parent will read, in Spanish")).to_be_visible()
    spanish = page.locator('.parent-sees[lang="es"]')
    expect(spanish).to_contain_text("No pudimos encontrar a su hijo o hija en nuestros registros.")
    expect(spanish).to_contain_text("Nota de la consulta: “We have no patient named Rowan Quill.”")
    expect(page.get_by_text("Nothing has changed yet.")).to_be_visible()
    assert horizontal_overflow(page) is None
    snap(page, "confirm")
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AWAITING

    page.get_by_role("button", name="Decline the request").click()
    expect(page.get_by_role("status")).to_contain_text("Declined Rowan Quill's request.")
    expect(page.locator(".demographics")).to_contain_text("Declined by")
    expect(page.get_by_role("button", name="Decline…")).to_have_count(0)
    snap(page, "declined")
    request.refresh_from_db()
    assert (request.status, request.decline_reason) == (SelfRegistrationRequest.Status.DECLINED, "no_match")
    assert request.decline_note == "We have no patient named Rowan Quill."

    page.get_by_role("button", name="Reopen the request").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Reopened: Rowan Quill's request is back in the queue, waiting. "
        "The parent's portal no longer shows the decline."
    )
    expect(page.get_by_role("button", name="Decline…")).to_be_visible()
    assert horizontal_overflow(page) is None
    snap(page, "reopened")
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AWAITING


def test_register_page_marks_one_current_page(page: Page, live_server, sign_in, front_desk, snap):
    link = family("Amelia Castellano", "Maria Castellano")
    sign_in(page, front_desk)
    page.goto(f"{live_server.url}/staff/patients/{link.patient.pk}/")
    snap(page, "chart")
    page.get_by_role("link", name="Register by email or text").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Register Amelia Castellano")
    snap(page, "register")
    expect_current_page(page, "Patients")


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_reconcile_adds_the_child_to_the_account_the_parent_has(
    page: Page, live_server, sign_in, front_desk, snap, size
):
    page.set_viewport_size(SIZES[size])
    eldest = family("Amelia Castellano", "Maria Castellano", email="maria.c@example.org")
    youngest = PatientContactFactory(
        contact=eldest.contact, patient__first_name="Leo", patient__last_name="Castellano"
    )
    self_registration_authenticate(
        request=sign_up(
            email="maria.c@example.org",
            parent="Maria Castellano",
            child="Amelia Castellano",
            born=eldest.patient.date_of_birth,
        ),
        patient=eldest.patient,
        contact=eldest.contact,
        by=front_desk,
    )
    request = sign_up(
        email="maria.home@example.net",
        parent="Maria Castellano",
        child="Leo Castellano",
        born=youngest.patient.date_of_birth,
    )
    sign_in(page, front_desk, screenshot=False)
    page.goto(f"{live_server.url}/staff/requests/{request.pk}/")

    offer = page.get_by_role("button", name="Add Leo Castellano to their existing account (m•••@example.org)")
    expect(offer).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("already has a portal account"))).to_have_count(1)
    assert horizontal_overflow(page) is None
    snap(page, "reconcile")
    offer.click()

    expect(page.get_by_role("status")).to_contain_text(
        "Added Leo Castellano to maria.c@example.org, the account that parent already has."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Castellano, Leo")
    snap(page, "chart")
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AUTHENTICATED
    assert request.access.account.user.email == "maria.c@example.org"
