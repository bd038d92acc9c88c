"""No PIN, password or session key in any log line or audit row, however the journeys go.

Every logger is captured at DEBUG while staff sign in and issue a PIN, a parent redeems it with a new
account, another signs up, and one resets a password; SQL is logged too (Django logs it only with a
debug cursor) and read back with its parameters. Run with `-s` to see how much was scanned.
"""

import logging
import re
from dataclasses import dataclass, field
from io import StringIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import ExceptionReporter

from accounts.models import Session
from registration.models import AuditEvent
from registration.pin_codes import pin_parse
from tests.conftest import PIN_IN_TEXT
from tests.factories import PatientContactFactory, StaffFactory

PASSWORDS = {
    "staff": "front desk pass phrase 4417",
    "staff, mistyped": "front desk pass phrase 4471",
    "parent with a PIN": "parent holding a pin 2231",
    "parent, mistyped": "parent holding a pun 2231",
    "parent signing up": "signing up without pin 5512",
    "parent after a reset": "a fresh phrase after reset 8803",
}
SEPARATORS = re.compile(r"[\s\-_.]")
SQL_LOGGER = "django.db.backends"
# Where session keys belong: the session store (each row naming whose session it is).
SESSION_TABLES = ("accounts_session",)


@dataclass
class Journeys:
    """What the journeys typed, were shown or were given: the secrets to look for."""

    pins: list[str] = field(default_factory=list)
    session_keys: set[str] = field(default_factory=set)
    reset_tokens: list[str] = field(default_factory=list)
    posts: list = field(default_factory=list)  # the POST requests made, for their would-be error reports

    def visit(self, client: Client, method: str, url: str, data: dict | None = None):
        response = getattr(client, method)(url, data or {})
        if method == "post":
            self.posts.append(response.wsgi_request)
        if cookie := client.cookies.get(settings.SESSION_COOKIE_NAME):
            self.session_keys.add(cookie.value)
        return response

    def found_in(self, text: str, *, session_keys: bool = True) -> list[str]:
        """The names of the secrets in `text`: a PIN (or its secret part) in any case, with or without
        separators; a password in any case."""
        found = []
        squashed = SEPARATORS.sub("", text).upper()
        for pin in self.pins:
            if pin.replace("-", "") in squashed or pin_parse(pin).secret in squashed:
                found.append(f"PIN {pin}")
        found += [
            f"password ({name})" for name, word in PASSWORDS.items() if word.casefold() in text.casefold()
        ]
        found += [f"reset token {token}" for token in self.reset_tokens if token in text]
        if session_keys:
            found += [f"session key {key[:6]}…" for key in self.session_keys if key and key in text]
        return found


@pytest.fixture
def every_log_record(caplog, db):
    """Capture every logger at DEBUG, SQL included, and keep all of it off the console."""
    caplog.set_level(logging.DEBUG)
    for name in ("django", SQL_LOGGER):
        caplog.set_level(logging.DEBUG, logger=name)
    consoles = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.CRITICAL + 1)
    yield caplog
    for handler, level in zip(consoles, levels, strict=True):
        handler.setLevel(level)


