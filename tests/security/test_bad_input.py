"""Bad input: generated submissions to every form, and generated text to the PIN parser.

Whatever is typed, no form answers with a server error, and nothing is half-saved: a refused
submission changes no row of any table, an accepted one adds exactly the rows it should. Each
submission runs in a savepoint that is rolled back, so each meets the same database (rate-limit
counters included). Run with `-s` to see how many inputs each form was given.
"""

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import SUCCESS, get_messages
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import ADMIN_GROUP
from registration.models import WelcomeMessage
from registration.pin_codes import ALPHABET, PinFormatError, PinParts, pin_parse
from registration.portal.forms import ChildFormSet
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import ChildDetails
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    AppointmentFactory,
    NewAccountFactory,
    PatientContactFactory,
    StaffFactory,
    confirmed_self_registration,
)
from tests.security._hostile_input import junk, pin_mangled, submissions
from tests.security._quiet_logs import quiet_request_log  # noqa: F401 (autouse)

EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "40"))  # per form; more for a longer hunt
PARSER_EXAMPLES = 200
STAFF_PASSWORD = "correct horse battery staple"  # StaffFactory's
PARENT_PASSWORD = "a long enough pass phrase"  # NewAccountFactory's
PARENTS_PHONE = "+13125550194"  # the practice's parent and requester share it
# Rows any request may touch (sessions, sign-in records, rate-limit counters, queued tasks).
# The practice snapshot is counted from the records, never a record itself (registration/statistics/):
# any staff page may retake it. So are the kept counts (status marks and tallies), which follow the PINs and
# accesses checked here; tests/statistics/ checks them.
VOLATILE_TABLES = {
    "accounts_session",
    "ratelimits_hit",
    "registration_registrationsnapshot",
    "registration_statusmark",
    "registration_statustally",
}
SNAPSHOT_APPS = {"accounts", "patients", "registration"}


# ---------------------------------------------------------------- what a submission may leave behind


@dataclass(frozen=True)
class Effect:
    """Rows a submission leaves: how many are added to each table, and which tables it may update."""

    added: dict[str, int] = field(default_factory=dict)
    updated: frozenset[str] = frozenset()

    def allows(self, changes: dict[str, int]) -> bool:
        """`changes`: for each table whose rows differ, how many rows it gained."""
        if any(changes.get(table, 0) != count for table, count in self.added.items()):
            return False
        return all(
            (table in self.added and delta == self.added[table]) or (table in self.updated and delta == 0)
            for table, delta in changes.items()
        )


NOTHING = Effect()
USER, ACCOUNT, ACCESS, PIN = (
    "accounts_user",
    "registration_portalaccount",
    "registration_portalaccess",
    "registration_pin",
)
AUDIT, REQUEST = "registration_auditevent", "registration_selfregistrationrequest"
CONTACT, LINK, WELCOME = "patients_familycontact", "patients_patientcontact", "registration_welcomemessage"
EMAIL = "registration_parentaccountemail"  # an email about a parent's account, queued


def _tables() -> list[str]:
    return [
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in SNAPSHOT_APPS and model._meta.db_table not in VOLATILE_TABLES
    ]


def _snapshot(tables) -> dict[str, list[str]]:
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (our tables)
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


def _changes(before, after) -> dict[str, int]:
    return {table: len(after[table]) - len(rows) for table, rows in before.items() if after[table] != rows}


# ---------------------------------------------------------------- the practice the forms are tried on


@dataclass
class Practice:
    users: dict[str, object]
    pin_code: str
    pin_birth_date: dt.date
    patient: object  # unregistered, with one contact and an appointment
    link: object
    appointment: object
    request: object  # a self-registration waiting for staff, for `match_patient`
    match_patient: object
    match_link: object
    parent: object  # a registered parent's portal account
    requester: object  # the account that sent `request`
    message: object  # a welcome message to a contact who has since signed up without a PIN


