"""Least privilege: every URL of the project, tried as each role, against `privilege_table.TABLE`.

Each try runs in a savepoint that is rolled back, so every role meets the same database, and a try the
table says is refused must leave every table as it was. Run with `-s` to see the table of what each
role got.
"""

import base64
import datetime as dt
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from anymail import urls as anymail_urls
from anymail.signals import inbound, tracking
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from twilio.request_validator import RequestValidator

from accounts.models import ADMIN_GROUP
from patients.models import Appointment, Patient
from registration.messaging import provider_hooks
from registration.models import (
    AccessRestriction,
    AuditEvent,
    FeedMessage,
    ImportRun,
    PortalAccess,
    RegisterAllRun,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.portal.tokens import email_verification_token
from registration.services.accounts import portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from registration.services.self_registration import ChildDetails
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    StaffFactory,
    confirmed_self_registration,
)
from tests.security._quiet_logs import quiet_request_log  # noqa: F401 (autouse)
from tests.security.privilege_table import (
    ADMIN,
    ANONYMOUS,
    FRONT_DESK,
    OTHER_PARENT,
    PARENT,
    PREFIXES,
    ROLES,
    TABLE,
    Expect,
)
from tests.security.test_headers_and_cookies import production_env

PARENT_PASSWORD = "a long enough pass phrase"  # NewAccountFactory's
STAFF_PASSWORD = "correct horse battery staple"  # StaffFactory's
WEBHOOK_SECRET = "anymail:webhook-secret-for-tests"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
B_AND_D_PHONE = "+13125550195"  # parent B and parent D: a suggested duplicate pair
# Rows that change with any request (sessions, sign-in records, rate-limit counters), not registration state.
VOLATILE_TABLES = {"accounts_session", "ratelimits_hit"}
FINGERPRINTED_APPS = {"accounts", "auth", "admin", "patients", "registration", "django_tasks_database"}


# ---------------------------------------------------------------- the URL patterns


def url_keys(patterns=None, prefix: str = "", namespace: str = "") -> list[str]:
    """Every pattern of the URLconf, by `namespace:name`, by route when unnamed, or by prefix in PREFIXES."""
    keys = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route in PREFIXES:
                keys.append(route)
                continue
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            keys += url_keys(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name]))
            keys.append(name if pattern.name else route)
    return keys


def test_every_url_pattern_is_in_the_privilege_table():
    keys = url_keys()
    assert len(keys) == len(set(keys)), "two patterns share a name"
    unclassified = sorted(set(keys) - TABLE.keys())
    assert not unclassified, f"classify these in tests/security/privilege_table.py: {unclassified}"
    gone = sorted(TABLE.keys() - set(keys))
    assert not gone, f"no longer in the URLconf, remove from the table: {gone}"


# ---------------------------------------------------------------- a practice with three families


@dataclass
class World:
    users: dict[str, Any]  # by role; anonymous has none
    passwords: dict[str, str]
    probes: dict[str, "Probe"] = field(default_factory=dict)  # by key of the table


@dataclass(frozen=True)
class Probe:
    """How to try one entry of the table: a GET, and a POST (its data, or a function making the request)."""

    url: str
    post_url: str | None = None
    data: dict | None = None
    post: Callable[[Client], Any] | None = None  # when a POST takes more than one request


