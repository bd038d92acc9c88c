"""The audit trail cannot be rewritten: not by raw SQL on PostgreSQL, nor through the Django admin.

The ORM's own refusals (save over, update, delete, upsert) are tested in tests/services/test_audit.py.
"""

import datetime as dt
import importlib

import pytest
from django.apps import apps as installed_apps
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.urls import reverse

from accounts.models import ADMIN_GROUP
from registration.models import AuditEvent, RegistrationPath
from registration.services.audit import audit_record
from tests.factories import PatientContactFactory, StaffFactory
from tests.security._quiet_logs import quiet_request_log  # noqa: F401 (autouse)

migration = importlib.import_module("registration.migrations.0004_audit_append_only")

AT = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def event(db):
    link = PatientContactFactory()
    return audit_record(
        action=AuditEvent.Action.PIN_ISSUED,
        at=AT,
        actor=StaffFactory(),
        path=RegistrationPath.CHART,
        patient=link.patient,
        contact=link.contact,
        details={"pin_id": 1},
    )


def _stored(event) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT action, at, actor_id, patient_id, details FROM registration_auditevent WHERE id = %s",
            [event.pk],
        )
        return cursor.fetchone()


def _sql(statement: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: the test goes on after
        cursor.execute(statement, params)


# ---------------------------------------------------------------- PostgreSQL refuses changes itself

REFUSED_SQL = {
    "update one": ("UPDATE registration_auditevent SET details = '{}' WHERE id = %s", True),
    "update all": ("UPDATE registration_auditevent SET action = 'pin_redeemed'", False),
    "move in time": ("UPDATE registration_auditevent SET at = at - interval '1 year' WHERE id = %s", True),
    "delete one": ("DELETE FROM registration_auditevent WHERE id = %s", True),
    "delete all": ("DELETE FROM registration_auditevent", False),
}


@pytest.mark.postgres
@pytest.mark.parametrize("statement,with_id", REFUSED_SQL.values(), ids=REFUSED_SQL.keys())
def test_postgresql_refuses_raw_sql_that_changes_or_removes_an_audit_event(event, statement, with_id):
    before = _stored(event)

    with pytest.raises(ProgrammingError, match="audit events are append-only") as refused:
        _sql(statement, [event.pk] if with_id else [])

    assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege, as a revoked grant says
    assert _stored(event) == before


@pytest.mark.postgres
def test_postgresql_still_takes_new_audit_events_by_raw_sql(event):
    _sql(
        "INSERT INTO registration_auditevent (at, action, path, details)"
        " VALUES (now(), 'pin_issued', '', '{}')"
    )
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
def test_postgresql_refuses_to_delete_a_row_an_audit_event_names(event):
    """The patient, contact and staff user an event names stay, even to raw SQL (foreign keys)."""
    named = [
        ("patients_patient", event.patient_id),
        ("patients_familycontact", event.contact_id),
        ("accounts_user", event.actor_id),
    ]
    for table, pk in named:
        with (
            pytest.raises(IntegrityError, match="registration_auditevent"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            # Django makes foreign keys deferred; check this one now rather than at a commit.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # What else refers to the row goes first, so that only the audit event holds on to it.
            if table == "patients_patient":
                cursor.execute("DELETE FROM patients_patientcontact WHERE patient_id = %s", [pk])
            if table == "patients_familycontact":
                cursor.execute("DELETE FROM patients_patientcontact WHERE contact_id = %s", [pk])
            if table == "accounts_user":
                cursor.execute("DELETE FROM accounts_user_groups WHERE user_id = %s", [pk])
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 (table names above)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_the_migration_can_be_reversed_and_reapplied(event):
    """Rolled back by the test's transaction: PostgreSQL's DDL is transactional."""
    with connection.schema_editor() as editor:
        migration.remove(installed_apps, editor)
    _sql("""UPDATE registration_auditevent SET details = '{"pin_id": 2}' WHERE id = %s""", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).details == {"pin_id": 2}

    with connection.schema_editor() as editor:
        migration.install(installed_apps, editor)
    with pytest.raises(ProgrammingError, match="append-only"):
        _sql("DELETE FROM registration_auditevent WHERE id = %s", [event.pk])


# ---------------------------------------------------------------- other databases: the ORM guards alone


class RecordingEditor:
    def __init__(self, vendor: str):
        self.connection = type("Connection", (), {"vendor": vendor})()
        self.executed = []

    def execute(self, sql, params=()):
        self.executed.append(sql)


@pytest.mark.parametrize("vendor", ["sqlite", "mysql", "oracle", "postgresql"])
def test_the_migration_runs_sql_on_postgresql_only(vendor):
    editor = RecordingEditor(vendor)
    migration.install(installed_apps, editor)
    migration.remove(installed_apps, editor)
    if vendor == "postgresql":
        assert "CREATE TRIGGER" in editor.executed[0]
        assert "DROP TRIGGER" in editor.executed[1]
    else:
        assert editor.executed == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite side of the migration")
def test_on_sqlite_the_migration_left_no_trigger(event):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert cursor.fetchall() == []
    # Raw SQL is not refused here: on SQLite, AuditEvent's own methods are the guard.
    _sql("UPDATE registration_auditevent SET details = '{}' WHERE id = %s", [event.pk])


# ---------------------------------------------------------------- the Django admin shows, never changes


def test_even_a_superuser_cannot_add_change_or_delete_audit_events_in_the_admin(client, event):
    client.force_login(StaffFactory(role=ADMIN_GROUP, is_staff=True, is_superuser=True))
    before = AuditEvent.objects.values().get(pk=event.pk)
    change = reverse("admin:registration_auditevent_change", args=[event.pk])
    delete = reverse("admin:registration_auditevent_delete", args=[event.pk])
    changelist = reverse("admin:registration_auditevent_changelist")

    assert client.get(changelist).status_code == 200
    assert client.get(change).status_code == 200  # a read-only view
    assert client.post(change, {"action": "pin_redeemed", "details": "{}"}).status_code == 403
    assert client.get(reverse("admin:registration_auditevent_add")).status_code == 403
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)

    assert AuditEvent.objects.values().get(pk=event.pk) == before
    assert not AuditEvent.objects.filter(action__startswith="admin_").exists()
    assert b"delete_selected" not in client.get(changelist).content
