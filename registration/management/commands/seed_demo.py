"""Fill the database with a demo pediatric practice.

    python manage.py seed_demo [--patients N] [--password P]

Deterministic and idempotent: the same families every time (a fixed seed, keyed by MRN), so a second
run creates nothing and a run with a larger N adds only the missing patients. Dates are relative to
today in the practice's time zone. The first families (`families.SHOWCASE_FAMILIES`) get their portal
state through `registration.services`; the rest is written in bulk (see `registration.demo.bulk` for
why).
"""

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import time as dt_time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from patients.bulk_insert import gc_paused
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration import pin_codes as codes
from registration.demo import (
    access_showcase,
    bulk,
    clinic_days,
    families,
    feed_showcase,
    records,
    schedule,
    showcase,
    staff,
)
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    PortalStatus,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.selectors import patients_with_portal_status
from registration.statistics.tallies import tallies_recount

CHUNK_PATIENTS = 5_000  # patients written per transaction
SHOWCASE_NEWCOMERS = 2  # parents unknown to the practice who sign up through the services

COUNTED = {
    "patients": Patient,
    "family contacts": FamilyContact,
    "chart links": PatientContact,
    "appointments": Appointment,
    "users": User,
    "portal accounts": PortalAccount,
    "PINs": Pin,
    "portal accesses": PortalAccess,
    "self-registration requests": SelfRegistrationRequest,
    "welcome messages": WelcomeMessage,
    "audit events": AuditEvent,
}