@pytest.fixture
def practice(db):
    desk = StaffFactory()
    admin = StaffFactory(role=ADMIN_GROUP, is_staff=True, is_superuser=True)
    link = PatientContactFactory()
    pin_link = PatientContactFactory()
    issued = pin_issue(patient=pin_link.patient, contact=pin_link.contact, path="chart", by=desk)
    registered = PatientContactFactory()
    first = pin_issue(patient=registered.patient, contact=registered.contact, path="chart", by=desk)
    parent = pin_redeem(
        code=first.code,
        child_birth_date=registered.patient.date_of_birth,
        new_account=NewAccountFactory(email="parent@example.net", cell_phone=PARENTS_PHONE),
    ).account
    match_link = PatientContactFactory()
    request = confirmed_self_registration(
        children=[
            ChildDetails(
                match_link.patient.first_name, match_link.patient.last_name, match_link.patient.date_of_birth
            )
        ],
        # One cell phone: the duplicates page pairs the two accounts.
        new_account=NewAccountFactory(email="requester@example.net", cell_phone=PARENTS_PHONE),
    )[0]
    invited = PatientContactFactory()
    message = welcome_invite(
        patient=invited.patient,
        contact=invited.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=invited.contact.email,
        by=desk,
    )
    confirmed_self_registration(  # so sending again needs a reason (a possible duplicate)
        children=[ChildDetails("Ivy", "Irwin", dt.date(2021, 5, 5))],
        new_account=NewAccountFactory(email=invited.contact.email),
    )
    return Practice(
        users={"front desk": desk, "admin": admin, "parent": parent.user},
        pin_code=issued.code,
        pin_birth_date=pin_link.patient.date_of_birth,
        patient=link.patient,
        link=link,
        appointment=AppointmentFactory(patient=link.patient),
        request=request,
        match_patient=match_link.patient,
        match_link=match_link,
        parent=parent,
        requester=request.account,
        message=message,
    )


# ---------------------------------------------------------------- the forms


@dataclass(frozen=True)
class Form:
    """One form as a person meets it: who submits it, where, what it takes, and what it leaves."""

    role: str | None  # None: not signed in
    method: str
    url: Callable[[Practice], str]
    valid: Callable[[Practice], dict[str, str]]  # a submission it accepts
    accepted: Callable[[object], bool]
    others: Callable[[Practice], dict[str, list[str]]] = lambda practice: {}  # other plausible values
    # Drawing submissions some other way than spoiling `valid` with `others` and junk.
    strategy: Callable[[Practice], st.SearchStrategy[dict]] | None = None
    # The effects an accepted submission may have, given what was submitted.
    effects: Callable[[Practice, dict], list[Effect]] = lambda practice, data: [NOTHING]
    # Effects a refused submission may have besides none at all (a wrong try counted against a PIN).
    refused_effects: tuple[Effect, ...] = ()
    # Inputs that once made this page fail, tried every run.
    regressions: tuple[dict[str, str], ...] = ()

    def submissions(self, practice: Practice) -> st.SearchStrategy[dict]:
        if self.strategy is not None:
            return self.strategy(practice)
        return submissions(self.valid(practice), self.others(practice))

    def fixed_inputs(self, practice: Practice) -> list[dict[str, str]]:
        """A NUL in each field of the valid submission in turn, and the regressions."""
        valid = self.valid(practice)
        return [valid | {name: f"{value}\x00"} for name, value in valid.items()] + [
            valid | regression for regression in self.regressions
        ]


def _stays_on_this_site(location: str) -> bool:
    """A redirect to our own pages only. Browsers read a backslash as a slash: `/\\evil` is `//evil`."""
    parts = urlsplit(location.replace("\\", "/"))
    return (not parts.scheme and not parts.netloc) or parts.netloc == "testserver"


def _redirects_to(prefix: str) -> Callable[[object], bool]:
    return lambda response: response.status_code == 302 and response["Location"].startswith(prefix)


def _rendered(template: str) -> Callable[[object], bool]:
    return lambda response: response.status_code == 200 and template in [t.name for t in response.templates]


def _succeeded(response) -> bool:
    return any(message.level == SUCCESS for message in get_messages(response.wsgi_request))


def _signed_in(response) -> bool:
    return SESSION_KEY in response.wsgi_request.session


NEW_ACCOUNT = {
    "account-first_name": "Rosa",
    "account-last_name": "Diaz",
    "account-email": "new.parent@example.net",
    "account-cell_phone": "(202) 555-0143",
    "account-password": "quiet river lantern morning",
    "account-preferred_language": "es",
}
ACCOUNT_OTHERS = {
    "account-email": ["PARENT@example.net", " spaced@example.net ", "new.parent@EXAMPLE.net"],
    "account-cell_phone": ["", "+12025550143", "202.555.0143"],
    "account-preferred_language": ["en"],
    "account-password": ["password", "Rosa Diaz new.parent", "x" * 129, "x" * 128],
}
CHILD = {
    "child-TOTAL_FORMS": "1",
    "child-INITIAL_FORMS": "0",
    "child-0-first_name": "Leo",
    "child-0-last_name": "Diaz",
    "child-0-date_of_birth": "2019-04-17",
}
# Where a sign-in may be asked to go next: only our own pages are followed.
OTHER_NEXT = [
    "/portal/home/",
    "/staff/patients/",
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
]
# Digits that are not ASCII ("²".isdigit(), but int("²") fails), and more than int() reads.
NOT_A_NUMBER = ["\u00b2", "9" * 5000]