@pytest.fixture
def world(db, settings, tmp_path):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    front_desk = StaffFactory()
    admin = StaffFactory(role=ADMIN_GROUP, is_staff=True, is_superuser=True)

    # Family A: Amelia, registered by her mother (PARENT); her father is on the chart, not registered.
    amelia = PatientFactory(first_name="Amelia", last_name="Aardvark", mrn="MRN-AMELIA")
    mother = PatientContactFactory(patient=amelia)
    father = PatientContactFactory(patient=amelia, contact=FamilyContactFactory(), relationship="father")
    appointment = AppointmentFactory(patient=amelia)
    parent_a = _registered_parent(mother, front_desk, email="parent.a@example.net")
    # Family B: Bruno, registered by OTHER_PARENT.
    bruno = PatientFactory(first_name="Bruno", last_name="Brightwater", mrn="MRN-BRUNO")
    parent_b = _registered_parent(
        PatientContactFactory(patient=bruno),
        front_desk,
        email="parent.b@example.net",
        cell_phone=B_AND_D_PHONE,
    )
    # Family C: Cora, with a live PIN; a parent who signed up without one has asked for her.
    cora = PatientFactory(first_name="Cora", last_name="Cobblestone", mrn="MRN-CORA")
    cora_link = PatientContactFactory(patient=cora)
    pin_code = pin_issue(patient=cora, contact=cora_link.contact, path="chart", by=front_desk).code
    request = confirmed_self_registration(
        children=[ChildDetails("Cora", "Cobblestone", cora.date_of_birth)],
        # Parent D shares parent B's cell phone, so the duplicates page pairs their accounts.
        new_account=NewAccountFactory(email="parent.d@example.net", cell_phone=B_AND_D_PHONE),
    )[0]
    parent_d = request.account.user
    message = welcome_invite(
        patient=amelia,
        contact=father.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=father.contact.email,
        by=front_desk,
    )
    # Family E: Emil, whose father a court order keeps from him, the order attached as a PDF.
    settings.RESTRICTION_DOCUMENT_DIR = tmp_path / "restrictions"
    emil_father = PatientContactFactory(patient=PatientFactory(first_name="Emil", last_name="Eastwood"))
    restriction = restriction_create(
        patient=emil_father.patient,
        contact=emil_father.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=admin,
        document=SimpleUploadedFile("order.pdf", b"%PDF-1.4\n%%EOF", content_type="application/pdf"),
    )
    mother_access = PortalAccess.objects.get(account=parent_a, patient=amelia)
    # A Register all of yesterday, finished.
    yesterday = timezone.now() - dt.timedelta(days=1)
    register_all = RegisterAllRun.objects.create(
        day=yesterday.date(),
        started_by=front_desk,
        stage=RegisterAllRun.Stage.DONE,
        created_at=yesterday,
        updated_at=yesterday,
        finished_at=yesterday,
    )
    # The admin's finished preview of a file (the file itself has since gone: confirming says so).
    preview = ImportRun.objects.create(
        started_by=admin,
        file_name="patients.csv",
        dry_run=True,
        stage=ImportRun.Stage.DONE,
        report={"kind": "patients (CSV)", "counts": [], "seconds": 0.1, "problems": [], "problem_count": 0},
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )

    # A message the EHR's feed refused, its text still kept.
    feed_message = FeedMessage.objects.create(
        sender="EPIC^PEDS",
        control_id="MSG00001",
        message_type="ADT^A08",
        received_at=timezone.now(),
        outcome=FeedMessage.Outcome.REFUSED,
        ack_code="AE",
        error="No patient with that MRN.",
        raw="MSH|^~\\&|EPIC|PEDS|PORTALREG||20250101120000||ADT^A08|MSG00001|P|2.5\r",
    )

    uid_d = urlsafe_base64_encode(force_bytes(parent_d.pk))
    world = World(
        users={PARENT: parent_a.user, OTHER_PARENT: parent_b.user, FRONT_DESK: front_desk, ADMIN: admin},
        passwords={PARENT: PARENT_PASSWORD, OTHER_PARENT: PARENT_PASSWORD, FRONT_DESK: STAFF_PASSWORD}
        | {ADMIN: STAFF_PASSWORD},
    )
    reset_url = reverse(
        "portal:password-reset-confirm", args=[uid_d, default_token_generator.make_token(parent_d)]
    )

    def reset_password(client):
        form_url = client.get(reset_url)["Location"]
        return client.post(
            form_url, {"new_password1": "a brand new pass phrase", "new_password2": "a brand new pass phrase"}
        )

    new_account = {
        "account-first_name": "Wanda",
        "account-last_name": "Walker",
        "account-email": "walker@example.net",
        "account-cell_phone": "",
        "account-password": "walking the whole site slowly",
        "account-preferred_language": "en",
    }
    world.probes = {
        "home": Probe(reverse("home")),
        "set_language": Probe(reverse("set_language"), data={"language": "es", "next": "/portal/"}),
        "staff:sign-in": Probe(reverse("staff:sign-in")),  # POST: each role's own credentials
        "staff:sign-out": Probe(reverse("staff:sign-out"), data={}),
        "staff:dashboard": Probe(reverse("staff:dashboard")),
        "staff:statistics": Probe(reverse("staff:statistics")),
        "staff:access-changes": Probe(reverse("staff:access-changes")),
        "staff:self-registrations": Probe(reverse("staff:self-registrations")),
        "staff:register-all": Probe(reverse("staff:register-all"), data={"day": timezone.localdate()}),
        "staff:register-all-run": Probe(reverse("staff:register-all-run", args=[register_all.pk])),
        "staff:register-all-progress": Probe(reverse("staff:register-all-progress", args=[register_all.pk])),
        "staff:patient-search": Probe(reverse("staff:patient-search") + "?q=Aardvark"),
        "staff:patient-chart": Probe(reverse("staff:patient-chart", args=[amelia.pk])),
        "staff:pin-generate": Probe(
            reverse("staff:pin-generate", args=[amelia.pk, father.contact.pk]),
            data={
                "path": "chart",
                "form_token": "f" * 32,
                "appointment": "",
                "duplicate_override_reason": "",
            },
        ),
        "staff:welcome-send": Probe(
            reverse("staff:welcome-send", args=[amelia.pk]),
            data={"contact": father.pk, "channel": "email", "address": "", "duplicate_override_reason": ""}
            | {"replace_outstanding": "1"},
        ),
        "staff:appointment": Probe(reverse("staff:appointment", args=[appointment.pk])),
        "staff:restriction-new": Probe(
            reverse("staff:restriction-new", args=[amelia.pk, father.contact.pk]),
            data={
                f"restrict-{father.contact.pk}-basis": "court_order",
                f"restrict-{father.contact.pk}-starts_on": timezone.localdate().isoformat(),
            },
        ),
        "staff:restriction-lift": Probe(
            reverse("staff:restriction-lift", args=[restriction.pk]),
            data={f"lift-{restriction.pk}-reason": "Order vacated"},
        ),
        "staff:restriction-document": Probe(reverse("staff:restriction-document", args=[restriction.pk])),
        # The patient's own account: empty forms are refused with their reasons (nothing saved).
        "staff:teen-account": Probe(reverse("staff:teen-account", args=[amelia.pk]), data={}),
        "staff:teen-parent-level": Probe(reverse("staff:teen-parent-level", args=[amelia.pk]), data={}),
        "staff:access-basis": Probe(
            reverse("staff:access-basis", args=[mother_access.pk]),
            data={
                f"basis-{mother_access.pk}-basis": "adult_consent",
                f"basis-{mother_access.pk}-note": "Consent signed at the front desk",
            },
        ),
        "staff:welcome-message": Probe(reverse("staff:welcome-message", args=[message.pk])),
        # Confirmed: the father's PIN is still valid, and replacing it is asked first.
        "staff:welcome-resend": Probe(
            reverse("staff:welcome-resend", args=[message.pk]), data={"replace_outstanding": "1"}
        ),
        "staff:reconcile": Probe(reverse("staff:reconcile", args=[request.pk])),
        "staff:authenticate": Probe(
            reverse("staff:authenticate", args=[request.pk]),
            data={"match": f"{cora.pk}:{cora_link.contact_id}", "relationship": ""},
        ),
        "staff:decline": Probe(
            reverse("staff:decline", args=[request.pk]), data={"reason": "no_match", "confirmed": "1"}
        ),
        # The request is waiting, not declined: refused with a message, the same redirect.
        "staff:reopen": Probe(reverse("staff:reopen", args=[request.pk]), data={}),
        # No child chosen: refused with a message, the same redirect.
        "staff:add-to-existing-account": Probe(
            reverse("staff:add-to-existing-account", args=[request.pk]), data={}
        ),
        "staff:duplicates": Probe(reverse("staff:duplicates")),
        "staff:disable-duplicate": Probe(
            reverse("staff:disable-duplicate"),
            data={
                "first": parent_b.pk,
                "second": request.account.pk,
                "keep": parent_b.pk,
                "reason": "Same parent twice.",
                "confirmed": "1",
            },
        ),
        # Not disabled: refused with a message, the same redirect.
        "staff:reenable-account": Probe(reverse("staff:reenable-account", args=[parent_b.pk]), data={}),
        "staff:audit": Probe(reverse("staff:audit")),
        "staff:import": Probe(reverse("staff:import"), data={}),
        "staff:import-help": Probe(reverse("staff:import-help")),
        "staff:import-run": Probe(reverse("staff:import-run", args=[preview.pk])),
        "staff:import-progress": Probe(reverse("staff:import-progress", args=[preview.pk])),
        "staff:import-confirm": Probe(reverse("staff:import-confirm", args=[preview.pk]), data={}),
        "staff:feed": Probe(reverse("staff:feed")),
        "staff:feed-message": Probe(reverse("staff:feed-message", args=[feed_message.pk])),
        "portal:start": Probe(reverse("portal:start")),
        "portal:pin-start": Probe(
            reverse("portal:pin-start"),
            data={"pin": pin_code, "child_birth_date": cora.date_of_birth.isoformat()} | new_account,
        ),
        "portal:sign-up": Probe(
            reverse("portal:sign-up"),
            data={
                "child-TOTAL_FORMS": "1",
                "child-INITIAL_FORMS": "0",
                "child-0-first_name": "Dara",
                "child-0-last_name": "Dunmore",
                "child-0-date_of_birth": "2020-03-03",
            }
            | new_account,
        ),
        "portal:sign-up-sent": Probe(reverse("portal:sign-up-sent")),
        "portal:verify-resend": Probe(reverse("portal:verify-resend"), data={"email": parent_d.email}),
        "portal:verify-email": Probe(
            reverse("portal:verify-email"), data={"key": f"{uid_d}.not-a-token", "password": "guess"}
        ),
        "portal:verify-email-old": Probe(
            reverse("portal:verify-email-old", args=[uid_d, email_verification_token.make_token(parent_d)])
        ),
        "portal:enrollment-code": Probe(reverse("portal:enrollment-code"), data={"code": "000000"}),
        "portal:home": Probe(reverse("portal:home")),
        "portal:parent-level": Probe(reverse("portal:parent-level"), data={}),
        "portal:sign-in": Probe(reverse("portal:sign-in")),  # POST: each role's own credentials
        "portal:sign-out": Probe(reverse("portal:sign-out"), data={}),
        "portal:password-reset": Probe(reverse("portal:password-reset"), data={"email": parent_d.email}),
        "portal:password-reset-sent": Probe(reverse("portal:password-reset-sent")),
        "portal:password-reset-confirm": Probe(reset_url, post=reset_password),
        "portal:password-reset-done": Probe(reverse("portal:password-reset-done")),
        "portal:privacy": Probe(reverse("portal:privacy")),
        "portal:terms": Probe(reverse("portal:terms")),
        "admin/login/": Probe("/admin/login/?next=/admin/"),
        "admin/": Probe(
            reverse("admin:index"),
            post_url=reverse("admin:registration_auditevent_delete", args=[AuditEvent.objects.first().pk]),
            data={"post": "yes"},
        ),
        "twilio-status": Probe(
            reverse("twilio-status"), data={"MessageSid": "SM0001", "MessageStatus": "delivered"}
        ),
        "hooks/anymail/": Probe(
            reverse("anymail:postmark_tracking_webhook"),
            data={"RecordType": "Delivery", "MessageID": "x", "Recipient": "a@example.org"},
        ),
    }
    return world


