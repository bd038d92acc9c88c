"""Register all: the count on the button, a confirmation that changes nothing, a run the task worker
carries out one patient at a time with progress to watch, and never two messages for one patient."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from patients.models import FamilyContact, PatientContact
from registration.models import (
    AccessRestriction,
    AuditEvent,
    Pin,
    RegisterAllItem,
    RegisterAllRun,
    WelcomeMessage,
)
from registration.register_all.lifecycle import register_all_item_send
from registration.register_all.selectors import PlanCount, register_all_count, register_all_plan
from registration.register_all.services import RegisterAllRunning, register_all_start
from registration.selectors import appointment_rows_for_day
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from registration.services.self_registration import ChildDetails, self_registration_submit
from tests.factories import (
    AppointmentFactory,
    ChildDetailsFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    StaffFactory,
    confirmed_self_registration,
)
from tests.services.test_concurrency import run_at_once
from tests.staff.test_query_counts import queries_for
from tests.staff.test_resend_confirmation import welcome_by_email
from tests.task_queue import db_worker_batch


def _today_at(hour: int, minute: int = 0) -> dt.datetime:
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def _day_of(links, *, start: int = 8) -> list:
    for i, link in enumerate(links):
        AppointmentFactory(patient=link.patient, starts_at=_today_at(start) + dt.timedelta(minutes=3 * i))
    return links


def _dashboard(client) -> str:
    return " ".join(client.get(reverse("staff:dashboard")).content.decode().split())


# ---------------------------------------------------------------- the button


@pytest.mark.django_db
def test_the_button_counts_the_patients_who_qualify(front_desk_client, staff):
    reachable = _day_of([PatientContactFactory() for _ in range(3)])
    no_contact = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone=""))
    pending = PatientContactFactory()
    _day_of([no_contact, pending], start=12)
    pin_issue(patient=pending.patient, contact=pending.contact, path="chart", by=staff)
    AppointmentFactory(patient=reachable[0].patient, starts_at=_today_at(16))  # a second visit counts once

    html = _dashboard(front_desk_client)

    assert ">Register all 3</button>" in html
    assert "to the 3 patients on this list who are not registered" in html


@pytest.mark.django_db
def test_a_patient_a_waiting_sign_up_may_be_about_is_skipped_up_front_not_counted(front_desk_client):
    """The run would refuse them (a possible duplicate account), so the button and the confirmation say
    so before staff press anything. Only a request whose email is confirmed holds a message back."""
    by_email, by_child, unconfirmed, free = _day_of([PatientContactFactory() for _ in range(4)])
    confirmed_self_registration(
        children=[ChildDetailsFactory()], new_account=NewAccountFactory(email=by_email.contact.email.upper())
    )
    child = by_child.patient
    confirmed_self_registration(
        children=[ChildDetails(child.first_name.lower(), "Other", child.date_of_birth)],
        new_account=NewAccountFactory(),
    )
    self_registration_submit(  # not confirmed: anyone's typing, it holds nothing back
        children=[ChildDetailsFactory()], new_account=NewAccountFactory(email=unconfirmed.contact.email)
    )

    assert ">Register all 2</button>" in _dashboard(front_desk_client)
    page = " ".join(front_desk_client.get(reverse("staff:register-all")).content.decode().split())
    assert page.count("A parent&#x27;s sign-up that may be theirs is waiting") == 2
    for link in (unconfirmed, free):
        assert f"{link.patient.last_name}, {link.patient.first_name}" in page.split("Will be skipped")[0]


@pytest.mark.django_db
def test_the_button_is_hidden_with_the_reason_when_nobody_qualifies(front_desk_client, staff):
    [pending] = _day_of([PatientContactFactory()])
    pin_issue(patient=pending.patient, contact=pending.contact, path="chart", by=staff)
    html = _dashboard(front_desk_client)
    assert "Register all" not in html.replace("No Register all", "")
    assert "everyone on this list is registered or has a PIN waiting" in html

    _day_of([PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone=""))], start=10)
    html = _dashboard(front_desk_client)
    assert "the 1 patient not registered has no parent with an email or cell phone" in html
    assert "<button" not in html.split('class="register-all', 1)[1].split("</p>", 1)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_the_dashboard_with_the_count_and_resend_runs_a_fixed_number_of_queries(
    rows, admin_client, staff, settings
):
    settings.STATISTICS_MAX_AGE = 3600  # as in production: the worker keeps the statistics fresh
    links = _day_of([PatientContactFactory() for _ in range(rows)])
    for link in links[::2]:  # every other one Pending, shown with Resend and when its PIN went out
        welcome_by_email(link, staff)
    # session with its user, appointments (with their PINs), waiting count, reachable contacts, the
    # waiting sign-ups that would hold a message back, run
    assert queries_for(admin_client, "/staff/") == 6
    html = _dashboard(admin_client)
    assert f">Register all {rows // 2}</button>" in html
    assert html.count(">Resend</a>") == rows // 2


@pytest.mark.django_db
def test_the_buttons_count_is_the_confirmations_plan_on_a_mixed_day(staff):
    """The button counts with ids and addresses only; the confirmation loads the contacts. Every reason
    to skip a patient must come out the same from both."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    by_email, by_text, restricted, ended, waiting, second_visit = (PatientContactFactory() for _ in range(6))
    FamilyContact.objects.filter(pk=by_text.contact.pk).update(email="", cell_phone="+12025550143")
    restriction_create(
        patient=restricted.patient,
        contact=restricted.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=yesterday,
        by=staff,
    )
    PatientContact.objects.filter(pk=ended.pk).update(valid_until=yesterday)
    confirmed_self_registration(
        children=[ChildDetailsFactory()], new_account=NewAccountFactory(email=waiting.contact.email)
    )
    only_self = PatientContactFactory(relationship=PatientContact.Relationship.SELF)
    no_address = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone=""))
    deceased = PatientContactFactory(patient=PatientFactory(deceased=True, deceased_on=yesterday))
    inactive = PatientContactFactory(patient=PatientFactory(active=False))
    pending = PatientContactFactory()
    pin_issue(patient=pending.patient, contact=pending.contact, path="chart", by=staff)
    day = [by_email, by_text, restricted, ended, waiting, second_visit, only_self, no_address]
    _day_of([*day, deceased, inactive, pending, second_visit], start=8)

    rows = appointment_rows_for_day(timezone.localdate())
    plan = register_all_plan(rows)
    count = register_all_count(rows)

    assert {row.patient_id for row in plan if row.sends} == {
        link.patient_id for link in (by_email, by_text, second_visit)
    }
    assert len(plan) == 10  # all but the Pending one, the second visit once
    assert count == PlanCount(sends=3, not_registered=10)