def _pin_valid(practice: Practice) -> dict[str, str]:
    return {"pin": practice.pin_code, "child_birth_date": practice.pin_birth_date.isoformat()}


@st.composite
def _pins(draw, practice: Practice) -> dict:
    born = practice.pin_birth_date
    other_days = [born.strftime("%m/%d/%Y"), (born - dt.timedelta(days=1)).isoformat(), "2999-01-01"]
    data = draw(submissions(_pin_valid(practice), {"child_birth_date": other_days}))
    if data.get("pin") == practice.pin_code:
        data["pin"] = draw(st.one_of(pin_mangled(practice.pin_code), st.just(practice.pin_code)))
    return data


@st.composite
def _children(draw) -> dict:
    rows = draw(st.integers(min_value=1, max_value=3), label="children")
    valid = {"child-TOTAL_FORMS": str(rows), "child-INITIAL_FORMS": "0"}
    for i in range(rows):
        valid |= {
            f"child-{i}-first_name": f"Leo{'n' * i}",
            f"child-{i}-last_name": "Diaz",
            f"child-{i}-date_of_birth": f"201{i}-04-17",
        }
    data = draw(submissions(valid, {"child-TOTAL_FORMS": ["0", "7", "1000", "-1", *NOT_A_NUMBER]}))
    if draw(st.booleans(), label="add_child"):
        data["add_child"] = "1"
    return data


def _sign_up_effects(practice: Practice, data: dict) -> list[Effect]:
    children = ChildFormSet(data, prefix="child")
    assert children.is_valid(), "accepted, with children the form refuses"
    named = sum(1 for row in children.cleaned_data if row)
    made = Effect(added={USER: 1, ACCOUNT: 1, REQUEST: named, AUDIT: 1, EMAIL: 1})
    # An email that has an account: the answer is the same, the owner is emailed (a parent's), nothing
    # else is made.
    return [made, Effect(added={EMAIL: 1}), NOTHING]


WRONG_BIRTH_DATE = Effect(added={AUDIT: 1}, updated=frozenset({PIN}))
SIGNED_IN = Effect(added={AUDIT: 1}, updated=frozenset({USER}))  # the sign-in's audit event, last_login
SIGN_IN_REFUSED = Effect(added={AUDIT: 1})  # the refused sign-in's audit event

