"""A parent on a phone (390x844) registering on the portal by each path, end to end.

Staff actions happen through the service layer, as the staff pages would do them; everything the parent
does goes through the pages, by labels, roles and visible text. Every page looked at is screenshotted
(var/screenshots/portal-<test>-<step>.png) and audited with axe-core (WCAG 2.1 A/AA).
"""

import datetime as dt
import json
import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from registration.models import (
    Pin,
    PortalAccount,
    PortalStatus,
    RegistrationPath,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.selectors import patient_portal_status
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_authenticate, self_registration_decline
from registration.services.welcome_invites import welcome_invite
from tests.browser.pages import family, horizontal_overflow
from tests.browser.portal.parent import (
    EMAIL_CONFIRMED,
    NEUTRAL_REFUSAL,
    PASSWORD,
    PIN_IN_TEXT,
    as_typed_by_a_parent,
    child_cards,
    confirm_email,
    enter_pin,
    expect_check_your_email,
    expect_home,
    fill_child,
    fill_new_account,
    link_in,
    open_confirm_link,
)
from tests.factories import PatientContactFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

BORN = dt.date(2019, 4, 17)


def focus_path(page: Page, start, stop, *, limit: int = 30) -> list[str]:
    """Tab from `start` until `stop` has focus; the ids (or button texts) of the elements focused on the way.

    A date input keeps focus while Tab moves through its month, day and year: repeats are dropped.
    """
    start.focus()
    names: list[str] = []
    for _ in range(limit):
        name = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || `${e.tagName.toLowerCase()}:${(e.textContent || '').trim()}`; }"
        )
        if not names or names[-1] != name:
            names.append(name)
        if stop.evaluate("e => e === document.activeElement"):
            return names
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the submit button; focus went {names}")


def expect_error_tied_to(field, message: str) -> None:
    """A field's error is announced with it: aria-invalid, and the message in its accessible description."""
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))