# ---------------------------------------------------------------- the confirmation


@pytest.mark.django_db
def test_the_confirmation_lists_who_gets_what_and_changes_nothing(front_desk_client):
    by_email = PatientContactFactory()
    by_text = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone="+12025550143"))
    no_contact = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone=""))
    _day_of([by_email, by_text, no_contact])
    events = AuditEvent.objects.count()

    page = front_desk_client.get(reverse("staff:register-all"), {"day": timezone.localdate().isoformat()})

    assert [(row.patient_id, row.channel_label) for row in page.context["sending"]] == [
        (by_email.patient.pk, "Email"),
        (by_text.patient.pk, "Text message"),
    ]
    assert [(row.patient_id, row.skipped) for row in page.context["skipped"]] == [
        (no_contact.patient.pk, "No family contact with an email or cell phone")
    ]
    assert b"Send 2 welcome messages</button>" in page.content
    assert not Pin.objects.exists() and not WelcomeMessage.objects.exists()
    assert not RegisterAllRun.objects.exists()
    assert AuditEvent.objects.count() == events


# ---------------------------------------------------------------- the run


@pytest.mark.django_db
def test_confirming_runs_it_and_the_summary_says_what_became_of_each(
    front_desk_client, django_capture_on_commit_callbacks
):
    sent = _day_of([PatientContactFactory() for _ in range(2)])
    unreachable = FamilyContactFactory(email="", cell_phone="")
    no_contact = _day_of([PatientContactFactory(contact=unreachable)], start=11)

    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend: run in the request
        response = front_desk_client.post(reverse("staff:register-all"), {"day": timezone.localdate()})

    run = RegisterAllRun.objects.get()
    assert response["Location"] == reverse("staff:register-all-run", args=[run.pk])
    assert (run.stage, run.done, run.total) == ("done", 3, 3)
    page = front_desk_client.get(response["Location"])
    assert page.templates[0].name == "staff/register_all_done.html"
    summary = page.context["summary"]
    assert {row.item.patient for row in summary.rows if row.result == "Sent"} == {
        link.patient for link in sent
    }
    assert [row.item.patient for row in summary.rows if row.result == "Skipped"] == [no_contact[0].patient]
    html = " ".join(page.content.decode().split())
    assert "<h2>Sent (2)</h2>" in html and "<h2>Skipped (1)</h2>" in html
    actions = list(
        AuditEvent.objects.exclude(action="signed_in").order_by("pk").values_list("action", flat=True)
    )
    assert actions[0] == "register_all_started"
    assert actions.count("register_all_finished") == 1
    assert actions.count("welcome_queued") == 2


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_it_while_staff_watch_the_progress(database_queue):
    links = _day_of([PatientContactFactory() for _ in range(4)])
    client = Client()
    client.force_login(StaffFactory())

    page_url = client.post(reverse("staff:register-all"), {"day": timezone.localdate()})["Location"]
    run = RegisterAllRun.objects.get()
    progress = client.get(page_url)
    assert progress.templates[0].name == "staff/register_all_progress.html"
    assert b'data-noun="patients"' in progress.content
    numbers = client.get(reverse("staff:register-all-progress", args=[run.pk])).json()
    assert (numbers["stage"], numbers["done"], numbers["total"], numbers["finished"]) == (
        "queued",
        0,
        4,
        False,
    )
    assert not WelcomeMessage.objects.exists(), "nothing is sent in the request"
    assert DBTaskResult.objects.get().args_kwargs == {"args": [run.pk], "kwargs": {}}

    db_worker_batch()  # the run, then the welcome messages it queued

    numbers = client.get(reverse("staff:register-all-progress", args=[run.pk])).json()
    assert (numbers["done"], numbers["total"], numbers["finished"]) == (4, 4, True)
    summary = client.get(page_url).context["summary"]
    assert [row.result for row in summary.rows] == ["Sent"] * 4
    assert {m.pin.patient for m in WelcomeMessage.objects.select_related("pin__patient")} == {
        link.patient for link in links
    }