FORMS: dict[str, Form] = {
    # ---------------------------------------------------------------- staff
    "GeneratePinForm (Generate PIN)": Form(
        role="front desk",
        method="post",
        url=lambda p: reverse("staff:pin-generate", args=[p.patient.pk, p.link.contact_id]),
        valid=lambda p: {
            "path": "chart",
            "appointment": "",
            "form_token": "f" * 32,
            "duplicate_override_reason": "",
        },
        others=lambda p: {
            "path": ["appointment_window", "patient_admin", "appointment_list", "self_registration"],
            "appointment": [str(p.appointment.pk), "999999", str(2**63), str(10**30)],
            "duplicate_override_reason": ["x" * 500, "x" * 501],
        },
        accepted=_rendered("staff/pin_issued.html"),
        effects=lambda p, data: [Effect(added={PIN: 1, AUDIT: 1})],
    ),
    "WelcomeForm (Register, path 2)": Form(
        role="front desk",
        method="post",
        url=lambda p: reverse("staff:welcome-send", args=[p.patient.pk]),
        valid=lambda p: {
            "contact": str(p.link.pk),
            "channel": "email",
            "address": "",
            "duplicate_override_reason": "",
        },
        others=lambda p: {
            "contact": [str(p.match_link.pk), "999999"],
            "channel": ["sms"],
            "address": ["new.address@example.org", "(202) 555-0199", "+44 20 7946 0958", "2025550199"],
        },
        accepted=_redirects_to("/staff/messages/"),
        effects=lambda p, data: [Effect(added={PIN: 1, WELCOME: 1, AUDIT: 1}, updated=frozenset({CONTACT}))],
    ),
    "Register page (?appointment=)": Form(
        role="front desk",
        method="get",
        url=lambda p: reverse("staff:welcome-send", args=[p.patient.pk]),
        valid=lambda p: {"appointment": str(p.appointment.pk)},
        others=lambda p: {"appointment": ["999999", str(10**30), *NOT_A_NUMBER]},
        accepted=_rendered("staff/welcome_send.html"),
        regressions=tuple({"appointment": value} for value in NOT_A_NUMBER),
    ),
    "Send again (ResendForm)": Form(
        role="front desk",
        method="post",
        url=lambda p: reverse("staff:welcome-resend", args=[p.message.pk]),
        valid=lambda p: {"duplicate_override_reason": "The same mother, checked by phone."},
        others=lambda p: {"duplicate_override_reason": ["x" * 500, "x" * 501]},
        accepted=_redirects_to("/staff/messages/"),
        effects=lambda p, data: [
            Effect(added={PIN: 1, WELCOME: 1, AUDIT: 1}, updated=frozenset({PIN, WELCOME, CONTACT}))
        ],
    ),
    "Reconcile page (?patient=&contact=)": Form(
        role="front desk",
        method="get",
        url=lambda p: reverse("staff:reconcile", args=[p.request.pk]),
        valid=lambda p: {"patient": str(p.match_patient.pk), "contact": str(p.match_link.contact_id)},
        others=lambda p: {"patient": ["999999", *NOT_A_NUMBER], "contact": ["new", "999999"]},
        accepted=_rendered("staff/reconcile.html"),
    ),
    "AuthenticateForm (reconcile a self-registration)": Form(
        role="front desk",
        method="post",
        url=lambda p: reverse("staff:authenticate", args=[p.request.pk]),
        valid=lambda p: {"match": f"{p.match_patient.pk}:{p.match_link.contact_id}", "relationship": ""},
        others=lambda p: {
            "match": [f"{p.match_patient.pk}:new", f"{p.patient.pk}:{p.link.contact_id}", "1:2:3", ":"],
            "relationship": ["mother", "father", "guardian"],
        },
        accepted=_redirects_to("/staff/patients/"),
        effects=lambda p, data: [
            Effect(added={ACCESS: 1, AUDIT: 1}, updated=frozenset({REQUEST, PIN})),
            Effect(added={ACCESS: 1, AUDIT: 1, CONTACT: 1, LINK: 1}, updated=frozenset({REQUEST, PIN})),
        ],
    ),
    "DeclineForm (decline a self-registration)": Form(
        role="front desk",
        method="post",
        url=lambda p: reverse("staff:decline", args=[p.request.pk]),
        # Sent back from the confirmation page; without `confirmed` it shows that page and changes nothing.
        valid=lambda p: {"reason": "no_match", "note": "We have no patient of that name.", "confirmed": "1"},
        others=lambda p: {
            "reason": ["other", "call_practice", "We have no patient of that name."],
            "note": ["", "x" * 500],
            "confirmed": ["", "0"],
        },
        accepted=_succeeded,
        effects=lambda p, data: [Effect(added={AUDIT: 1}, updated=frozenset({REQUEST}))],
    ),
    "DisableDuplicateForm (duplicate accounts)": Form(
        role="admin",
        method="post",
        url=lambda p: reverse("staff:disable-duplicate"),
        valid=lambda p: {
            "first": str(p.parent.pk),
            "second": str(p.requester.pk),
            "keep": str(p.parent.pk),
            "reason": "Signed up twice",
            "confirmed": "1",
        },
        others=lambda p: {
            "first": [str(p.requester.pk), "999999"],
            "second": [str(p.parent.pk)],
            "keep": [str(p.requester.pk), "999999"],
            "confirmed": ["", "0"],
        },
        accepted=_succeeded,
        effects=lambda p, data: [
            Effect(added={AUDIT: 1}, updated=frozenset({ACCOUNT, USER, ACCESS, REQUEST, PIN}))
        ],
    ),
    "PatientSearchForm (patient administration)": Form(
        role="front desk",
        method="get",
        url=lambda p: reverse("staff:patient-search"),
        valid=lambda p: {"q": p.patient.last_name, "status": "", "page": "1"},
        others=lambda p: {
            "q": [p.patient.mrn, p.patient.date_of_birth.strftime("%m/%d/%Y"), "(202) 555-0143", "a@b.c"],
            "status": ["registered", "pending", "not_registered"],
            "page": ["2", "0", "-1", str(2**63), *NOT_A_NUMBER],
        },
        accepted=_rendered("staff/patient_search.html"),
        regressions=tuple({"page": value} for value in [*NOT_A_NUMBER, str(2**63)]),
    ),
    "AuditFilterForm (audit trail)": Form(
        role="admin",
        method="get",
        url=lambda p: reverse("staff:audit"),
        valid=lambda p: {
            "patient": "",
            "email": "",
            "actor": "",
            "action": "",
            "date_from": "",
            "date_to": "",
            "page": "1",
        },
        others=lambda p: {
            "patient": [p.patient.mrn, p.patient.last_name, "NO-SUCH-MRN", "%", "04/17/2019"],
            "email": [p.users["parent"].email, "nobody@example.org", "%@%"],
            "actor": [str(p.users["front desk"].pk), str(p.users["parent"].pk)],
            "action": ["pin_issued", "account_disabled"],
            "date_from": ["2026-01-01", "0001-01-01", "9999-12-31"],
            "date_to": ["2026-12-31", "0001-01-01", "9999-12-31"],
            "page": ["2", "last", *NOT_A_NUMBER],
        },
        accepted=_rendered("staff/audit.html"),
        regressions=({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}),
    ),
    "DayForm (dashboard)": Form(
        role="front desk",
        method="get",
        url=lambda p: reverse("staff:dashboard"),
        valid=lambda p: {"day": dt.date.today().isoformat()},
        others=lambda p: {"day": ["0001-01-01", "9999-12-31"]},
        accepted=_rendered("staff/dashboard.html"),
        regressions=({"day": "9999-12-31"}, {"day": "0001-01-01"}),
    ),
    "StaffAuthenticationForm (staff sign-in)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("staff:sign-in"),
        valid=lambda p: {"username": p.users["front desk"].username, "password": STAFF_PASSWORD, "next": ""},
        others=lambda p: {
            "username": ["parent@example.net", p.users["admin"].username],
            "password": [PARENT_PASSWORD],
            "next": OTHER_NEXT,
        },
        accepted=_signed_in,
        effects=lambda p, data: [SIGNED_IN],
        refused_effects=(SIGN_IN_REFUSED,),
    ),
    # ---------------------------------------------------------------- parent portal
    "PinForm + NewAccountForm (register with a PIN)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("portal:pin-start"),
        valid=lambda p: _pin_valid(p) | NEW_ACCOUNT,
        strategy=lambda p: st.builds(
            lambda pin, account: pin | account, _pins(p), submissions(NEW_ACCOUNT, ACCOUNT_OTHERS)
        ),
        # Not signed in: the new account signs in once its email is confirmed (issue 12).
        accepted=_redirects_to("/portal/sign-up/sent/"),
        effects=lambda p, data: [
            Effect(added={USER: 1, ACCOUNT: 1, ACCESS: 1, AUDIT: 1, EMAIL: 1}, updated=frozenset({PIN}))
        ],
        refused_effects=(WRONG_BIRTH_DATE,),
    ),
    "PinForm (a signed-in parent adds a child)": Form(
        role="parent",
        method="post",
        url=lambda p: reverse("portal:pin-start"),
        valid=_pin_valid,
        strategy=_pins,
        accepted=_redirects_to("/portal/home/"),
        effects=lambda p, data: [Effect(added={ACCESS: 1, AUDIT: 1}, updated=frozenset({PIN}))],
        refused_effects=(WRONG_BIRTH_DATE,),
    ),
    "NewAccountForm + ChildFormSet (sign up without a PIN)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("portal:sign-up"),
        valid=lambda p: NEW_ACCOUNT | CHILD,
        strategy=lambda p: st.builds(
            lambda account, children: account | children,
            submissions(NEW_ACCOUNT, ACCOUNT_OTHERS),
            _children(),
        ),
        accepted=_redirects_to("/portal/sign-up/sent/"),
        effects=_sign_up_effects,
        regressions=tuple({"add_child": "1", "child-TOTAL_FORMS": value} for value in NOT_A_NUMBER),
    ),
    "ParentSignInForm (portal sign-in)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("portal:sign-in"),
        valid=lambda p: {"username": "parent@example.net", "password": PARENT_PASSWORD, "next": ""},
        others=lambda p: {
            "username": [" PARENT@example.net ", p.users["front desk"].email],
            "password": [STAFF_PASSWORD],
            "next": OTHER_NEXT,
        },
        accepted=_signed_in,
        effects=lambda p, data: [SIGNED_IN],
        refused_effects=(SIGN_IN_REFUSED,),
    ),
    "PasswordResetForm (portal password reset)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("portal:password-reset"),
        valid=lambda p: {"email": "parent@example.net"},
        others=lambda p: {"email": ["nobody@example.net", "PARENT@example.net"]},
        accepted=_redirects_to("/portal/password-reset/sent/"),
        effects=lambda p, data: [Effect(added={EMAIL: 1}), NOTHING],  # queued for an account's address
    ),
    "VerificationResendForm (send the confirm-your-email link again)": Form(
        role=None,
        method="post",
        url=lambda p: reverse("portal:verify-resend"),
        valid=lambda p: {"email": "parent@example.net"},
        others=lambda p: {"email": ["nobody@example.net", "PARENT@example.net"]},
        accepted=_redirects_to("/portal/sign-up/sent/"),
        effects=lambda p, data: [Effect(added={EMAIL: 1}), NOTHING],  # queued for an unconfirmed account
    ),
}


