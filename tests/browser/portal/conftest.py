"""Parent-portal browser tests: a phone-sized browser, screenshots named portal-<test>-<step>.png, and an
axe-core audit (WCAG 2.1 A and AA) of every page a test looks at.

The CSP and script-error watch of tests/browser/conftest.py applies here too. axe is injected with
`page.evaluate` (the DevTools protocol), which the pages' Content-Security-Policy does not block, so the
browser context keeps enforcing CSP.
"""

import re
import warnings

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import SCREENSHOTS, screenshot

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}  # portrait, as the issue 13 walk used
SCREENS = {"phone": PHONE, "tablet": TABLET}
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}

# Violations already reported against the app, each pinned by a strict xfail test that audits without this
# filter (so the filter must go when the app is fixed). Elsewhere they are shown as warnings, not failures,
# so the rest of each page is still audited. (rule id, pattern of the offending node's HTML, where pinned)
KNOWN_ISSUES: list[tuple[str, re.Pattern, str]] = []


class KnownAccessibilityIssue(UserWarning):
    pass


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": PHONE,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
        "locale": "en-US",
    }


@pytest.fixture(autouse=True)
def _portal_links_point_at_the_live_server(settings, live_server):
    """Links in emails and texts (PORTAL_BASE_URL + path) open the server under test."""
    settings.PORTAL_BASE_URL = live_server.url


@pytest.fixture
def sms_outbox(settings, tmp_path):
    """Texts from the outbox SMS backend land in this test's own folder, as sms-<message id>.json."""
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


class Audit:
    """Screenshots and axe results of each page a test looks at; violations are reported together."""

    def __init__(self, test: str):
        self.test = test
        self.axe = Axe()
        self.audited: list[str] = []
        self.violations: list[str] = []

    def look(self, page: Page, step: str, *, axe: bool = True, known_issues: bool = True) -> None:
        """Save var/screenshots/portal-<test>-<step>.png and, unless `axe=False`, run axe on the page.

        `known_issues=False` counts the KNOWN_ISSUES as violations too.
        """
        screenshot(page, SCREENSHOTS / f"portal-{self.test}-{step}.png")
        if axe:
            self.check(page, step, known_issues=known_issues)

    def check(self, page: Page, step: str, *, known_issues: bool = True) -> None:
        results = self.axe.run(page, options=AXE_OPTIONS).response
        self.audited.append(step)
        for violation in results["violations"]:
            rule = violation["id"]
            what = f"{step} ({page.url}): {rule} [{violation['impact']}] {violation['help']}"
            known = [n for n in violation["nodes"] if known_issues and _known(rule, n["html"])]
            unknown = [n for n in violation["nodes"] if n not in known]
            if unknown:
                self.violations.append(f"{what} -> {_targets(unknown)}")
            if known:
                warnings.warn(
                    f"known issue: {what} -> {_targets(known)}", KnownAccessibilityIssue, stacklevel=3
                )

    def assert_clean(self) -> None:
        assert self.audited, "no page was audited"
        assert not self.violations, "axe-core WCAG 2.1 A/AA violations:\n" + "\n".join(self.violations)


def _targets(nodes: list[dict]) -> str:
    return "; ".join(" ".join(node["target"]) for node in nodes)


def _known(rule: str, html: str) -> bool:
    return any(rule == known_rule and pattern.search(html) for known_rule, pattern, _ in KNOWN_ISSUES)


@pytest.fixture
def audit(request):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.originalname.removeprefix("test_"))
    return Audit(test)


@pytest.fixture
def screen(request, page: Page, audit) -> str:
    """Walk a test at each size: `@pytest.mark.parametrize("screen", ["phone", "tablet"], indirect=True)`.

    The browser starts phone-sized; "tablet" resizes it. Screenshots are named with the size.
    """
    size = getattr(request, "param", "phone")
    page.set_viewport_size(SCREENS[size])
    audit.test = f"{audit.test}-{size}"
    return size
