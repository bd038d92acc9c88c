"""Browser tests: Playwright drives Debian's Chromium against Django's live server.

`playwright install` cannot download browsers here, so the launch fixture points at /usr/bin/chromium.
Every test gets `snap(page, step)` for full-page screenshots under var/screenshots/, and every page it
opens is watched for Content-Security-Policy violations and uncaught script errors.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from tests.browser.pages import DESKTOP
from tests.factories import StaffFactory, admin_user

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

# How Chromium reports a blocked resource on the console: "Refused to ..." in older versions, "... violates
# the following Content Security Policy directive ..." in 156. The init script also turns each
# `securitypolicyviolation` event into a console line, whatever the browser's own wording.
CSP_PATTERN = re.compile(r"Refused to|Content[- ]Security[- ]Policy|securitypolicyviolation", re.IGNORECASE)
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = location.pathname;
  console.error(`securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI} on ${where}`);
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP}


@pytest.fixture
def browser_log():
    """Console messages and page errors of every page the test opens."""
    return {"console": [], "errors": []}


@pytest.fixture(autouse=True)
def _watch_the_browser(context, browser_log):
    """Record the console and uncaught errors of every page; fail the test on a CSP violation or a
    Permissions-Policy feature the browser does not know."""

    def watch(page: Page) -> None:
        page.on("console", lambda message: browser_log["console"].append(_describe(page, message)))
        page.on("pageerror", lambda error: browser_log["errors"].append(_describe_error(page, error)))

    context.add_init_script(CSP_LISTENER)
    context.on("page", watch)
    yield
    violations = [line for line in browser_log["console"] + browser_log["errors"] if CSP_PATTERN.search(line)]
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
    # A feature in settings.PERMISSIONS_POLICY that Chromium does not know is logged on every page.
    unknown = [line for line in browser_log["console"] if "Permissions-Policy" in line]
    assert not unknown, "Permissions-Policy header errors:\n" + "\n".join(unknown)
    assert not browser_log["errors"], "Uncaught script errors:\n" + "\n".join(browser_log["errors"])


def _describe(page: Page, message: ConsoleMessage) -> str:
    return f"[{message.type}] {page.url}: {message.text}"


def _describe_error(page: Page, error: Error) -> str:
    return f"[pageerror] {page.url}: {error}"


@pytest.fixture
def snap(request):
    """`snap(page, step)`: save a full-page screenshot as var/screenshots/<test>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = request.node.originalname
    callspec = getattr(request.node, "callspec", None)
    if callspec:  # parametrized: add the ids, less the browser's that pytest-playwright puts first
        ids = callspec.id.removeprefix(str(callspec.params.get("browser_name", ""))).strip("-")
        test = "-".join(filter(None, [test, re.sub(r"[^A-Za-z0-9_.-]+", "_", ids)]))

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{step}.png"
        screenshot(page, path)
        return path

    return take


def screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot. Chromium now and then answers "Unable to capture screenshot" on a loaded
    machine (seen once in a thousand, with two test workers): the picture is evidence, not the test, so
    it is asked for once more before the error stands."""
    try:
        page.screenshot(path=str(path), full_page=True)
    except Error as error:
        if "Unable to capture screenshot" not in str(error):
            raise
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def front_desk(transactional_db):
    return StaffFactory()


@pytest.fixture
def practice_admin(transactional_db):
    return admin_user()


@pytest.fixture
def sign_in(live_server, snap):
    """Sign in through the real sign-in page, as a person would, and land on the dashboard.

    Screenshots of both pages are `sign-in` and `dashboard`, unless `screenshot=False`.
    """

    def sign_in_as(page: Page, user, *, screenshot: bool = True) -> None:
        page.goto(f"{live_server.url}/staff/sign-in/")
        expect(page.get_by_role("heading", name="Staff sign in")).to_be_visible()
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        if screenshot:
            snap(page, "sign-in")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server.url}/staff/")
        expect(page.get_by_role("navigation", name="Staff")).to_be_visible()
        if screenshot:
            snap(page, "dashboard")

    return sign_in_as