def _journeys(django_capture_on_commit_callbacks) -> tuple[Journeys, list[dict]]:
    """Run the journeys; return what they used and every SQL statement they sent."""
    journeys = Journeys()
    staff = StaffFactory()
    staff.set_password(PASSWORDS["staff"])
    staff.save()
    link = PatientContactFactory()
    born = link.patient.date_of_birth
    new_account = {
        "account-first_name": "Rosa",
        "account-last_name": "Diaz",
        "account-email": "rosa.diaz@example.net",
        "account-cell_phone": "",
        "account-password": PASSWORDS["parent with a PIN"],
        "account-preferred_language": "en",
    }
    visit = journeys.visit

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        # Staff sign in (after one mistyped password) and issue a PIN; it is shown on the page only.
        desk = Client()
        sign_in = reverse("staff:sign-in")
        visit(desk, "post", sign_in, {"username": staff.username, "password": PASSWORDS["staff, mistyped"]})
        visit(desk, "post", sign_in, {"username": staff.username, "password": PASSWORDS["staff"]})
        page = visit(
            desk,
            "post",
            reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]),
            {"path": "chart", "form_token": "a" * 32},
        )
        journeys.pins.append(PIN_IN_TEXT.search(page.content.decode()).group())
        pin = journeys.pins[0]

        # The parent types it wrong (a wrong birth date), then right, making an account.
        parent = Client()
        typed = pin.lower().replace("-", " ")
        pin_url = reverse("portal:pin-start")
        wrong_day = born.replace(day=1 if born.day != 1 else 2).isoformat()
        visit(parent, "post", pin_url, {"pin": typed, "child_birth_date": wrong_day} | new_account)
        redeemed = visit(
            parent, "post", pin_url, {"pin": typed, "child_birth_date": born.isoformat()} | new_account
        )
        assert redeemed["Location"] == reverse("portal:sign-up-sent")
        # The parent confirms the email from the link, in the browser that chose the password.
        call_command("send_welcome_messages", stdout=StringIO())  # the sweep sends the queued email
        confirm = re.compile(r"/portal/confirm-email/\?lang=\w+#(\S+)")
        key = next(found[1] for email in mail.outbox if (found := confirm.search(email.body)))
        journeys.reset_tokens.append(key.split(".", 1)[1])  # the link's token, searched for like one
        visit(parent, "post", reverse("portal:verify-email"), {"key": key})
        visit(parent, "get", reverse("portal:home"))
        visit(parent, "post", reverse("portal:sign-out"))
        credentials = {"username": new_account["account-email"]}
        visit(
            parent,
            "post",
            reverse("portal:sign-in"),
            credentials | {"password": PASSWORDS["parent, mistyped"]},
        )
        visit(
            parent,
            "post",
            reverse("portal:sign-in"),
            credentials | {"password": PASSWORDS["parent with a PIN"]},
        )

        # Another parent signs up without a PIN.
        visit(
            Client(),
            "post",
            reverse("portal:sign-up"),
            new_account
            | {
                "account-email": "sam.lee@example.net",
                "account-password": PASSWORDS["parent signing up"],
                "child-TOTAL_FORMS": "1",
                "child-INITIAL_FORMS": "0",
                "child-0-first_name": "Leo",
                "child-0-last_name": "Lee",
                "child-0-date_of_birth": "2019-04-17",
            },
        )

        # The first parent forgets their password and resets it from the emailed link.
        forgetful = Client()
        visit(forgetful, "post", reverse("portal:password-reset"), {"email": new_account["account-email"]})
        # The request queued the email; the sweep sends it (and the confirm-your-email ones before it).
        call_command("send_welcome_messages", stdout=StringIO())
        reset = re.compile(r"/portal/password-reset/[^/\s]+/[^/\s]+/")
        link_path = next(found.group() for email in mail.outbox if (found := reset.search(email.body)))
        journeys.reset_tokens.append(link_path.rstrip("/").rsplit("/", 1)[-1])
        form = visit(forgetful, "get", link_path)["Location"]
        new = PASSWORDS["parent after a reset"]
        done = visit(forgetful, "post", form, {"new_password1": new, "new_password2": new})
        assert done["Location"] == reverse("portal:password-reset-done")
        visit(forgetful, "post", reverse("portal:sign-in"), credentials | {"password": new})
        assert "_auth_user_id" in forgetful.session

    assert len(queries) < connection.queries_limit, "some statements fell out of the capture"
    journeys.session_keys |= set(Session.objects.values_list("session_key", flat=True))
    journeys.session_keys.discard(None)
    return journeys, queries.captured_queries


def test_no_pin_password_or_session_key_in_any_log_record_sql_statement_or_audit_row(
    every_log_record, django_capture_on_commit_callbacks
):
    journeys, statements = _journeys(django_capture_on_commit_callbacks)
    records = every_log_record.records
    assert journeys.pins and len(journeys.session_keys) >= 5 and journeys.reset_tokens

    leaks = []
    sql_records = 0
    for record in records:
        is_sql = record.name.startswith(SQL_LOGGER)
        sql_records += is_sql
        text = "\n".join(
            [
                record.getMessage(),
                repr(record.args),
                record.exc_text or "",
                logging.Formatter().formatException(record.exc_info) if record.exc_info else "",
                repr({k: v for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")}),
            ]
        )
        # SQL that reads or writes the session store carries session keys; no other record may.
        session_keys = not (is_sql and any(table in text for table in SESSION_TABLES))
        leaks += [
            f"log {record.name}: {found}" for found in journeys.found_in(text, session_keys=session_keys)
        ]
    for statement in statements:
        session_keys = not any(table in statement["sql"] for table in SESSION_TABLES)
        leaks += [f"SQL: {found}" for found in journeys.found_in(statement["sql"], session_keys=session_keys)]
    events = list(AuditEvent.objects.values())
    for event in events:
        leaks += [f"audit {event['action']}: {found}" for found in journeys.found_in(repr(event))]

    print(
        f"\nscanned {len(records)} log records ({sql_records} of them SQL), {len(statements)} SQL statements"
        f" with their parameters, and {len(events)} audit rows, for {len(journeys.pins)} PIN,"
        f" {len(PASSWORDS)} passwords, {len(journeys.session_keys)} session keys and"
        f" {len(journeys.reset_tokens)} reset token: {len(leaks)} found"
    )
    assert sql_records >= len(statements) > 100, "SQL was not logged: the scan would prove nothing"
    assert not leaks, "\n".join(leaks)


def test_an_error_report_on_any_of_these_requests_would_hold_no_secret(
    every_log_record, django_capture_on_commit_callbacks
):
    """Had a request failed, Django's error report (the email to ADMINS) would show its POST data.

    Every form carrying a PIN or password marks it with `sensitive_post_parameters`, and Django hides the
    session cookie, so the report shows stars instead.
    """
    journeys, _ = _journeys(django_capture_on_commit_callbacks)
    leaks = []
    for request in journeys.posts:
        error = RuntimeError("a failure in the middle of the request")
        report = ExceptionReporter(request, type(error), error, None, is_email=True).get_traceback_text()
        leaks += [f"{request.path}: {found}" for found in journeys.found_in(report)]
    print(f"\n{len(journeys.posts)} POST requests' error reports: {len(leaks)} secrets found")
    assert not leaks, "\n".join(leaks)
