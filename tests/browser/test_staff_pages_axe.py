"""Every staff page, at desktop (1280x800) and tablet (820x1180) size: axe-core finds no WCAG 2.1 A/AA
violation, the page does not scroll sideways, and no word is broken mid-word (issue 13).

One walk per role visits each page the way staff reach it, finding things by role and label; each page
is checked at both sizes and every finding is reported together at the end. Screenshots are
var/screenshots/test_every_staff_page_<role>-<page>-<size>.png.
"""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from playwright.sync_api import Page, expect

from patients.models import Appointment
from portalreg import error_pages as errors
from tests.browser.pages import DESKTOP, family, horizontal_overflow, nav, sign_up, words_broken
from tests.browser.portal.conftest import AXE_OPTIONS
from tests.browser.test_tablet_layout import the_practice

pytestmark = pytest.mark.django_db(transaction=True)

TABLET = {"width": 820, "height": 1180}
SIZES = {"desktop": DESKTOP, "tablet": TABLET}
IMPORT_TEMPLATE = settings.BASE_DIR / "static" / "import" / "patients-template.csv"


def a_practice(staff) -> dict:
    """`the_practice`, with a family to register and a long email and name to wrap."""
    world = the_practice(staff)
    world["nora"] = family(
        "Nora Quill-Montgomery",
        "Alexandra Quill-Montgomery",
        born=dt.date(2020, 5, 1),
        email="alexandra.quill-montgomery.family@example-pediatrics.org",
    )
    world["request"] = sign_up(
        email="jamie.fitzgerald-oconnor@example-family.net",
        parent="Jamie Fitzgerald",
        child="Theo Fitzgerald",
        born=dt.date(2018, 10, 2),
    )
    return world


class Walk:
    """Each page checked at each size: screenshots, axe-core, sideways scrolling."""

    def __init__(self, page: Page, snap):
        self.page, self.snap = page, snap
        self.axe = Axe()
        self.findings: list[str] = []
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state()
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            self.snap(page, f"{name}-{size}")
            where = f"{name} at {size} ({page.url})"
            for violation in self.axe.run(page, options=AXE_OPTIONS).response["violations"]:
                targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
                self.findings.append(f"{where}: {violation['id']} {violation['help']} -> {targets}")
            if overflow := horizontal_overflow(page):
                self.findings.append(f"{where}: scrolls sideways, sticking out: {overflow['offenders']}")
            if broken := words_broken(page):
                self.findings.append(f"{where}: words broken mid-word: {broken}")
        page.set_viewport_size(DESKTOP)
        self.checked.append(name)

    def assert_clean(self, expected: int) -> None:
        assert len(self.checked) == expected, self.checked
        assert not self.findings, "\n".join(self.findings)


def server_error_page(page: Page, url: str) -> None:
    """The staff 500 page as the server draws it, served at a staff address: nothing here fails on
    purpose, so the browser is handed the page the error handler renders."""
    html = errors.server_error(RequestFactory().get("/staff/")).content.decode()
    page.route(
        "**/staff/broken/", lambda route: route.fulfill(status=500, body=html, content_type="text/html")
    )
    page.goto(f"{url}/staff/broken/")


def test_every_staff_page_front_desk(page: Page, live_server, sign_in, front_desk, snap):
    world, url = a_practice(front_desk), live_server.url
    walk = Walk(page, snap)
    amelia, nora = world["amelia"], world["nora"]

    page.goto(f"{url}/staff/sign-in/")
    walk.check("sign-in")
    sign_in(page, front_desk, screenshot=False)
    walk.check("dashboard")

    steps: list[tuple[str, Callable[[], None]]] = [
        ("statistics", lambda: nav(page).get_by_role("link", name="Statistics").click()),
        ("requests", lambda: nav(page).get_by_role("link", name="Requests").click()),
        ("register-all-confirm", lambda: register_all_confirmation(page)),
        ("patient-search", lambda: search(page, "Castellano")),
        ("patient-search-not-registered", lambda: search(page, "", status="Not registered")),
        ("chart", lambda: page.goto(url + reverse("staff:patient-chart", args=[nora.patient.pk]))),
        (
            "appointment-window",
            lambda: page.goto(
                url + reverse("staff:appointment", args=[Appointment.objects.get(patient=amelia.patient).pk])
            ),
        ),
        ("register", lambda: page.goto(url + reverse("staff:welcome-send", args=[nora.patient.pk]))),
        ("register-error", lambda: register_with_a_bad_number(page)),
        ("welcome-message", lambda: send_welcome(page, url, nora)),
        ("pin-issued", lambda: generate_pin(page, url, amelia)),
        ("reconcile", lambda: page.goto(url + reverse("staff:reconcile", args=[world["request"].pk]))),
        ("decline-confirm", lambda: decline_confirmation(page)),
        ("not-found", lambda: page.goto(f"{url}/staff/patients/999999/")),
        ("refused", lambda: page.goto(url + reverse("staff:audit"))),
        ("server-error", lambda: server_error_page(page, url)),
    ]
    for name, go in steps:
        go()
        walk.check(name)
    walk.assert_clean(expected=2 + len(steps))