def ids_of(model) -> list[int]:
    return list(model.objects.values_list("pk", flat=True))


def _registered_parent(link, by, *, email, cell_phone=""):
    issued = pin_issue(patient=link.patient, contact=link.contact, path="chart", by=by)
    account = pin_redeem(
        code=issued.code,
        child_birth_date=link.patient.date_of_birth,
        new_account=NewAccountFactory(email=email, cell_phone=cell_phone),
    ).account
    return portal_account_verify_email(account=account)


# ---------------------------------------------------------------- trying each entry as each role


def _fingerprint() -> dict[str, list]:
    """Every row of the project's tables (and of users, groups and the admin's log): a refused request
    must change none of them. Raw SQL: the ORM's query building would triple this test's time."""
    rows = {}
    with connection.cursor() as cursor:
        for table in _fingerprinted_tables():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (our table names)
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


@cache
def _fingerprinted_tables() -> list[str]:
    return [
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in FINGERPRINTED_APPS and model._meta.db_table not in VOLATILE_TABLES
    ]


def _try(world: World, role: str, key: str, method: str, *, refused: bool):
    """Make one request as `role` in a savepoint, roll it back, and return (response, tables changed).

    Tables are compared only for a request that should be refused.
    """
    probe = world.probes[key]
    savepoint = transaction.savepoint_create()
    try:
        client = Client()
        if role != ANONYMOUS:
            client.force_login(world.users[role])
        before = _fingerprint() if refused else {}
        if method == "GET":
            response = client.get(probe.url)
        elif probe.post is not None:
            response = probe.post(client)
        elif key in ("staff:sign-in", "portal:sign-in"):
            user = world.users.get(role)
            username = (
                (user.username if key == "staff:sign-in" else user.email) if user else "nobody@example.org"
            )
            response = client.post(
                probe.url, {"username": username, "password": world.passwords.get(role, "x" * 20)}
            )
        else:
            response = client.post(probe.post_url or probe.url, probe.data or {})
        after = _fingerprint() if refused else {}
        changed = sorted(table for table, rows in after.items() if before[table] != rows)
    finally:
        transaction.savepoint_rollback(savepoint)
    return response, changed