@pytest.mark.django_db
def test_a_second_register_all_of_the_day_while_one_runs_sends_nothing_more(front_desk_client, staff):
    _day_of([PatientContactFactory() for _ in range(2)])
    first = register_all_start(day=timezone.localdate(), by=staff)  # queued: no worker came yet

    response = front_desk_client.post(reverse("staff:register-all"), {"day": timezone.localdate()})

    assert response["Location"] == reverse("staff:register-all-run", args=[first.pk])
    assert RegisterAllRun.objects.count() == 1
    assert front_desk_client.get(reverse("staff:register-all"), {"day": timezone.localdate()})[
        "Location"
    ] == reverse("staff:register-all-run", args=[first.pk]), "the confirmation shows the run instead"
    assert "Register all is running: 0 of 2" in _dashboard(front_desk_client)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_register_alls_started_at_once_make_one_run(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued, not run
    _day_of([PatientContactFactory() for _ in range(3)])
    staff = [StaffFactory(), StaffFactory()]
    day = timezone.localdate()

    outcomes = run_at_once([lambda by=by: register_all_start(day=day, by=by) for by in staff])

    assert sorted(type(o).__name__ for o in outcomes) == ["RegisterAllRun", "RegisterAllRunning"]
    assert RegisterAllRun.objects.count() == 1
    assert RegisterAllItem.objects.count() == 3
    assert AuditEvent.objects.filter(action="register_all_started").count() == 1


@pytest.mark.django_db
def test_a_run_whose_worker_stopped_no_longer_holds_the_day(front_desk_client, staff):
    _day_of([PatientContactFactory()])
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    stopped = register_all_start(day=timezone.localdate(), by=staff, now=an_hour_ago)
    assert ">Register all 1</button>" in _dashboard(front_desk_client), "the button is offered again"
    page = front_desk_client.get(reverse("staff:register-all-run", args=[stopped.pk]))
    assert page.templates[0].name == "staff/register_all_done.html", "nothing more to watch"
    assert "The task worker stopped before the end" in page.content.decode()
    [row] = page.context["summary"].rows
    assert row.result == "Not reached"
    again = register_all_start(day=timezone.localdate(), by=staff)
    stopped.refresh_from_db()
    assert stopped.stage == "stopped" and stopped.finished_at is not None
    assert again.pk != stopped.pk
    with pytest.raises(RegisterAllRunning):
        register_all_start(day=timezone.localdate(), by=staff)


@pytest.mark.django_db
def test_a_patient_given_a_pin_after_the_confirmation_is_skipped_not_sent_twice(staff):
    [link] = _day_of([PatientContactFactory()])
    run = register_all_start(day=timezone.localdate(), by=staff)
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)

    item = register_all_item_send(item_id=run.items.get().pk)

    assert (item.outcome, item.message) == ("skipped", None)
    assert item.skipped_reason == "Given a PIN or registered since the list was confirmed"
    assert Pin.objects.count() == 1 and not WelcomeMessage.objects.exists()