class Command(BaseCommand):
    help = "Create (or complete) a deterministic demo practice: families, appointments, portal states, staff."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=300, help="How many patients (default 300).")
        parser.add_argument(
            "--password",
            help="Password for the staff users and new demo parents (default: a random one, printed).",
        )
        parser.add_argument(
            "--busy-day",
            type=int,
            help="Appointments on today's list (default: about 300 for 100,000 patients, scaled down). "
            "The benchmark gives every size the same day, so that only the data around it grows.",
        )

    def handle(
        self, *args, patients: int, password: str | None, busy_day: int | None, verbosity: int, **options
    ):
        if patients < 1:
            raise CommandError("--patients must be at least 1.")
        if busy_day is not None and not 0 <= busy_day <= patients:
            raise CommandError("--busy-day must be between 0 and the number of patients.")
        self.verbose = verbosity >= 1
        self.made = Counter()  # rows made in this run, by kind
        self.started = time.perf_counter()
        given = bool(password)
        password = password or secrets.token_urlsafe(16)
        today = timezone.localdate()
        before = _row_counts()
        outlines = list(families.outlines(patients))
        showcase_outlines = [o for o in outlines if o.number <= families.SHOWCASE_FAMILIES]
        parent = _showcase_parent(showcase_outlines, today)
        parent_existed = User.objects.filter(username=parent).exists()

        front_desk, admin = self.staff_write(password, given)
        self.showcase_write(showcase_outlines, front_desk.user, password, today, patients, admin=admin.user)
        self.bulk_write(
            outlines[len(showcase_outlines) :], self.bulk_context(today, front_desk, password), patients
        )
        self.clinic_fill(today, patients, busy_day, showcase_patients=sum(o.size for o in showcase_outlines))
        self.statistics_refresh()
        self.counts_recount()
        if given and parent_existed:
            _password_ensure(parent, password)

        self.summary(before, _row_counts(), today)
        self.sign_in_details(
            front_desk, admin, password, given, parent, parent_kept=parent_existed and not given
        )

    # ---------------------------------------------------------------- phases
    def staff_write(self, password: str, given: bool) -> tuple[staff.StaffUser, staff.StaffUser]:
        with self.phase("staff users frontdesk and admin") as made:
            front_desk = staff.staff_ensure(staff.FRONT_DESK, password, password_given=given)
            admin = staff.staff_ensure(staff.ADMIN, password, password_given=given)
            made.update(f"staff {who.password_note}" for who in (front_desk, admin) if who.changed)
        return front_desk, admin

    def showcase_write(self, outlines, by, password, today, patient_total, *, admin):
        """The visible demo: records in one transaction, then portal state through the services."""
        with self.phase(f"showcase families 1-{len(outlines)}, records") as made, transaction.atomic():
            described = [families.family_describe(o, today) for o in outlines]
            made += records.records_write(described).counts
        with self.phase("showcase portal states, through registration.services") as made:
            ctx = showcase.Showcase(by=by, password=password, today=today)
            for family in described:
                made += showcase.family_register(family, ctx)
            for number in range(1, min(SHOWCASE_NEWCOMERS, families.newcomer_count(patient_total)) + 1):
                made += showcase.newcomer_register(families.newcomer_describe(number, today), ctx)
            made += showcase.duplicate_register(described, ctx)
            made += access_showcase.restriction_showcase(described, admin=admin, today=today)
            made += access_showcase.teen_showcase(described, by=by, today=today)
        with self.phase("EHR feed: HL7 v2 messages, through the listener's service") as made:
            made += feed_showcase.feed_showcase(today=today)

    def bulk_context(self, today, front_desk: staff.StaffUser, password: str) -> bulk.BulkContext:
        return bulk.BulkContext(
            today=today,
            issued_by_id=front_desk.user.pk,
            password_hash=make_password(password),  # once, for every bulk parent
            pin_hash=codes.pin_secret_hash(codes.pin_code_new()),  # a PIN made, hashed and forgotten
            validity_days=settings.PIN_VALIDITY_DAYS,
        )

    @gc_paused()
    def bulk_write(self, outlines, context: bulk.BulkContext, patient_total: int):
        """Everyone else, CHUNK_PATIENTS at a time, each chunk in its own transaction.

        The next chunk's families are made up in a thread while PostgreSQL writes this one: Python
        waits on the database for most of a chunk, and making families up is a third of the seed's
        Python (8 s at 100,000 patients).
        """
        have = set(Patient.objects.filter(mrn__startswith=families.MRN_PREFIX).values_list("mrn", flat=True))
        todo = [o for o in outlines if not have.issuperset(o.mrns)]
        chunks = list(_chunks(todo, CHUNK_PATIENTS))
        with ThreadPoolExecutor(max_workers=1) as ahead:
            following = ahead.submit(_describe, chunks[0], context.today) if chunks else None
            for i, chunk in enumerate(chunks):
                described = following.result()
                if i + 1 < len(chunks):
                    following = ahead.submit(_describe, chunks[i + 1], context.today)
                label = f"families {chunk[0].number:,}-{chunk[-1].number:,}"
                with self.phase(label) as made, transaction.atomic():
                    made += bulk.families_write(described, context)
        if not todo:
            self.say(f"  families {outlines[0].number:,}-{outlines[-1].number:,} exist" if outlines else "")
        newcomers = [
            families.newcomer_describe(n, context.today)
            for n in range(SHOWCASE_NEWCOMERS + 1, families.newcomer_count(patient_total) + 1)
        ]
        if newcomers:
            with (
                self.phase(f"{len(newcomers):,} newcomers' self-registrations") as made,
                transaction.atomic(),
            ):
                made += bulk.newcomers_write(newcomers, context)

    def clinic_fill(self, today, patient_total, busy_day, *, showcase_patients):
        wanted = clinic_days.appointments_wanted(patient_total) if busy_day is None else busy_day
        now = timezone.now()
        for day, share in ((today, wanted), (today + timedelta(days=1), wanted * 4 // 5)):
            with self.phase(f"clinic on {day:%a %d %b}") as made, transaction.atomic():
                made["appointments"] += clinic_days.day_fill(
                    day, share, patient_total=patient_total, showcase_patients=showcase_patients, now=now
                )

    def statistics_refresh(self):
        """After a large load, PostgreSQL plans from stale statistics (empty tables) until autovacuum
        catches up: the portal-status query then takes minutes instead of a second."""
        if connection.vendor != "postgresql" or self.made.total() < 10_000:
            return
        with self.phase("ANALYZE, so PostgreSQL plans with the new row counts", counts=False):
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in COUNTED.values())
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")

    def counts_recount(self):
        """The bulk phases write PINs and accesses without the services that keep the registration
        counts: count them in full once, as a first deploy does."""
        with self.phase("registration counts, counted in full", counts=False):
            tallies_recount(timezone.now())

    # ---------------------------------------------------------------- output
    @contextmanager
    def phase(self, label: str, *, counts: bool = True) -> Iterator[Counter]:
        """Time a phase; the body adds what it made to the yielded counter, printed with the time."""
        start, made = time.perf_counter(), Counter()
        yield made
        self.made += made
        shown = ", ".join(f"+{n:,} {kind.replace('_', ' ')}" for kind, n in made.items() if n)
        if counts:
            label = f"{label}: {shown or 'nothing new'}"
        self.say(f"  {label} … {time.perf_counter() - start:.1f} s")

    def say(self, line: str):
        if self.verbose and line:
            self.stdout.write(line)

    def summary(self, before: dict[str, int], after: dict[str, int], today):
        self.stdout.write(f"\nDemo practice ({time.perf_counter() - self.started:.1f} s in all):")
        for kind, n in after.items():
            self.stdout.write(f"  {kind:<28}{n:>10,}  (+{n - before[kind]:,})")
        statuses = Counter(
            dict(patients_with_portal_status().values_list("portal_status").annotate(n=Count("pk")))
        )
        self.stdout.write(
            "  portal status: "
            + ", ".join(f"{s.label.lower()} {statuses[s.value]:,}" for s in PortalStatus)
            + f"; waiting self-registrations {_awaiting():,}"
        )
        for day in (today, today + timedelta(days=1)):
            start, end = (
                schedule.moment(day, dt_time.min),
                schedule.moment(day + timedelta(days=1), dt_time.min),
            )
            booked = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end).count()
            self.stdout.write(f"  appointments on {day:%a %d %b}: {booked:,}")

    def sign_in_details(self, front_desk, admin, password, given, parent_email, *, parent_kept: bool):
        url = settings.PORTAL_BASE_URL.rstrip("/")
        self.stdout.write(f"\nSign in at {url}/admin/ (staff pages: {url}/staff/)")
        for who in (front_desk, admin):
            shown = who.password_note if who.password_note == staff.PASSWORD_KEPT else password
            self.stdout.write(f"  {who.user.username:<10} {shown}")
        shown = "password unchanged from an earlier run" if parent_kept else password
        self.stdout.write(f"  parent     {parent_email} {shown}  (portal: {url}/portal/)")
        if not given:
            self.stdout.write("  (a random password: pass --password to choose one)")
            if parent_kept and self.made["accounts"]:
                self.stdout.write(f"  parent accounts made in this run: {password}")


def _chunks(outlines: list[families.Outline], patients: int) -> Iterator[list[families.Outline]]:
    """Consecutive families holding about `patients` patients each."""
    chunk, size = [], 0
    for outline in outlines:
        chunk.append(outline)
        size += outline.size
        if size >= patients:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _describe(chunk: list[families.Outline], today) -> list[families.Family]:
    return [families.family_describe(o, today) for o in chunk]


def _row_counts() -> dict[str, int]:
    return {kind: model.objects.count() for kind, model in COUNTED.items()}


def _awaiting() -> int:
    return SelfRegistrationRequest.objects.filter(status=SelfRegistrationRequest.Status.AWAITING).count()


def _showcase_parent(outlines, today) -> str:
    """The email of the first family's mother, who sees her children on the portal (`families.STORIES`)."""
    return families.family_describe(outlines[0], today).contacts[0].email.lower()


def _password_ensure(username: str, password: str):
    user = User.objects.get(username=username)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