def _got(response) -> str:
    location = response.get("Location", "")
    return f"{response.status_code}→{location}" if location else str(response.status_code)


def _matches(response, expect: Expect) -> bool:
    if response.status_code != expect.status:
        return False
    return expect.location is None or response.get("Location", "").startswith(expect.location)


def test_each_role_gets_exactly_what_the_privilege_table_allows(world):
    """Walk every entry of the table, by GET and (for state changes) POST, as all five roles."""
    assert world.probes.keys() == TABLE.keys()
    failures, rows = [], []
    for key, rule in TABLE.items():
        for method, expected in (("GET", rule.get), ("POST", rule.post)):
            if expected is None:
                continue
            cells = []
            for role in ROLES:
                response, changed = _try(world, role, key, method, refused=expected[role].refused)
                cells.append(_got(response))
                if not _matches(response, expected[role]):
                    failures.append(
                        f"{method} {key} as {role}: expected {expected[role]}, got {_got(response)}"
                    )
                if expected[role].refused and changed:
                    failures.append(f"{method} {key} as {role} was refused but changed {changed}")
            rows.append((f"{method:4} {key}", cells))

    width = max(len(label) for label, _ in rows)
    print(f"\n{'':{width}}  " + "  ".join(f"{role:>14}" for role in ROLES))
    for label, cells in rows:
        print(f"{label:{width}}  " + "  ".join(f"{_short(cell):>14}" for cell in cells))
    tries = len(rows) * len(ROLES)
    print(f"{len(TABLE)} URL patterns, {len(rows)} URL x method rows, {len(ROLES)} roles: {tries} requests")
    assert not failures, "\n".join(failures)


