"""The EHR feed page on a phone (390x844): an admin on call finds it in the navigation, reads the feed's
state and a refused message's text. Screenshots: var/screenshots/test_feed_page_on_a_phone-*.png."""

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from registration.models import AuditEvent, FeedMessage
from tests.browser.pages import horizontal_overflow, nav
from tests.browser.portal.conftest import AXE_OPTIONS

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
Outcome = FeedMessage.Outcome


def received(minutes_ago: float, control_id: str, message_type: str, outcome: str, error: str = "", **fields):
    ack = {Outcome.REFUSED: "AE", Outcome.UNREADABLE: "AR"}.get(outcome, "AA")
    raw = (
        f"MSH|^~\\&|EPIC|NORTHPEDS|PORTALREG|NORTHPEDS|20260601091500||{message_type}|{control_id}|P|2.5.1\r"
        "EVN|A08|20260601091500\r"
        "PID|1||MRN-20417^^^NORTHPEDS^MR||Okafor^Chidi^A||20190814|M\r"
        "NK1|1|Okafor^Adaeze|MTH^Mother^HL70063|||(312)555-0147\r"
    )
    return FeedMessage.objects.create(
        **{
            "sender": "EPIC^NORTHPEDS",
            "control_id": control_id,
            "message_type": message_type,
            "received_at": _today_or_before(minutes_ago),
            "outcome": outcome,
            "ack_code": ack,
            "error": error,
            "peer": "10.20.0.14",
            "size": len(raw),
            "raw": raw,
        }
        | fields
    )


def _today_or_before(minutes_ago: float) -> dt.datetime:
    """`minutes_ago`, but not before the practice's midnight unless a day or more ago: a test run just
    after midnight in New York must still find the last hours' messages under today."""
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return at if minutes_ago >= 24 * 60 else max(at, midnight + dt.timedelta(seconds=1))


def axe_violations(page: Page) -> list[str]:
    found = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']}: {' '.join(' '.join(n['target']) for n in v['nodes'])}" for v in found]


def test_feed_page_on_a_phone(page: Page, live_server, sign_in, practice_admin, snap):
    for n in range(6):
        received(30 + n * 20, f"Q{n:04d}", "ADT^A08", Outcome.APPLIED)
    received(25, "S0091", "SIU^S12", Outcome.APPLIED)
    received(24, "S0092", "SIU^S14", Outcome.APPLIED)
    received(22, "O0001", "ORU^R01", Outcome.IGNORED)
    refused = received(
        2, "Q0777", "ADT^A08", Outcome.REFUSED, "PID-7 (date of birth) is not a date: 2019-14-08"
    )
    received(15, "", "", Outcome.UNREADABLE, "Not an HL7 v2 message: it does not start with MSH")
    received(
        60 * 24 * 40,
        "Q0451",
        "ADT^A04",
        Outcome.REFUSED,
        "No patient with MRN-00001",
        raw="",
        raw_pruned_at=timezone.now() - dt.timedelta(days=10),
    )
    page.set_viewport_size(PHONE)
    sign_in(page, practice_admin, screenshot=False)

    nav(page).get_by_role("link", name="EHR feed").click()

    expect(page.get_by_role("heading", name="EHR feed", level=1)).to_be_visible()
    expect(page.locator("#feed-status")).to_contain_text("Last message 2 minutes ago: ADT^A08, refused")
    today = page.get_by_role("region", name="Messages received today")
    expect(today.get_by_role("row", name="ADT^A08")).to_contain_text("6")
    errors = page.get_by_role("region", name="Recent errors")
    expect(errors.get_by_role("row")).to_have_count(4)  # a heading row and three errors
    expect(errors.get_by_role("row").nth(1)).to_contain_text("Q0777")
    expect(errors.get_by_role("row").nth(3)).to_contain_text("pruned")
    snap(page, "feed")
    assert horizontal_overflow(page) is None
    box = errors.locator("table").bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"], "the errors are cut off on a phone"
    assert axe_violations(page) == []

    errors.get_by_role("link", name="View message Q0777").click()

    expect(page.get_by_role("heading", name="ADT^A08 Q0777", level=1)).to_be_visible()
    expect(page.get_by_text("PID-7 (date of birth) is not a date: 2019-14-08")).to_be_visible()
    expect(page.locator("pre")).to_contain_text("PID|1||MRN-20417^^^NORTHPEDS^MR||Okafor^Chidi^A")
    snap(page, "message")
    assert horizontal_overflow(page) is None  # a long segment scrolls inside its box
    assert axe_violations(page) == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.FEED_MESSAGE_READ)
    assert (event.actor, event.details["control_id"]) == (practice_admin, refused.control_id)