@pytest.mark.parametrize("name", FORMS)
def test_no_generated_submission_causes_a_server_error_or_is_half_saved(practice, name):
    form = FORMS[name]
    tables = _tables()
    client = Client()
    if form.role:
        client.force_login(practice.users[form.role])
    # Each submission is rolled back, so every one starts from this.
    before = _snapshot(tables)
    tally = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=form.submissions(practice))
    def submit(data):
        if not form.role:
            client.cookies.clear()  # a sign-in by the previous submission was rolled back
        client.cookies.pop("messages", None)  # and so were its messages
        savepoint = transaction.savepoint_create()
        try:
            response = getattr(client, form.method)(form.url(practice), data)
            changes = _changes(before, _snapshot(tables))
        finally:
            transaction.savepoint_rollback(savepoint)

        assert response.status_code < 500
        if response.has_header("Location"):
            assert _stays_on_this_site(response["Location"])
        accepted = form.accepted(response)
        tally["accepted" if accepted else "refused"] += 1
        allowed = form.effects(practice, data) if accepted else [NOTHING, *form.refused_effects]
        assert any(effect.allows(changes) for effect in allowed), (
            f"{'accepted' if accepted else 'refused'} ({response.status_code}), yet changed rows: {changes}"
        )

    fixed = form.fixed_inputs(practice)
    for data in fixed:
        submit = example(data=data)(submit)
    submit()
    print(
        f"\n{name}: {tally.total()} inputs ({tally.total() - len(fixed)} generated, {len(fixed)} fixed),"
        f" {tally['accepted']} accepted, {tally['refused']} refused"
    )