def _short(cell: str) -> str:
    """A redirect's target as its last word (no query string or ids), to fit the table."""
    status, _, location = cell.partition("→")
    if not location:
        return status
    words = [word for word in location.split("?")[0].split("/") if word and not word.isdigit()]
    return f"{status}→{words[-1] if words else '/'}"


# ---------------------------------------------------------------- one family's child, never another's


def test_a_parents_portal_shows_their_own_child_and_never_another_familys(world):
    families = {PARENT: [b"Amelia", b"Aardvark"], OTHER_PARENT: [b"Bruno", b"Brightwater"]}
    strangers = [b"Cora", b"Cobblestone", b"Dara"]
    for role, own in families.items():
        client = Client()
        client.force_login(world.users[role])
        home = client.get(reverse("portal:home")).content
        others = [name for other, names in families.items() if other != role for name in names]
        assert all(name in home for name in own), role
        assert not [name for name in others + strangers if name in home], role


def test_a_parent_changing_the_id_in_an_emailed_link_reaches_no_other_account(world):
    """The account links carry an id and a token; another account's id with your own token is refused."""
    parent, other = world.users[PARENT], world.users[OTHER_PARENT]
    other_uid = urlsafe_base64_encode(force_bytes(other.pk))
    client = Client()
    key = f"{other_uid}.{email_verification_token.make_token(parent)}"
    verify = client.post(reverse("portal:verify-email"), {"key": key, "password": PARENT_PASSWORD})
    assert verify.status_code == 400
    assert "_auth_user_id" not in client.session
    reset = reverse(
        "portal:password-reset-confirm", args=[other_uid, default_token_generator.make_token(parent)]
    )
    response = client.get(reset)
    assert response.status_code == 200
    assert not response.context["validlink"]


def test_parents_get_403_on_every_staff_url_whatever_the_id(world):
    """Ids of their own child, another family's, and ones that do not exist: all the same 403."""
    client = Client()
    client.force_login(world.users[PARENT])
    ids = sorted(
        {
            pk
            for model in (Patient, Appointment, WelcomeMessage, SelfRegistrationRequest)
            for pk in ids_of(model)
        }
        | {999_999}
    )
    tried = 0
    for name in (
        "staff:patient-chart",
        "staff:welcome-send",
        "staff:appointment",
        "staff:welcome-message",
        "staff:reconcile",
    ):
        for pk in ids:
            assert client.get(reverse(name, args=[pk])).status_code == 403, (name, pk)
            tried += 1
    for pk in ids:
        url = reverse("staff:pin-generate", args=[pk, pk])
        assert client.post(url, {"path": "chart", "form_token": "x"}).status_code == 403
        tried += 1
    print(f"\n{tried} staff URLs with {len(ids)} different ids: all 403 for a parent")