def test_every_staff_page_practice_admin(page: Page, live_server, sign_in, front_desk, practice_admin, snap):
    a_practice(front_desk)
    url = live_server.url
    walk = Walk(page, snap)
    sign_in(page, practice_admin, screenshot=False)

    steps: list[tuple[str, Callable[[], None]]] = [
        ("duplicates", lambda: nav(page).get_by_role("link", name="Duplicate accounts").click()),
        ("disable-duplicate-confirm", lambda: disable_duplicate_confirmation(page)),
        ("audit", lambda: nav(page).get_by_role("link", name="Audit trail").click()),
        ("audit-by-name", lambda: audit_filter(page, "Patient", "whitfield")),
        (
            "audit-by-email",
            lambda: audit_filter(page, "Email", "sam.brennan@example.org"),
        ),
        ("audit-no-match", lambda: audit_filter(page, "Patient", "nobody by this name")),
        ("import", lambda: nav(page).get_by_role("link", name="Import").click()),
        (
            "import-help",
            lambda: page.get_by_role("link", name="What the file can be, column by column").click(),
        ),
        ("import-empty", lambda: submit_empty_import(page, url)),
        ("import-preview", lambda: preview_import(page, url)),
        ("import-nothing-to-import", lambda: import_then_preview_again(page, url)),
    ]
    for name, go in steps:
        go()
        walk.check(name)
    walk.assert_clean(expected=len(steps))


def search(page: Page, text: str, *, status: str = "Any") -> None:
    nav(page).get_by_role("link", name="Patients").click()
    page.get_by_label("Search", exact=True).fill(text)
    page.get_by_label("Portal status").select_option(label=status)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("table")).to_be_visible()


def register_all_confirmation(page: Page) -> None:
    """The confirmation only: nothing is sent until it is confirmed."""
    nav(page).get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name=re.compile(r"^Register all \d+")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Register all")


def decline_confirmation(page: Page) -> None:
    """What the parent will read, asked before anything is declined."""
    decline = page.locator("section", has=page.get_by_role("heading", name="Decline"))
    decline.get_by_role("radio").first.check()
    decline.get_by_role("button", name="Decline…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Decline")


def disable_duplicate_confirmation(page: Page) -> None:
    pair = page.locator("form.pair").first
    pair.get_by_role("radio").first.check()
    pair.get_by_label("Reason (kept in the audit trail)").fill("Signed up twice")
    pair.get_by_role("button", name="Disable duplicate…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disable")


def register_with_a_bad_number(page: Page) -> None:
    page.get_by_label("Text message").check()
    page.get_by_label("Email address or cell phone").fill("555-12")
    page.get_by_role("button", name=re.compile("^Send")).click()
    expect(page.locator(".field-error")).to_be_visible()


def send_welcome(page: Page, url: str, link) -> None:
    page.goto(url + reverse("staff:welcome-send", args=[link.patient.pk]))
    page.get_by_role("button", name=re.compile("^Send")).click()
    expect(page.locator("#message-status")).to_be_visible()


def generate_pin(page: Page, url: str, link) -> None:
    page.goto(url + reverse("staff:patient-chart", args=[link.patient.pk]))
    page.get_by_role("button", name=re.compile(f"^Generate PIN for {link.contact.full_name}")).click()
    expect(page.locator("#issued-pin")).to_be_visible()


def audit_filter(page: Page, label: str, text: str) -> None:
    form = page.locator("form.filters")
    for each in ("Patient", "Email"):
        form.get_by_label(each, exact=True).fill(text if each == label else "")
    form.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()


def submit_empty_import(page: Page, url: str) -> None:
    """The button waits for a file; the server's answer to an empty form is checked as well."""
    page.goto(url + reverse("staff:import"))
    expect(page.get_by_role("button", name="Preview the import")).to_be_disabled()
    page.locator("form.import-upload button").evaluate("button => { button.disabled = false; }")
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_text("Choose the file to import first.").first).to_be_visible()
    expect(page.get_by_role("button", name="Preview the import")).to_be_disabled()


def preview_import(page: Page, url: str) -> None:
    page.goto(url + reverse("staff:import"))
    page.get_by_label("Export file").set_input_files(str(IMPORT_TEMPLATE))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.get_by_role("button", name="Import these records")).to_be_enabled()


def import_then_preview_again(page: Page, url: str) -> None:
    """The same file a second time: nothing would change, so the preview says so and offers no import."""
    page.get_by_role("button", name="Import these records").click()
    expect(page.get_by_role("heading", name="Import done")).to_be_visible()
    page.goto(url + reverse("staff:import"))
    page.get_by_label("Export file").set_input_files(str(IMPORT_TEMPLATE))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_text("Nothing to import: every record in this file is here already")).to_be_visible()
    expect(page.get_by_role("button", name="Import these records")).to_have_count(0)
