"""The staff page of access changes due in the next 30 days: who, when, what, whom, told or not."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import PatientContact
from registration.services.birthdays import access_birthdays_run
from tests.birthdays.conftest import days_ahead
from tests.factories import StaffFactory

MOST_QUERIES_A_PAGE = 8  # as every staff page (tests/staff/test_query_counts.py)


@pytest.fixture
def staff_client(client, db):
    client.force_login(StaffFactory())
    return client


def page(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("staff:access-changes"))
    assert response.status_code == 200
    return response.content.decode(), len(captured)


@pytest.mark.django_db
def test_the_page_lists_the_birthdays_that_change_access_in_the_next_30_days(
    staff_client, child_turning, parent_of, django_capture_on_commit_callbacks
):
    ana = child_turning(12, on=days_ahead(3), first_name="Ana", last_name="Quill")
    ben = child_turning(18, on=days_ahead(29), first_name="Ben", last_name="Ross")
    later = child_turning(12, on=days_ahead(31), first_name="Cal", last_name="Later")
    alone = child_turning(18, on=days_ahead(5), first_name="Dee", last_name="Guarded")
    mother = parent_of(ana)
    father = parent_of(ben, PatientContact.Relationship.FATHER)
    parent_of(later)
    guardian = parent_of(alone, PatientContact.Relationship.GUARDIAN)  # kept at 18: no change

    html, _ = page(staff_client)

    assert html.index("Quill, Ana") < html.index("Ross, Ben")
    assert reverse("staff:patient-chart", args=[ana.pk]) in html
    assert "turns 12: parents see scheduling, messages and billing only" in html
    assert "turns 18: parents' access ends" in html
    assert mother.account.email in html and father.account.email in html
    assert "Later" not in html and "Guarded" not in html and guardian.account.email not in html
    assert html.count("Not yet") == 2
    assert 'aria-current="page">Access changes<' in html

    with django_capture_on_commit_callbacks(execute=True):
        access_birthdays_run()
    html, _ = page(staff_client)
    assert "Not yet" not in html


@pytest.mark.django_db
def test_the_page_runs_the_same_queries_for_two_changes_or_ten(staff_client, child_turning, parent_of):
    def family(n):
        teen = child_turning(12, on=days_ahead(n % 30), last_name=f"Teen{n}")
        parent_of(teen)
        parent_of(teen, PatientContact.Relationship.FATHER)
        parent_of(child_turning(18, on=days_ahead(n % 30), last_name=f"Adult{n}"))

    family(1)
    _, few = page(staff_client)
    for n in range(2, 6):
        family(n)
    html, many = page(staff_client)

    print(f"access changes page: {few} queries for 2 changes, {many} for 10")
    assert html.count("turns 1") == 10
    assert few == many <= MOST_QUERIES_A_PAGE


@pytest.mark.django_db
def test_the_page_is_for_staff_only(client, make_portal_account):
    url = reverse("staff:access-changes")
    assert client.get(url).status_code == 302  # to the staff sign-in
    client.force_login(make_portal_account().user)
    assert client.get(url).status_code == 403
