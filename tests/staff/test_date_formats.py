"""One way of writing dates and times (issue 13): the named formats of portalreg/formats, in every
template and wherever Python writes a date on a page; a birth date reads the same on every page."""

import datetime as dt
import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from registration.services.pins import pin_issue
from registration.staff import rows
from registration.templatetags import staff_badges
from tests.factories import AppointmentFactory, PatientContactFactory, PatientFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
NAMED = {"DATE_FORMAT", "DATETIME_FORMAT", "TIME_FORMAT", "SHORT_DATE_FORMAT", "MONTH_DAY_FORMAT"}
# What machines read, not people: a date input's value or a link's ?day=, and <time datetime="...">.
FOR_MACHINES = {"Y-m-d", "c"}
DATE_FILTER = re.compile(r"""\|(?:date|time):\s*["']([^"']*)["']""")
BORN = dt.date(2019, 4, 17)


def test_templates_use_only_the_named_formats():
    ad_hoc = [
        f"{path.relative_to(TEMPLATES)}: {fmt}"
        for path in TEMPLATES.rglob("*.*")
        for fmt in DATE_FILTER.findall(path.read_text())
        if fmt not in NAMED | FOR_MACHINES
    ]
    assert not ad_hoc, "date formats written out in templates:\n" + "\n".join(ad_hoc)
    naturaltime = [
        str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.*") if "naturaltime" in p.read_text()
    ]
    assert not naturaltime


def test_dates_are_unambiguous_in_english_and_follow_spanish():
    at = timezone.make_aware(dt.datetime(2026, 11, 30, 15, 4))
    with translation.override("en"):
        assert date_format(at.date()) == "Nov 30, 2026"
        assert date_format(at, "DATETIME_FORMAT") == "Nov 30, 2026, 3:04 PM"
        assert date_format(at, "TIME_FORMAT") == "3:04 PM"
    with translation.override("es"):
        assert date_format(at.date()) == "30 de noviembre de 2026"
        assert date_format(at, "DATETIME_FORMAT") == "30 de noviembre de 2026, 3:04 p.m."


@pytest.mark.django_db
def test_a_birth_date_reads_the_same_on_search_results_chart_and_reconcile_choices(front_desk_client):
    link = PatientContactFactory(patient=PatientFactory(last_name="Quill", date_of_birth=BORN))
    search = front_desk_client.get(reverse("staff:patient-search"), {"q": "Quill"}).content.decode()
    chart = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()
    for page in (search, chart):
        assert "Apr 17, 2019" in page
        assert "04/17/2019" not in page


@pytest.mark.django_db
def test_times_on_the_chart_and_the_audit_trail_read_alike(admin_client, staff):
    link = PatientContactFactory()
    starts = timezone.make_aware(dt.datetime(2026, 11, 30, 15, 4))
    AppointmentFactory(patient=link.patient, starts_at=starts)
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    now = timezone.localtime()
    chart = admin_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()
    audit = admin_client.get(reverse("staff:audit")).content.decode()
    assert "Nov 30, 2026, 3:04 PM" in chart
    assert date_format(now, "DATETIME_FORMAT") in chart
    # The audit trail's narrow When column: the same date and time, a line each.
    assert f"{date_format(now)}<br>{date_format(now, 'TIME_FORMAT')}" in audit


@pytest.mark.django_db
def test_a_parents_home_writes_dates_in_the_parents_language(client, make_portal_account):
    link = PatientContactFactory(patient=PatientFactory(date_of_birth=BORN))
    account = make_portal_account(link, password="a long enough pass phrase", preferred_language="es")
    AppointmentFactory(patient=link.patient, starts_at=timezone.make_aware(dt.datetime(2030, 11, 30, 15, 4)))
    client.force_login(account.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"

    home = client.get(reverse("portal:home")).content.decode()

    assert "17 de abril de 2019" in home  # the child's birth date
    assert "30 de noviembre de 2030, 3:04 p.m." in home


@pytest.mark.django_db
def test_staff_pages_stay_english_in_a_browser_set_to_spanish(front_desk_client):
    """The staff site is in English: a desk computer whose browser asks for Spanish, or that kept the
    portal's language cookie after showing a parent the portal, still reads "Apr 17, 2019"."""
    link = PatientContactFactory(patient=PatientFactory(date_of_birth=BORN))
    front_desk_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    chart = front_desk_client.get(
        reverse("staff:patient-chart", args=[link.patient.pk]), HTTP_ACCEPT_LANGUAGE="es"
    )
    page = chart.content.decode()
    assert "Apr 17, 2019" in page and "abril" not in page
    assert "Not registered" in page  # a status label, translated for parents


@pytest.mark.django_db
def test_status_badges_stay_english_whatever_language_first_loaded_the_template_tags(front_desk_client):
    """Django imports every template tag library when its first template is rendered: if that was a
    Spanish parent's page, a badge formatted at import said "Pendiente" on staff pages for the life of
    the worker. The badges are made per request."""
    link = PatientContactFactory()
    # Today in the practice's time zone: an hour from now is tomorrow's list after 23:00 there.
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    AppointmentFactory(patient=link.patient, starts_at=noon)
    try:
        with translation.override("es"):
            importlib.reload(rows)
            importlib.reload(staff_badges)
        page = front_desk_client.get(reverse("staff:dashboard")).content.decode()
    finally:
        importlib.reload(rows)
        importlib.reload(staff_badges)
    assert '<span class="status status-not_registered">Not registered</span>' in page
    assert "No registrado" not in page
