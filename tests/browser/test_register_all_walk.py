"""Register all and Resend as the front desk walks them, at desktop (1280x800) and tablet (820x1180):
the count on the button, the confirmation, the progress while the task worker runs, the summary; and the
question asked before a new PIN replaces one still valid (issue 13).

Each page is screenshotted (var/screenshots/test_<walk>-<size>-<step>.png) and audited with axe-core
(WCAG 2.1 A and AA); at tablet size it must not scroll sideways.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from registration.models import Pin, RegistrationPath, WelcomeMessage
from registration.services.pins import pin_issue
from registration.services.welcome_invites import welcome_invite
from tests.browser.pages import DESKTOP, family, horizontal_overflow, row, today_at
from tests.browser.portal.conftest import AXE_OPTIONS
from tests.factories import AppointmentFactory
from tests.task_queue import db_worker_batch

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": DESKTOP, "tablet": {"width": 820, "height": 1180}}
SENT_AT = re.compile(r"sent \d{1,2}:\d{2} [AP]M")
ASKS = "is still valid. Sending a new one stops the old one. Send a new PIN?"


@pytest.fixture
def look(snap):
    """`look(page, step)`: a screenshot and an axe-core audit; `look.assert_clean()` at the end."""
    axe, findings = Axe(), []

    def take(page: Page, step: str) -> None:
        page.wait_for_load_state()
        snap(page, step)
        for violation in axe.run(page, options=AXE_OPTIONS).response["violations"]:
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
            findings.append(f"{step} ({page.url}): {violation['id']} {violation['help']} -> {targets}")
        if overflow := horizontal_overflow(page):
            findings.append(f"{step} ({page.url}): scrolls sideways: {overflow['offenders']}")

    take.assert_clean = lambda: not findings or pytest.fail("\n".join(findings))
    return take


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production


@pytest.mark.parametrize("size", SIZES)
def test_register_all_count_confirmation_progress_summary(
    size, page: Page, live_server, sign_in, front_desk, look, database_queue
):
    page.set_viewport_size(SIZES[size])
    by_email = family("Amelia Castellano", "Maria Castellano")
    by_text = family("Zoe Whitfield", "Dana Whitfield", email="")
    unreachable = family("Liam Okafor", "Chidi Okafor", email="", cell_phone="")
    pending = family("Oliver Brennan", "Sam Brennan")
    pin_issue(patient=pending.patient, contact=pending.contact, path=RegistrationPath.CHART, by=front_desk)
    for minutes, link in enumerate([by_email, by_text, unreachable, pending]):
        AppointmentFactory(patient=link.patient, starts_at=today_at(9, 15 * minutes))
    sign_in(page, front_desk, screenshot=False)

    expect(row(page, "Brennan, Oliver").get_by_role("link", name="Resend")).to_be_visible()
    look(page, "dashboard")
    page.get_by_role("button", name="Register all 2").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Register all")
    expect(page.get_by_role("status")).to_have_text(
        "Nothing has been sent yet. Confirm to send 2 welcome messages, each with a new PIN; "
        "1 patient will be skipped."
    )
    expect(row(page, "Castellano, Amelia")).to_contain_text("Email")
    expect(row(page, "Whitfield, Zoe")).to_contain_text("Text message")
    expect(row(page, "Okafor, Liam")).to_contain_text("No family contact with an email or cell phone")
    expect(row(page, "Brennan, Oliver")).to_have_count(0)
    look(page, "confirmation")
    assert not WelcomeMessage.objects.exists(), "the confirmation changes nothing"

    page.get_by_role("button", name="Send 2 welcome messages").click()
    expect(page.get_by_text("0 of 3 patients")).to_be_visible()
    expect(page.locator("progress")).to_be_visible()
    look(page, "progress")
    assert not WelcomeMessage.objects.exists(), "nothing is sent in the request"

    db_worker_batch()  # the task worker: the run, then the two messages it queued

    # The page's script reloads it when the run ends, maybe before the worker sent both messages: each
    # row then says "Queued: waiting to send" until it has. Reloaded once the worker is done, all are sent.
    expect(page.get_by_role("heading", name="Skipped (1)")).to_be_visible(timeout=10_000)
    page.reload()
    expect(page.get_by_role("heading", name="Sent (2)")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("2 sent, 0 waiting to send, 0 not sent, 1 skipped")
    expect(row(page, "Okafor, Liam")).to_contain_text("No family contact with an email or cell phone")
    look(page, "summary")

    page.get_by_role("link", name="Back to the appointment list").click()
    for name in ("Castellano, Amelia", "Whitfield, Zoe"):
        expect(row(page, name).locator(".status")).to_have_text("Pending")
        expect(row(page, name)).to_contain_text(SENT_AT)
    expect(page.get_by_text("No Register all: the 1 patient not registered has no parent")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Register all"))).to_have_count(0)
    look(page, "dashboard-after")
    look.assert_clean()


@pytest.mark.parametrize("size", SIZES)
def test_resend_asks_before_replacing_a_pin_still_valid(
    size, page: Page, live_server, sign_in, front_desk, look
):
    page.set_viewport_size(SIZES[size])
    link = family("Amelia Castellano", "Maria Castellano", email="maria.castellano@example.org")
    AppointmentFactory(patient=link.patient, starts_at=today_at(9))
    welcome_invite(
        patient=link.patient,
        contact=link.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=link.contact.email,
        by=front_desk,
    )
    sign_in(page, front_desk, screenshot=False)

    pending = row(page, "Castellano, Amelia")
    expect(pending).to_contain_text(SENT_AT)
    expect(pending.get_by_role("link", name="Register")).to_have_count(0)
    look(page, "dashboard")
    pending.get_by_role("link", name="Resend").click()
    page.get_by_role("button", name="Send welcome message").click()

    asked = page.get_by_role("alert")
    expect(asked).to_contain_text("A PIN sent to maria.castellano@example.org at ")
    expect(asked).to_contain_text(ASKS)
    look(page, "register-asks")
    assert WelcomeMessage.objects.count() == 1 and Pin.objects.count() == 1
    page.get_by_role("button", name="Send a new PIN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome message for Amelia Castellano")
    assert WelcomeMessage.objects.count() == 2

    page.get_by_role("button", name="Resend").click()  # the message page's own Resend
    expect(page.get_by_role("alert")).to_contain_text(ASKS)
    look(page, "message-asks")
    page.get_by_role("link", name="Cancel").click()
    assert WelcomeMessage.objects.count() == 2, "Cancel sends nothing"

    page.get_by_role("link", name="Castellano, Amelia").click()  # the chart
    page.get_by_role("button", name="Generate PIN for Maria Castellano").click()
    expect(page.get_by_role("heading", name="Generate a new PIN for Maria Castellano?")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(ASKS)
    look(page, "generate-asks")
    assert Pin.objects.count() == 2
    page.get_by_role("button", name="Generate a new PIN").click()
    expect(page.locator("#issued-pin")).to_be_visible()
    assert Pin.objects.filter(revoked_at__isnull=True).count() == 1 and Pin.objects.count() == 3
    look.assert_clean()
