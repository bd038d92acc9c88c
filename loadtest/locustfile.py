"""The load test's visitors, for locust (started by loadtest/run.py, which prepares LOADTEST_DATA).

- Front-desk staff sign in once, then look at the day's dashboard, search patients and open charts;
  others send welcome emails from patients' Register pages, one after another (each to an address of
  its own, so the provider's records show whether any message went out twice).
- Parents redeem a PIN (each PIN from the prepared pool is used once) and open their portal home; one
  visit in ten mistypes the PIN first.
- Parents without a PIN sign up and name a child.

Every parent visit is a new visitor from an address of its own (X-Forwarded-For, with the app told
to trust 127.0.0.1 as its proxy): the per-address rate limits are meant for one client, and a load
generator is one address standing in for many. POSTs do not follow redirects, so each response counts once.
Response times and status codes go to LOADTEST_RESULTS when the run stops.
"""

# ruff: noqa: S311 (random picks what visitors type; nothing here is a secret)

import json
import os
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from locust import HttpUser, between, events, task

DATA = json.loads(Path(os.environ["LOADTEST_DATA"]).read_text())
PINS = DATA["pins"]  # [{"code", "born"}], popped: each used once
REGISTER = DATA["register"]  # [{"patient", "link"}], popped: one welcome message per patient
PASSWORD = "quiet river lantern morning"  # noqa: S105 (what every new parent types)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ERROR = re.compile(r'class="error-summary"[^>]*>(.{0,600}?)</div>', re.DOTALL)  # what a refused form says

timings: dict[str, list[float]] = defaultdict(list)
statuses: Counter = Counter()
failures: Counter = Counter()
clock: dict[str, float] = {}


@events.request.add_listener
def _record(request_type, name, response_time, response, exception, **kwargs):
    timings[f"{request_type} {name}"].append(response_time)
    status = getattr(response, "status_code", 0) or 0  # 0: no answer (connection refused or reset)
    statuses[str(status)] += 1
    if exception is not None:
        failures[f"{request_type} {name}: {str(exception)[:150]}"] += 1


@events.test_start.add_listener
def _started(**kwargs):
    clock["start"] = time.time()
    Path(os.environ["LOADTEST_STARTED"]).touch()  # run.py starts the outage clock now


@events.test_stop.add_listener
def _stopped(**kwargs):
    clock["stop"] = time.time()
    results = {"timings": timings, "statuses": statuses, "failures": failures, **clock}
    Path(os.environ["LOADTEST_RESULTS"]).write_text(json.dumps(results))


def _address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


class Visitor(HttpUser):
    abstract = True
    wait_time = between(0.2, 1.0)

    def new_visitor(self) -> None:
        self.client.cookies.clear()
        self.client.headers["X-Forwarded-For"] = _address()

    def form(self, url: str, name: str) -> str | None:
        """GET a page with a form; return its CSRF token."""
        with self.client.get(url, name=name, catch_response=True) as response:
            found = CSRF.search(response.text)
            if response.status_code == 200 and not found:
                response.failure("no CSRF token on the page")
            return found.group(1) if found else None

    def post(
        self, url: str, name: str, data: dict, *, expect: str, asked_first: tuple[str, ...] = ()
    ) -> str | None:
        """POST a form; return where it redirected, or mark it failed if it did not go to `expect`.

        A page holding one of `asked_first` (an element id) is the app asking staff first, as it
        should: not a failure, and nothing to follow."""
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 200 and any(f'id="{mark}"' in response.text for mark in asked_first):
                response.success()
                return None
            if response.status_code != 302 or expect not in location:
                error = ERROR.search(response.text or "")
                said = " ".join(re.sub(r"<[^>]+>", " ", error.group(1)).split()) if error else "no redirect"
                response.failure(f"{response.status_code}: {said[:150]}")
                return None
            return location


class Staff(Visitor):
    abstract = True

    def on_start(self):
        self.client.headers["X-Forwarded-For"] = _address()
        token = self.form("/staff/sign-in/", "/staff/sign-in/")
        data = {
            "csrfmiddlewaretoken": token,
            "username": DATA["staff_username"],
            "password": DATA["staff_password"],
        }
        self.post("/staff/sign-in/", "/staff/sign-in/", data, expect="/staff/")

    def dashboard(self):
        self.client.get("/staff/", name="/staff/ (dashboard)")