# ---------------------------------------------------------------- the PIN parser


def test_pin_parse_reads_a_pin_or_says_it_cannot_be_one():
    """Whatever is typed, `pin_parse` returns a PIN that reads back as itself, or a PinFormatError."""
    tally = Counter()

    @settings(max_examples=PARSER_EXAMPLES, deadline=None)
    @given(
        typed=st.one_of(
            junk(),
            st.text(alphabet=ALPHABET + "OILUoilu -_.", max_size=30),
            st.text(alphabet=ALPHABET + "OILoil", min_size=11, max_size=13),  # one off, or a PIN
        )
    )
    def parse(typed):
        try:
            parts = pin_parse(typed)
        except PinFormatError:
            tally["refused"] += 1
            return
        tally["read as a PIN"] += 1
        assert isinstance(parts, PinParts)
        assert len(parts.lookup) == 4 and len(parts.secret) == 8
        assert set(parts.lookup + parts.secret) <= set(ALPHABET)
        assert pin_parse(parts.display) == parts

    parse()
    print(f"\npin_parse: {tally.total()} generated inputs, {dict(tally)}")


def test_any_pin_survives_case_dashes_spaces_and_look_alike_letters():
    tally = Counter()

    @settings(max_examples=PARSER_EXAMPLES, deadline=None)
    @given(data=st.data(), code=st.text(alphabet=ALPHABET, min_size=12, max_size=12))
    def parse(data, code):
        typed = data.draw(pin_mangled(code))
        tally["typed"] += 1
        assert pin_parse(typed) == PinParts(lookup=code[:4], secret=code[4:])

    parse()
    print(f"\npin_parse: {tally['typed']} generated PINs, typed in random case, separators and look-alikes")