def complete_registration(page: Page, code: str, *, born: dt.date, parent: str, email: str) -> None:
    """On the PIN page: the PIN, the child's date of birth, and a new account. The child is linked, but
    the account signs in only once its email is confirmed: "Check your email"."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Register with your PIN")
    enter_pin(page, code, born)
    first, last = parent.split(" ", 1)
    fill_new_account(page, first=first, last=last, email=email)
    page.get_by_role("button", name="Create account and see my child").click()
    expect_check_your_email(page)


def linked(child_first: str) -> str:
    """The message after a PIN is redeemed with a new account."""
    return f"{child_first} is linked to your new account. Confirm your email to see them."


def test_pin_from_the_office(page: Page, live_server, front_desk, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    assert patient_portal_status(link.patient) == PortalStatus.PENDING

    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Welcome to the Maple Street Pediatrics patient portal"
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")
    audit.look(page, "start")
    page.get_by_role("link", name="I have a PIN").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Register with your PIN")
    audit.look(page, "pin")
    submit = page.get_by_role("button", name="Create account and see my child")
    assert focus_path(page, page.get_by_label("PIN", exact=True), submit) == [
        "id_pin",
        "id_child_birth_date",
        "id_account-first_name",
        "id_account-last_name",
        "id_account-email",
        "id_account-cell_phone",
        "id_account-password",
        "button:Show password",
        "id_account-preferred_language",
        "button:Create account and see my child",
    ]
    expect(page.get_by_label("PIN", exact=True)).to_have_accessible_description(
        re.compile("12 letters and numbers")
    )

    complete_registration(
        page,
        as_typed_by_a_parent(issued.code),
        born=BORN,
        parent="Maria Castellano",
        email="maria.castellano@example.org",
    )
    expect(page.get_by_role("status")).to_have_text(linked("Amelia"))
    audit.look(page, "check-email")
    assert patient_portal_status(link.patient) == PortalStatus.REGISTERED  # linked, not yet seen
    page.goto(f"{live_server.url}/portal/home/")
    expect(page).to_have_url(re.compile(r"/portal/sign-in/\?next=/portal/home/$"))  # not signed in

    (confirm,) = mail.outbox
    assert confirm.to == ["maria.castellano@example.org"]
    confirm_email(page, confirm, look=lambda p: audit.look(p, "confirm-email"))
    expect_home(page, "Maria")
    expect(child_cards(page)).to_have_count(1)
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    audit.look(page, "home")

    assert patient_portal_status(link.patient) == PortalStatus.REGISTERED
    account = PortalAccount.objects.get()
    assert account.user.email == "maria.castellano@example.org"
    assert [m.to for m in mail.outbox] == [["maria.castellano@example.org"]]  # confirm your email, only
    audit.assert_clean()


def test_welcome_email(page: Page, live_server, front_desk, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN, email="maria.c@example.org")
    message = welcome_invite(
        patient=link.patient,
        contact=link.contact,
        channel="email",
        address="maria.c@example.org",
        by=front_desk,
    )
    # The send was queued on commit and ran at once (immediate task backend): the email is in the outbox.
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["maria.c@example.org"]
    codes = PIN_IN_TEXT.findall(email.body)
    assert len(codes) == 1, email.body
    for private in ("Amelia", "Castellano", link.patient.mrn):
        assert private not in email.body and private not in email.subject
    message.refresh_from_db()
    assert message.status == WelcomeMessage.Status.SENT

    page.goto(link_in(email.body, "/portal/"))
    audit.look(page, "pin-from-email")
    complete_registration(page, codes[0], born=BORN, parent="Maria Castellano", email="maria.c@example.org")
    expect(page.get_by_role("status")).to_have_text(linked("Amelia"))
    audit.look(page, "check-email", axe=False)  # audited in test_pin_from_the_office
    _welcome, confirm = mail.outbox
    assert confirm.to == ["maria.c@example.org"]
    confirm_email(page, confirm)
    expect_home(page, "Maria")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    audit.look(page, "home")
    assert patient_portal_status(link.patient) == PortalStatus.REGISTERED
    audit.assert_clean()


def test_welcome_text(page: Page, live_server, front_desk, sms_outbox, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN, cell_phone="+12025550143")
    message = welcome_invite(
        patient=link.patient, contact=link.contact, channel="sms", address="(202) 555-0143", by=front_desk
    )
    sent = json.loads((sms_outbox / f"sms-{message.pk}.json").read_text())
    assert sent["to"] == "+12025550143"
    body = sent["body"]
    codes = PIN_IN_TEXT.findall(body)
    assert len(codes) == 1, body
    for private in ("Amelia", "Castellano", link.patient.mrn, "2019", "04/17"):
        assert private not in body, f"the text gives away {private!r}: {body}"

    page.goto(link_in(body, "/portal/"))
    audit.look(page, "pin-from-text", axe=False)  # the same page as test_welcome_email's, audited there
    complete_registration(
        page, codes[0].lower(), born=BORN, parent="Maria Castellano", email="maria.c@example.org"
    )
    expect(page.get_by_role("status")).to_have_text(linked("Amelia"))
    audit.look(page, "check-email", axe=False)
    (confirm,) = mail.outbox
    assert confirm.to == ["maria.c@example.org"]
    confirm_email(page, confirm)
    expect_home(page, "Maria")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    audit.look(page, "home", axe=False)
    assert patient_portal_status(link.patient) == PortalStatus.REGISTERED


def test_self_registration(page: Page, live_server, front_desk, sms_outbox, audit):
    amelia = family("Amelia Castellano", "Maria Castellano", born=BORN, cell_phone="+12025550143")
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("link", name="Create an account").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    expect(page.get_by_role("group", name=re.compile(r"^Child \d"))).to_have_count(1)
    audit.look(page, "sign-up")
    fill_new_account(
        page, first="Maria", last="Castellano", email="maria.c@example.org", password="too short"
    )
    fill_child(page, 1, first="Amelia", last="Castellano", born=BORN)
    page.get_by_role("button", name="Add another child").click()

    expect(page.get_by_role("group", name=re.compile(r"^Child \d"))).to_have_count(2)
    expect(page.get_by_role("group", name="Child 1").get_by_label("Child's first name")).to_have_value(
        "Amelia"
    )
    expect(page.get_by_label("Email", exact=True)).to_have_value("maria.c@example.org")
    expect(page.get_by_label("Choose a password")).to_have_value("too short")  # kept, for this browser only
    fill_child(page, 2, first="Leo", last="Castellano", born=dt.date(2021, 8, 3))
    page.get_by_role("button", name="Create account").click()

    # A password under 15 characters: the error is on the field, announced with it.
    password = page.get_by_label("Choose a password")
    expect(page.locator(".field-error")).to_have_count(1)
    expect_error_tied_to(password, "at least 15 characters")
    expect(page.get_by_role("group", name="Child 2").get_by_label("Child's first name")).to_have_value("Leo")
    audit.look(page, "sign-up-errors")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect_check_your_email(page)
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(page.get_by_role("heading", name="Got a code from the practice?")).to_be_visible()
    assert horizontal_overflow(page) is None  # a phone shows the code form without scrolling sideways
    audit.look(page, "sign-up-sent")
    assert SelfRegistrationRequest.objects.count() == 2

    # Maria matches the mother on Amelia's chart: a code goes to the phone the chart has for her.
    (text,) = sms_outbox.glob("sms-code-*.json")
    sent = json.loads(text.read_text())
    assert sent["to"] == "+12025550143"
    (code,) = re.findall(r"\b\d{6}\b", sent["body"])
    page.get_by_label("Code", exact=True).fill(f"{(int(code) + 1) % 10**6:06d}")  # a typo
    page.get_by_role("button", name="Enter the code").click()
    expect_error_tied_to(page.get_by_label("Code", exact=True), "That code doesn't match.")
    audit.look(page, "sign-up-code-wrong")
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Enter the code").click()
    expect_check_your_email(page)
    expect(page.get_by_role("status")).to_have_text(
        "Thank you: the practice will see that the code reached you."
    )
    audit.look(page, "sign-up-code-entered")

    (confirm,) = mail.outbox
    assert confirm.to == ["maria.c@example.org"]
    verify_link = open_confirm_link(page, confirm)
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)  # this browser chose it
    assert horizontal_overflow(page) is None
    audit.look(page, "confirm-email")
    page.get_by_role("button", name="Confirm my email").click()
    expect_home(page, "Maria")
    expect(page.get_by_role("status")).to_have_text(EMAIL_CONFIRMED)
    requests = page.locator(".requests-status > li")
    expect(requests).to_have_count(2)
    for name in ("Amelia Castellano", "Leo Castellano"):
        expect(requests.filter(has_text=name)).to_contain_text("Waiting for the practice")
    expect(child_cards(page)).to_have_count(0)
    expect(page.get_by_text("No children on your portal yet.")).to_be_visible()
    expect(page.get_by_text("Born")).to_have_count(0)  # no date of birth or visit of any child
    audit.look(page, "home-waiting")

    # The practice decides: Amelia is their patient and Maria her mother; they have no Leo.
    asked_amelia = SelfRegistrationRequest.objects.get(child_first_name="Amelia")
    asked_leo = SelfRegistrationRequest.objects.get(child_first_name="Leo")
    self_registration_authenticate(
        request=asked_amelia, patient=amelia.patient, contact=amelia.contact, by=front_desk
    )
    note = "We have no patient named Leo Castellano."
    self_registration_decline(request=asked_leo, reason="no_match", note=note, by=front_desk)

    page.reload()
    expect(child_cards(page)).to_have_count(1)
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    expect(requests).to_have_count(1)
    expect(requests).to_contain_text("Leo Castellano")
    expect(requests).to_contain_text("Not approved")
    expect(requests).to_contain_text("We could not match your child to our records.")
    expect(requests).to_contain_text(f"The practice's note: “{note}”")
    audit.look(page, "home-decided")
    assert patient_portal_status(amelia.patient) == PortalStatus.REGISTERED

    # The confirmation link works once.
    page.goto(verify_link)
    page.get_by_role("button", name="Confirm my email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This link doesn't work")
    audit.look(page, "verify-failed")
    # A link in the form sent before the key moved into the #fragment is refused.
    uid, _dot, token = verify_link.partition("#")[2].partition(".")
    old = page.goto(f"{live_server.url}/portal/verify/{uid}/{token}/")
    assert old.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This link doesn't work")
    # A parent whose link has expired can ask for another from here.
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page.get_by_role("button", name="Send the link again")).to_be_visible()
    audit.assert_clean()


def test_sibling_with_a_second_pin(page: Page, live_server, front_desk, audit):
    amelia = family("Amelia Castellano", "Maria Castellano", born=BORN)
    oliver = PatientContactFactory(
        patient=PatientFactory(
            first_name="Oliver", last_name="Castellano", date_of_birth=dt.date(2021, 8, 3)
        ),
        contact=amelia.contact,
    )
    first = pin_issue(
        patient=amelia.patient, contact=amelia.contact, path=RegistrationPath.CHART, by=front_desk
    )
    page.goto(f"{live_server.url}/portal/pin/")
    complete_registration(page, first.code, born=BORN, parent="Maria Castellano", email="maria.c@example.org")
    (confirm,) = mail.outbox
    confirm_email(page, confirm)
    expect_home(page, "Maria")

    second = pin_issue(
        patient=oliver.patient, contact=oliver.contact, path=RegistrationPath.CHART, by=front_desk
    )
    page.get_by_role("link", name="I have a PIN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a child with a PIN")
    form = page.locator("main form")
    fields = form.locator("input:not([type=hidden]), select, textarea")
    expect(fields).to_have_count(2)  # the PIN and the date of birth: nothing else
    expect(form.get_by_label("PIN", exact=True)).to_be_visible()
    expect(form.get_by_label("Your child's date of birth")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_count(0)
    audit.look(page, "pin-signed-in")
    enter_pin(page, as_typed_by_a_parent(second.code), oliver.patient.date_of_birth)
    page.get_by_role("button", name="Add this child").click()

    expect_home(page, "Maria")
    expect(page.get_by_role("status")).to_have_text("Oliver is now on your portal.")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text(
        ["Amelia Castellano", "Oliver Castellano"]
    )
    audit.look(page, "home-two-children")
    assert PortalAccount.objects.count() == 1
    assert patient_portal_status(oliver.patient) == PortalStatus.REGISTERED
    audit.assert_clean()


def test_wrong_pin_or_date_of_birth(page: Page, live_server, front_desk, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    page.goto(f"{live_server.url}/portal/pin/")
    submit = page.get_by_role("button", name="Create account and see my child")
    alert = page.locator(".error-summary[role=alert]")

    # Nothing typed: each error is on its field and announced with it.
    submit.click()
    expect_error_tied_to(page.get_by_label("PIN", exact=True), "This field is required.")
    expect_error_tied_to(page.get_by_label("Your child's date of birth"), "This field is required.")
    expect_error_tied_to(page.get_by_label("Email", exact=True), "This field is required.")
    expect(page.get_by_label("PIN", exact=True)).to_have_accessible_description(re.compile("12 letters"))
    audit.look(page, "pin-field-errors")

    def attempt(code: str, born: dt.date) -> str:
        enter_pin(page, code, born)
        page.get_by_label("Choose a password").fill(PASSWORD)  # a password is never sent back
        submit.click()
        expect(alert).to_be_visible()
        return alert.inner_text()

    fill_new_account(page, first="Maria", last="Castellano", email="maria.c@example.org")
    wrong_birth = attempt(issued.code, dt.date(2019, 4, 18))
    assert NEUTRAL_REFUSAL in wrong_birth
    expect(page.locator(".field-error")).to_have_count(0)  # the refusal names neither field
    expect(page.get_by_label("Email", exact=True)).to_have_value("maria.c@example.org")
    audit.look(page, "pin-wrong-birth-date")
    unknown_pin = attempt("ZZZZ-ZZZZ-ZZZZ", BORN)
    assert unknown_pin == wrong_birth  # the same words: nothing says whether the PIN exists
    audit.look(page, "pin-unknown", axe=False)

    # The tries left are counted by this browser's session, a made-up PIN's as a real one's (issue 13).
    tries_left = "4 tries left before this PIN locks."
    assert wrong_birth.endswith(tries_left)
    for left in ("3 tries", "2 tries", "1 try"):  # the 2nd to 4th wrong dates of birth
        again = attempt(as_typed_by_a_parent(issued.code), dt.date(2018, 4, 17))
        assert again == wrong_birth.replace(tries_left, f"{left} left before this PIN locks.")
    locked = attempt(issued.code, dt.date(2018, 4, 17))  # the 5th
    assert locked == "This PIN was tried too many times and is locked. Please ask the practice for a new PIN."
    audit.look(page, "pin-locked")
    assert attempt(issued.code, BORN) == locked  # now even the right date of birth is refused
    assert Pin.objects.get().end_reason == Pin.EndReason.LOCKED
    assert not PortalAccount.objects.exists()
    assert patient_portal_status(link.patient) == PortalStatus.NOT_REGISTERED
    audit.assert_clean()