class FrontDesk(Staff):
    """Front-desk staff looking things up: the day's dashboard, patient search, charts."""

    weight = 8

    @task(3)
    def day(self):
        self.dashboard()

    @task(3)
    def search(self):
        self.client.get(f"/staff/patients/?q={random.choice(DATA['searches'])}", name="/staff/patients/?q=")

    @task(3)
    def chart(self):
        self.client.get(f"/staff/patients/{random.choice(DATA['charts'])}/", name="/staff/patients/[id]/")


class FrontDeskSending(Staff):
    """Front-desk staff working through the appointment list: a welcome email for one patient after
    another (path 2), each to an address of its own so the provider's records show any duplicate."""

    weight = 4

    @task
    def send_welcome_email(self):
        if not REGISTER:
            return self.dashboard()
        target = REGISTER.pop()
        url = f"/staff/patients/{target['patient']}/register/"
        token = self.form(url, "/staff/patients/[id]/register/")
        data = {
            "csrfmiddlewaretoken": token,
            "contact": target["link"],
            "channel": "email",
            "address": f"welcome-{uuid.uuid4().hex[:12]}@example.org",
            "duplicate_override_reason": "",
        }
        # Parents sign up meanwhile: one may be this patient's ("may already have signed up", asked
        # first), or a PIN from the pool may be out for the child ("A PIN is already out").
        location = self.post(
            url,
            "/staff/patients/[id]/register/",
            data,
            expect="/staff/messages/",
            asked_first=("dup-title", "replace-title"),
        )
        if location:
            self.client.get(location, name="/staff/messages/[id]/")


def _account(prefix: str) -> dict:
    return {
        "account-first_name": "Load",
        "account-last_name": "Tester",
        "account-email": f"{prefix}-{uuid.uuid4().hex[:12]}@example.net",
        "account-cell_phone": "",
        "account-password": PASSWORD,
        "account-preferred_language": random.choice(["en", "es"]),
    }


class ParentWithPin(Visitor):
    weight = 5

    @task
    def redeem(self):
        self.new_visitor()
        if not PINS:
            self.client.get("/portal/", name="/portal/")
            return
        pin = PINS.pop()
        token = self.form("/portal/pin/", "/portal/pin/")
        if random.random() < 0.1:  # a mistyped PIN first
            mistyped = {
                "csrfmiddlewaretoken": token,
                "pin": "ZZZZ-ZZZZ-ZZZZ",
                "child_birth_date": pin["born"],
            }
            self.client.post(
                "/portal/pin/", data={**mistyped, **_account("typo")}, name="/portal/pin/ (wrong PIN)"
            )
        data = {
            "csrfmiddlewaretoken": token,
            "pin": pin["code"],
            "child_birth_date": pin["born"],
            **_account("pin"),
        }
        # A new account sees its child once its email is confirmed (issue 12): the page says so.
        if self.post("/portal/pin/", "/portal/pin/", data, expect="/portal/sign-up/sent/"):
            self.client.get("/portal/sign-up/sent/", name="/portal/sign-up/sent/")


class ParentSigningUp(Visitor):
    weight = 3

    @task
    def sign_up(self):
        self.new_visitor()
        token = self.form("/portal/sign-up/", "/portal/sign-up/")
        year = random.randrange(2010, 2025)
        data = {
            "csrfmiddlewaretoken": token,
            **_account("signup"),
            "child-TOTAL_FORMS": "1",
            "child-INITIAL_FORMS": "0",
            "child-0-first_name": random.choice(["Ava", "Leo", "Mia", "Noah", "Zoe", "Eli"]),
            "child-0-last_name": f"Tester{uuid.uuid4().hex[:6]}",
            "child-0-date_of_birth": f"{year}-0{random.randrange(1, 10)}-1{random.randrange(0, 10)}",
        }
        if self.post("/portal/sign-up/", "/portal/sign-up/", data, expect="/portal/sign-up/sent/"):
            self.client.get("/portal/sign-up/sent/", name="/portal/sign-up/sent/")
