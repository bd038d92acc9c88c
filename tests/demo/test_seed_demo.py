"""`manage.py seed_demo`: idempotent, deterministic, and showing every case the demo is for."""

import hashlib
import io
from datetime import datetime, time, timedelta

import phonenumbers
import pytest
from django.apps import apps
from django.contrib.auth.hashers import identify_hasher
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, User
from patients.models import Appointment, FamilyContact, Patient
from registration.models import AuditEvent, Pin, PortalAccess, PortalStatus, SelfRegistrationRequest
from registration.selectors import patients_with_portal_status, self_registration_requests_matching

PASSWORD = "seeded demo pass phrase"
PROJECT_APPS = ("accounts", "patients", "registration")

pytestmark = pytest.mark.django_db


def seed(patients: int = 60, **options) -> str:
    out = io.StringIO()
    call_command("seed_demo", patients=patients, stdout=out, **options)
    return out.getvalue()


def snapshot() -> tuple[dict[str, int], str]:
    """Row counts of every table, and a hash of every row of the project's own tables."""
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    digest = hashlib.sha256()
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            for row in model._default_manager.order_by("pk").values_list():
                digest.update(repr(row).encode())
    return counts, digest.hexdigest()


def day_range(day):
    zone = timezone.get_current_timezone()
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


def test_a_second_run_changes_nothing_and_a_larger_one_adds_only_missing_patients():
    seed(password=PASSWORD)
    first = snapshot()
    output = seed(password=PASSWORD)
    assert snapshot() == first
    assert "(+0)" in output and "(+1" not in output

    patients = list(Patient.objects.order_by("mrn").values_list())
    contacts = list(FamilyContact.objects.order_by("pk").values_list())
    seed(patients=75, password=PASSWORD)
    assert Patient.objects.count() == 75
    assert list(Patient.objects.order_by("mrn").values_list())[:60] == patients
    assert list(FamilyContact.objects.order_by("pk").values_list())[: len(contacts)] == contacts
    # A family cut short at 60 patients gets its missing children linked to the contacts it has.
    assert not FamilyContact.objects.annotate(n=Count("patients")).filter(n=0).exists()


def test_the_demo_shows_every_case():
    output = seed(password=PASSWORD)
    check_families()
    check_clinic()
    check_portal_states()
    check_self_registration_requests()
    check_sign_ins(output)


def check_families():
    assert Patient.objects.count() == 60
    # Siblings share their parents' contact rows; two-parent households have a mother and a father.
    assert FamilyContact.objects.annotate(n=Count("patients")).filter(n__gte=2).exists()
    assert (
        Patient.objects.filter(contact_links__relationship="mother")
        .filter(contact_links__relationship="father")
        .exists()
    )
    assert FamilyContact.objects.filter(email="").exclude(cell_phone="").exists()  # phone only
    assert FamilyContact.objects.filter(preferred_language="es").exists()
    phones = FamilyContact.objects.exclude(cell_phone="").values_list("cell_phone", flat=True)
    # values_list gives what is stored, in E.164 (PhoneField parses only when a model's attribute is read).
    assert phones and all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones)


def check_clinic():
    today = timezone.localdate()
    todays = Appointment.objects.filter(starts_at__range=day_range(today))
    assert todays.count() >= 10
    assert todays.values("provider").distinct().count() >= 2
    assert Appointment.objects.filter(starts_at__range=day_range(today + timedelta(days=1))).exists()
    assert Appointment.objects.filter(starts_at__lt=day_range(today)[0]).count() > 60
    visit_types = {"Well child", "Sick visit", "Vaccines", "Follow-up", "Sports physical"}
    assert set(Appointment.objects.values_list("visit_type", flat=True)) <= visit_types
    local_hours = {a.starts_at.astimezone(timezone.get_current_timezone()).hour for a in todays}
    assert min(local_hours) >= 8 and max(local_hours) < 17


def check_portal_states():
    statuses = set(patients_with_portal_status().values_list("portal_status", flat=True))
    assert statuses == {PortalStatus.NOT_REGISTERED, PortalStatus.PENDING, PortalStatus.REGISTERED}
    # Both ways of writing state were used: the services for the showcase, rows marked seeded beyond.
    assert AuditEvent.objects.filter(details__seeded=True, action="pin_redeemed").exists()
    assert AuditEvent.objects.exclude(details__has_key="seeded").filter(action="pin_redeemed").exists()
    for pin in Pin.objects.filter(redeemed_at__isnull=False):
        assert pin.access.account == pin.redeemed_by and pin.access.path == pin.path
    for pin in Pin.objects.all():
        identify_hasher(pin.secret_hash)  # a hash, never a readable PIN


def check_self_registration_requests():
    waiting = SelfRegistrationRequest.objects.filter(status=SelfRegistrationRequest.Status.AWAITING)
    assert waiting.count() >= 3
    assert not waiting.filter(account__email_verified_at__isnull=True).exists()  # staff can see them

    def same_child_and_parent(patient, contact, request) -> bool:
        return (
            request.child_date_of_birth == patient.date_of_birth
            and request.child_first_name == patient.first_name
            and bool(contact.email)
            and request.parent_email == contact.email
        )

    assert any(
        same_child_and_parent(patient, contact, request)
        for patient in Patient.objects.prefetch_related("contacts")
        for contact in patient.contacts.all()
        for request in self_registration_requests_matching(patient=patient, contacts=[contact])
    ), "no waiting request to demonstrate the duplicate warning with"

    def matches_anyone(request) -> bool:
        return (
            Patient.objects.filter(date_of_birth=request.child_date_of_birth).exists()
            or FamilyContact.objects.filter(email__iexact=request.parent_email).exists()
            or FamilyContact.objects.filter(cell_phone=request.parent_cell_phone).exists()
        )

    assert any(not matches_anyone(request) for request in waiting)


def check_sign_ins(output: str):
    front_desk, admin = User.objects.get(username="frontdesk"), User.objects.get(username="admin")
    assert list(front_desk.groups.values_list("name", flat=True)) == [FRONT_DESK_GROUP]
    assert not front_desk.is_staff and not front_desk.is_superuser
    assert list(admin.groups.values_list("name", flat=True)) == [ADMIN_GROUP]
    assert admin.is_staff and admin.is_superuser

    seeded_actors = AuditEvent.objects.filter(details__seeded=True).values("actor")
    through_services = PortalAccess.objects.filter(pin__isnull=False).exclude(account__user__in=seeded_actors)
    in_bulk = PortalAccess.objects.filter(account__user__in=seeded_actors)
    parents = [through_services.first().account.user, in_bulk.first().account.user]
    for user in (front_desk, admin, *parents):
        assert Client().login(username=user.username, password=PASSWORD), user.username
    assert "http://127.0.0.1:8000/admin/" in output
    assert parents[0].username in output  # the summary names a parent to sign in as


def test_without_a_password_a_random_one_is_printed_and_kept_later():
    output = seed(patients=3)
    line = next(line for line in output.splitlines() if line.strip().startswith("frontdesk"))
    password = line.split(None, 1)[1]
    assert Client().login(username="frontdesk", password=password)
    again = seed(patients=3)
    assert "existing password unchanged" in again
    assert Client().login(username="frontdesk", password=password)
