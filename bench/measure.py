"""One benchmark run on one database: each staff page, the parent path, the floor and a bare view, in-process.

`bench/run.py` prepares the database and calls this with DATABASE_URL set; it prints JSON rows on
stdout. Each page gets warm-up requests, then its SQL queries are counted on a few requests and its
server time measured over `--requests` rounds, one request to each page a round in a shuffled order,
with Django's test client (the same client for the floor, so the client's own cost is in every figure
alike). With `--urls` it prints each page's URL and session cookie instead, for bench/serve.py.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench import plans  # noqa: E402
from bench.targets import BARE, BARE_MIDDLEWARE, FLOOR, round_orders  # noqa: E402
from patients.models import FamilyContact, Patient, PatientContact  # noqa: E402
from registration import selectors  # noqa: E402
from registration.models import (  # noqa: E402
    AuditEvent,
    PortalStatus,
    RegistrationPath,
    SelfRegistrationRequest,
)
from registration.services.accounts import NewAccount  # noqa: E402
from registration.services.errors import RegistrationError  # noqa: E402
from registration.services.pins import pin_issue  # noqa: E402
from registration.services.self_registration import ChildDetails, self_registration_submit  # noqa: E402
from registration.statistics.snapshots import statistics_snapshot_take  # noqa: E402

WARM_UP = 5
COUNTED = 5
DUPLICATES_PAGE = 20  # pairs the duplicate accounts page shows at most
# The patient list behind each Statistics tile: its label here, its `status` filter.
LIST_BY_STATUS = {"registered": "registered", "pending": "pending", "PIN expired": "pin_expired", "all": ""}


@dataclass
class Case:
    name: str
    request: Callable[[], object]  # makes one request and returns the response
    prepare: Callable[[], None] = lambda: None  # per request, outside the timer
    query: Callable[[], object] | None = None  # the page's main queryset, to report how it is planned
    url: str = ""  # a page's path and query string, for bench/serve.py
    cookie: str = ""  # the session cookie the page is requested with ("" for none)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0, help="the shuffled orders' seed")
    parser.add_argument("--urls", action="store_true", help="print the pages' URLs and cookies, time nothing")
    args = parser.parse_args()

    staff, admin = _client("frontdesk"), _client("admin")
    _duplicate_pairs_ensure(DUPLICATES_PAGE)
    statistics_snapshot_take()  # what the task worker keeps fresh: the pages read it
    cases = _cases(staff, admin)
    if args.urls:
        print(json.dumps([{"name": c.name, "url": c.url, "cookie": c.cookie} for c in cases if c.url]))
        return
    gc.collect()
    gc.freeze()  # as wsgi.py does: start-up objects are never collected, so collections stay short
    queries = {}
    for case in cases:
        for _ in range(WARM_UP):
            _request(case)
        counts = []
        for _ in range(COUNTED):
            case.prepare()
            with CaptureQueriesContext(connection) as captured:
                _check(case, case.request())
            counts.append(len(captured))
        queries[case.name] = max(counts)
    # How each name search reaches the patients (issue 11: it must be the trigram index, whatever
    # ANALYZE sampled). A plain EXPLAIN of the page's query, outside the timed rounds.
    # Also the plan made without the values, which a prepared statement may switch to (settings/base.py).
    scans = {case.name: plans.scans(plans.explain(case.query())) for case in cases if case.query}
    generic = {case.name: plans.scans(plans.explain_generic(case.query())) for case in cases if case.query}
    # One request per page a round: a machine that slows down for a while slows every page alike, and
    # the ratios to the floor stay true. Each round in a new order, so no page always follows the same one.
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    by_name = {case.name: case for case in cases}
    for order in round_orders(list(by_name), args.requests, args.seed):
        for case in map(by_name.get, order):
            case.prepare()
            start = time.perf_counter()
            response = case.request()
            times[case.name].append((time.perf_counter() - start) * 1000)
            _check(case, response)
    rows = []
    for case in cases:
        ms = sorted(times[case.name])
        rows.append(
            {
                "name": case.name,
                "patients": args.patients,
                "queries": queries[case.name],
                "requests": len(ms),
                "median_ms": round(statistics.median(ms), 2),
                "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2),
            }
        )
        if case.name in scans:
            rows[-1]["plan"] = scans[case.name]
            rows[-1]["generic_plan"] = generic[case.name]
            rows[-1]["plan_ok"] = plans.through_trigram(scans[case.name]) and plans.through_trigram(
                generic[case.name]
            )
    floor = next(row["median_ms"] for row in rows if row["name"] == FLOOR)
    for row in rows:
        row["ratio_to_floor"] = round(row["median_ms"] / floor, 2)
    print(json.dumps(rows))


def _request(case: Case):
    case.prepare()
    return _check(case, case.request())


def _check(case: Case, response):
    expected = 302 if case.name == "PIN redemption (parent)" else 200
    if response.status_code != expected:
        raise SystemExit(f"{case.name}: answered {response.status_code}, expected {expected}")
    return response


def _filtered(response, field: str, value: str):
    """The response, if its filter form kept `value` in `field`: a parameter the page no longer reads
    (a renamed field) would time the unfiltered page instead."""
    if f'name="{field}" value="{value}"' not in response.content.decode():
        raise SystemExit(f"the page did not read {field}={value}: was the field renamed?")
    return response


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _bare_client() -> Client:
    """An anonymous client whose handler runs no middleware, as bench/wsgi.py serves the bare view."""
    client = Client()
    with override_settings(MIDDLEWARE=[]):
        client.handler.load_middleware()
    return client


def _page(
    name: str, client: Client, path: str, params: dict | None = None, *, echo: str = "", query=None
) -> Case:
    """A page requested with GET, in-process and by bench/serve.py alike; `echo`: a filter the page must
    show it read."""

    def request():
        response = client.get(path, params)
        return _filtered(response, echo, params[echo]) if echo else response

    session = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return Case(
        name,
        request,
        query=query,
        url=f"{path}?{urlencode(params)}" if params else path,
        cookie=f"{session.key}={session.value}" if session else "",
    )


def _cases(staff: Client, admin: Client) -> list[Case]:
    today = timezone.localdate()
    patient = _patient_with_history()
    contact = FamilyContact.objects.filter(cell_phone__gt="").order_by("pk").first()
    appointment = selectors.appointments_for_day(today).first()
    waiting = (
        SelfRegistrationRequest.objects.filter(status=SelfRegistrationRequest.Status.AWAITING)
        .order_by("submitted_at", "pk")
        .first()
    )
    parent = ParentPath()
    return [
        # What the floor is compared with: Django alone, then with the site's middleware (no session read).
        _page(BARE, _bare_client(), "/bench/bare/"),
        _page(BARE_MIDDLEWARE, Client(), "/bench/bare/middleware/"),
        _page(FLOOR, staff, "/bench/floor/"),
        _page("dashboard (busy day)", staff, "/staff/", {"day": today.isoformat()}),
        _page("statistics", staff, "/staff/statistics/"),
        # A full page (25 rows) at every size: the page draws the same rows; only the matches grow.
        _page(
            "search: name fragment",
            staff,
            "/staff/patients/",
            {"q": "smi"},
            query=lambda: plans.search_queryset("smi"),
        ),
        _page(
            "search: two fragments",
            staff,
            "/staff/patients/",
            {"q": "s jo"},
            query=lambda: plans.search_queryset("s jo"),
        ),
        _page("search: date of birth", staff, "/staff/patients/", {"q": f"{patient.date_of_birth:%m/%d/%Y}"}),
        _page("search: phone", staff, "/staff/patients/", {"q": contact.cell_phone.as_national}),
        # The Statistics page's tiles: a page of patients in one state, by name.
        *[
            _page(f"patients: {label}", staff, "/staff/patients/", {"status": status})
            for label, status in LIST_BY_STATUS.items()
        ],
        _page("request queue", staff, "/staff/requests/"),
        _page("patient chart", staff, f"/staff/patients/{patient.pk}/"),
        _page("appointment window", staff, f"/staff/appointments/{appointment.pk}/"),
        _page("reconcile", staff, f"/staff/requests/{waiting.pk}/"),
        _page("duplicate accounts", admin, "/staff/duplicates/"),
        _page("audit trail (one patient)", admin, "/staff/audit/", {"patient": patient.mrn}, echo="patient"),
        Case("PIN redemption (parent)", parent.redeem, parent.prepare),
        # Not a page: the task behind the statistics and duplicates pages, at most once a minute.
        Case("snapshot task (background)", _SnapshotTask()),
    ]


class _SnapshotTask:
    status_code = 200

    def __call__(self):
        statistics_snapshot_take()
        return self


def _duplicate_pairs_ensure(wanted: int) -> None:
    """Parents who signed up twice with one cell phone, through the services, until the duplicate
    accounts page is full at every size: the page then draws the same 20 pairs at 10,000 and 100,000
    patients, and only the data around them differs."""
    have = len(selectors.duplicate_account_candidates())
    for n in range(max(0, wanted - have)):
        for twin in ("a", "b"):
            self_registration_submit(
                children=[ChildDetails("Bench", f"Twin{n}", date(2021, 1, 1))],
                new_account=NewAccount(
                    email=f"bench-twin-{have + n}-{twin}@example.org",
                    password=f"bench twin pass {uuid.uuid4().hex}",
                    first_name="Bench",
                    last_name=f"Twin{have + n}",
                    cell_phone=f"+1312555{(have + n) % 10_000:04d}",
                ),
            )


def _patient_with_history() -> Patient:
    """A patient with the most audit history among the first thousand: the heaviest chart to draw."""
    busiest = (
        AuditEvent.objects.filter(patient_id__lte=Patient.objects.order_by("pk")[999:1000].values("pk"))
        .values("patient_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "patient_id")
        .first()
    )
    return Patient.objects.get(pk=busiest["patient_id"])


class ParentPath:
    """A parent types a PIN fresh from the front desk, the child's date of birth and a new account.

    Each request needs its own PIN, issued outside the timer for a not-yet-registered patient, and its
    own client address (redemption is rate-limited per address).
    """

    def __init__(self):
        self.pairs = self._unregistered_pairs()
        self.by = User.objects.get(username="frontdesk")
        self.number = 0
        self.form: dict = {}

    @staticmethod
    def _unregistered_pairs(limit: int = 400):
        now = timezone.now()
        candidates = selectors.patients_with_portal_status(now=now).filter(
            portal_status=PortalStatus.NOT_REGISTERED
        )
        ids = list(candidates.order_by("-pk").values_list("pk", flat=True)[:limit])
        links = PatientContact.objects.filter(patient_id__in=ids).select_related("patient", "contact")
        return iter({link.patient_id: link for link in links}.values())

    def prepare(self) -> None:
        while True:
            link = next(self.pairs)
            try:
                issued = pin_issue(
                    patient=link.patient,
                    contact=link.contact,
                    path=RegistrationPath.PATIENT_ADMIN,
                    by=self.by,
                )
            except RegistrationError:
                continue
            break
        self.number += 1
        self.form = {
            "pin": issued.code,
            "child_birth_date": link.patient.date_of_birth.isoformat(),
            "account-first_name": "Bench",
            "account-last_name": "Parent",
            "account-email": f"bench-{uuid.uuid4().hex[:12]}@example.org",
            "account-cell_phone": "",
            "account-password": f"bench parent pass {uuid.uuid4().hex}",
            "account-preferred_language": "en",
        }
        self.address = f"10.{datetime.now().second}.{self.number // 250 % 250}.{self.number % 250 + 1}"

    def redeem(self):
        return Client(REMOTE_ADDR=self.address).post("/portal/pin/", self.form)


if __name__ == "__main__":
    main()
