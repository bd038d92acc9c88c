"""What the fast staff pages (issue 6) still promise: name search, ranked reconcile candidates, the
practice snapshot behind the statistics and duplicate pages, and /healthz."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registration import selectors
from registration.models import RegistrationSnapshot
from registration.services.accounts import NewAccount, account_disable_duplicate
from registration.services.pins import pin_issue
from registration.services.self_registration import ChildDetails
from registration.statistics.snapshots import statistics_latest, statistics_snapshot_take
from tests.factories import PatientContactFactory, PatientFactory, admin_user, confirmed_self_registration

pytestmark = pytest.mark.django_db


def _names(text):
    return sorted(p.full_name for p in selectors.patient_search(text))


# ---------------------------------------------------------------- name search


def test_each_word_matches_the_start_of_a_name_in_any_order():
    PatientFactory(first_name="Jordan", last_name="Smith")
    PatientFactory(first_name="Joanna", last_name="Smithers")
    PatientFactory(first_name="Mia", last_name="Johnson")
    PatientFactory(first_name="Ada", last_name="Blacksmith")

    assert _names("smi jo") == ["Joanna Smithers", "Jordan Smith"]
    assert _names("JO smi") == ["Joanna Smithers", "Jordan Smith"]
    assert _names("jordan") == ["Jordan Smith"]
    # Inside a word is not a match: "smith" is the start of Smith, not of Blacksmith.
    assert _names("smith") == ["Joanna Smithers", "Jordan Smith"]


def test_both_halves_of_a_hyphenated_name_are_found():
    PatientFactory(first_name="Lucia", last_name="Garcia-Lopez")

    assert _names("lopez") == ["Lucia Garcia-Lopez"]
    assert _names("garcia-lopez lu") == ["Lucia Garcia-Lopez"]


def test_wildcards_typed_by_staff_match_only_themselves():
    PatientFactory(first_name="Ana", last_name="Reyes")

    assert _names("%") == []
    assert _names("_na") == []


def test_an_mrn_a_birth_date_and_a_phone_still_find_the_patient():
    link = PatientContactFactory(
        patient=PatientFactory(mrn="AB12345", date_of_birth=dt.date(2019, 4, 17)),
        contact__cell_phone="+12025550143",
    )
    name = [link.patient.full_name]

    assert _names("ab12345") == name
    assert _names("04/17/2019") == name
    assert _names("(202) 555-0143") == name


# ---------------------------------------------------------------- reconcile


def _request_for(first, last, dob, *, email="parent@example.org"):
    return confirmed_self_registration(
        children=[ChildDetails(first, last, dob)],
        new_account=NewAccount(email=email, password="x" * 16, first_name="P", last_name=last, cell_phone=""),
    )[0]


def test_a_shared_birthday_alone_is_shown_only_when_nobody_matches_better():
    born = dt.date(2018, 3, 3)
    child = PatientFactory(first_name="Oliver", last_name="Brennan", date_of_birth=born)
    for n in range(12):  # classmates sharing the birthday, named so that no random name is Oliver's
        PatientFactory(first_name=f"Classmate{n}", last_name="Other", date_of_birth=born)

    candidates = selectors.reconcile_candidates(_request_for("Oliver", "Brennan", born))
    print("strong match:", [(c.patient.full_name, c.score, c.reasons) for c in candidates])
    assert [c.patient for c in candidates] == [child]
    assert candidates[0].reasons == ["date of birth", "last name", "first name"]

    weak = selectors.reconcile_candidates(_request_for("Zed", "Nobody", born, email="other@example.org"))
    print("no strong match:", len(weak), "birthday-only candidates")
    assert len(weak) == 10  # the page's limit
    assert all(c.reasons == ["date of birth"] for c in weak)


def test_the_parents_email_on_a_chart_ranks_that_child_first():
    link = PatientContactFactory(
        patient=PatientFactory(first_name="Ivy", last_name="Okafor"), contact__email="Ngozi@Example.org"
    )
    PatientFactory(first_name="Ivy", last_name="Okafor")  # a namesake, no contact in common

    candidates = selectors.reconcile_candidates(
        _request_for("Ivy", "Okafor", dt.date(2001, 1, 1), email="ngozi@example.org")
    )
    assert candidates[0].patient == link.patient
    assert "parent's confirmed email" in candidates[0].reasons


# ---------------------------------------------------------------- the practice snapshot


def test_a_stale_snapshot_is_retaken_once_however_many_pages_ask(settings):
    settings.STATISTICS_MAX_AGE = 60
    PatientFactory.create_batch(3)
    first = statistics_snapshot_take(now=timezone.now() - dt.timedelta(minutes=5))
    assert first.not_registered == 3
    PatientFactory()

    with CaptureQueriesContext(connection) as asked:
        fresh = statistics_latest()  # stale: claims the refresh; the immediate backend runs it
    with CaptureQueriesContext(connection) as read_again:
        again = statistics_latest()
    print(f"stale read: {len(asked)} queries; fresh read: {len(read_again)} query")
    assert fresh.counts.not_registered == again.counts.not_registered == 4
    assert len(read_again) == 1


def test_a_claimed_refresh_is_not_claimed_again_while_the_worker_has_it(settings):
    settings.STATISTICS_MAX_AGE = 60
    statistics_snapshot_take(now=timezone.now() - dt.timedelta(minutes=5))
    RegistrationSnapshot.objects.update(refresh_requested_at=timezone.now())  # another page's claim

    statistics_latest()
    snapshot = RegistrationSnapshot.objects.get()
    assert snapshot.computed_at < timezone.now() - dt.timedelta(minutes=4), "not retaken a second time"


def test_the_statistics_page_shows_the_registration_counts_and_their_time(admin_client, staff):
    link = PatientContactFactory()
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    PatientFactory()

    page = admin_client.get("/staff/statistics/").content.decode()
    assert '<span class="tile-label">Pending</span> <span class="tile-n">1</span>' in page
    assert '<span class="tile-label">Not registered</span> <span class="tile-n">1</span>' in page
    assert "Counted at" in page


def test_a_pair_settled_since_the_snapshot_leaves_the_duplicates_page_at_once(settings, client, staff):
    settings.STATISTICS_MAX_AGE = 3600
    accounts = []
    for twin in "ab":
        accounts.append(
            confirmed_self_registration(
                children=[ChildDetails("A", "B", dt.date(2020, 1, 1))],
                new_account=NewAccount(
                    email=f"twin-{twin}@example.org",
                    password="x" * 16,
                    first_name="T",
                    last_name="W",
                    cell_phone="+13125550001",
                ),
            )[0].account
        )
    statistics_snapshot_take()
    admin = admin_user()
    client.force_login(admin)
    assert client.get("/staff/duplicates/").content.decode().count('class="card pair"') == 1

    account_disable_duplicate(duplicate=accounts[1], keep=accounts[0], by=admin, reason="same parent")
    page = client.get("/staff/duplicates/").content.decode()
    assert page.count('class="card pair"') == 0
    assert "pairs found" not in page  # it said "1 pairs found, the first 0 shown" (issue 13)


# ---------------------------------------------------------------- /healthz


def test_healthz_answers_without_a_session_or_a_known_host(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


def test_reconcile_compares_names_as_staff_search_does_accents_and_case_ignored():
    """A parent types "jose lopez garcia"; the chart says José López-García, born another day."""
    child = PatientFactory(first_name="José", last_name="López-García", date_of_birth=dt.date(2019, 5, 1))
    PatientFactory(first_name="Jose", last_name="Lopez", date_of_birth=dt.date(2019, 5, 2))
    request = _request_for("jose", "lopez garcia", dt.date(2019, 5, 3), email="new@example.org")
    candidates = selectors.reconcile_candidates(request)
    assert [c.patient for c in candidates][:1] == [child]
    assert candidates[0].reasons == ["last name", "first name"]
    assert candidates[0].score == 4


# ---------------------------------------------------------------- audit trail


def _plan(sql: str) -> str:
    """The query's plan with sequential scans priced out: an index that can serve it, serves it."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(line for (line,) in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    return plan


@pytest.mark.postgres  # PostgreSQL's plans, with sequential scans priced out
def test_the_audit_trails_email_and_patient_lookups_use_indexes(staff):
    """With 100,000 patients a scan of users, contacts or events per filter would take seconds."""
    link = PatientContactFactory(contact__email="Ada.Quill@example.org")
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    with CaptureQueriesContext(connection) as lookups:
        people = selectors.audit_people_with_email("ada.quill@EXAMPLE.org")
    queries = [query["sql"] for query in lookups] + [
        str(selectors.audit_events(people=people).query),
        str(selectors.audit_events(patients=[link.patient]).query),
    ]
    assert len(queries) == 4  # users, contacts, and the events of each filter
    for sql in queries:
        plan = _plan(sql)
        print(sql, plan, sep="\n")
        assert "Seq Scan" not in plan