# ---------------------------------------------------------------- the providers' webhooks


def test_twilio_status_callback_accepts_only_our_signature(world, client, settings):
    url = reverse("twilio-status")
    data = {"MessageSid": "SM-unknown", "MessageStatus": "delivered"}
    signed_url = settings.PORTAL_BASE_URL + url
    ours = RequestValidator(TWILIO_TOKEN).compute_signature(signed_url, data)
    forged = RequestValidator("someone else's token").compute_signature(signed_url, data)
    assert client.post(url, data).status_code == 403
    assert client.post(url, data, headers={"X-Twilio-Signature": forged}).status_code == 403
    assert (
        client.post(url, data | {"MessageStatus": "failed"}, headers={"X-Twilio-Signature": ours}).status_code
        == 403
    )
    assert client.post(url, data, headers={"X-Twilio-Signature": ours}).status_code == 204


def test_only_the_email_providers_own_webhook_is_mounted_and_it_needs_the_shared_secret(world):
    """anymail.urls has a webhook for every provider; those left unconfigured answered any POST with 500.
    Only the provider in use (MAIL_TRACKING_ESP: postmark in the tests) is routed; the rest are 404."""
    received = []

    def listen(sender, event, esp_name, **kwargs):
        received.append(esp_name)

    client = Client(raise_request_exception=False)  # as in production: a server error is an answer
    tracking.connect(listen)
    inbound.connect(listen)
    try:
        mounted = next(p for p in get_resolver().url_patterns if str(p.pattern) == "hooks/anymail/")
        assert [p.name for p in mounted.url_patterns] == ["postmark_tracking_webhook"]
        statuses = {}
        for pattern in anymail_urls.urlpatterns:
            route = str(pattern.pattern).lstrip("^").replace("(_mime)?", "").removesuffix("$")
            statuses[route] = client.post(f"/hooks/anymail/{route}", "{}", content_type="application/json")
        answers = Counter(response.status_code for response in statuses.values())
        assert statuses.pop("postmark/tracking/").status_code == 400  # no shared secret
        assert {response.status_code for response in statuses.values()} == {404}
        assert received == []
        print(
            f"\n{len(anymail_urls.urlpatterns)} anymail webhook addresses posted to without the shared "
            f"secret: {dict(answers)} (400: postmark's, the one mounted; 404: the others, not routed)"
        )

        # With the secret, as the provider sends it, a report is taken.
        auth = "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
        report = {"RecordType": "Delivery", "MessageID": "unknown", "Recipient": "a@example.org"}
        response = client.post(
            reverse("anymail:postmark_tracking_webhook"),
            report | {"DeliveredAt": "2026-01-01T00:00:00Z"},
            content_type="application/json",
            headers={"Authorization": auth},
        )
        assert response.status_code == 200
        assert received == ["Postmark"]
    finally:
        tracking.disconnect(listen)
        inbound.disconnect(listen)


def test_the_webhook_mounted_follows_the_mail_backend():
    assert [p.name for p in provider_hooks.anymail_tracking_urlpatterns("mailgun")] == [
        "mailgun_tracking_webhook"
    ]
    assert provider_hooks.anymail_tracking_urlpatterns("") == []
    assert provider_hooks.anymail_tracking_urlpatterns("console") == []  # anymail's, but no webhook
    code = "from django.conf import settings; print(settings.MAIL_TRACKING_ESP)"
    derived = {}
    for backend in (
        "anymail.backends.postmark.EmailBackend",
        "anymail.backends.amazon_ses.EmailBackend",
        "django.core.mail.backends.smtp.EmailBackend",
    ):
        run = subprocess.run(  # noqa: S603  (our own interpreter and code)
            [sys.executable, "-c", code],
            env=production_env(MAIL_BACKEND=backend),
            cwd=django_settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        derived[backend] = run.stdout.strip()
    assert list(derived.values()) == ["postmark", "amazon_ses", ""]
    print(f"\nthe webhook mounted, by MAIL_BACKEND: {derived}")
