"""The app's database role cannot erase the audit trail (issue 12, finding 9).

The app connected as the role that owns the tables, and an owner may TRUNCATE the audit table, disable
its append-only trigger, or turn triggers off with session_replication_role (as a superuser may). The
role `manage.py db_app_role` makes may read and write the app's rows and only read and add audit
events. Roles are cluster-wide: each run makes one of its own name and drops it after.
"""

import io
import secrets

import psycopg
import pytest
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction
from psycopg import sql

from registration.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ERASING = {
    "TRUNCATE the audit table": "TRUNCATE registration_auditevent",
    "disable its trigger": "ALTER TABLE registration_auditevent DISABLE TRIGGER ALL",
    "turn triggers off": "SET session_replication_role = replica",
    "update an event": "UPDATE registration_auditevent SET details = '{}'",
    "delete every event": "DELETE FROM registration_auditevent",
    "drop the table": "DROP TABLE registration_auditevent",
}
ADD_EVENT = (
    "INSERT INTO registration_auditevent (at, action, path, details) VALUES (now(), 'pin_issued', '', '{}')"
)


@pytest.fixture
def app_role(monkeypatch):
    """A new app role, made by the command as production makes it; dropped after the test."""
    role, password = f"portalreg_app_test_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    monkeypatch.setenv("TEST_APP_ROLE_PASSWORD", password)
    out = io.StringIO()
    call_command("db_app_role", role, "--password-env", "TEST_APP_ROLE_PASSWORD", stdout=out)
    try:
        yield role, password, out.getvalue()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(role)))


def connect_as(role: str, password: str) -> psycopg.Connection:
    settings = connection.settings_dict  # during tests, NAME is the test database
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=role,
        password=password,
        autocommit=True,
    )


def try_as_app(app: psycopg.Connection, statement: str) -> str:
    try:
        app.execute(statement)
    except psycopg.errors.InsufficientPrivilege as refused:
        return f"refused ({refused.sqlstate}: {str(refused).splitlines()[0]})"
    return "done"


def try_as_owner(statement: str) -> str:
    """Run the statement and, for the two that switch the trigger off, delete every event after it;
    always rolled back, so the test's rows stay."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM registration_auditevent")
            before = cursor.fetchone()[0]
            cursor.execute(statement)
            if "TRIGGER" in statement or "session_replication_role" in statement:
                cursor.execute("DELETE FROM registration_auditevent")
            cursor.execute("SELECT to_regclass('registration_auditevent') IS NOT NULL")
            left = "no table"
            if cursor.fetchone()[0]:
                cursor.execute("SELECT count(*) FROM registration_auditevent")
                left = cursor.fetchone()[0]
            transaction.set_rollback(True)
    except ProgrammingError as refused:
        return f"refused by the trigger ({str(refused).splitlines()[0]})"
    return f"done: {before} events, then {left}"


def test_the_app_role_cannot_erase_the_audit_trail_and_the_owner_could(app_role):
    role, password, printed = app_role
    with connection.cursor() as cursor:
        cursor.execute(ADD_EVENT)
        cursor.execute(ADD_EVENT)
    app = connect_as(role, password)
    try:
        as_app = {what: try_as_app(app, statement) for what, statement in ERASING.items()}
        # What the app does do: read and add audit events, and read and write its other rows.
        app.execute(ADD_EVENT)
        events = app.execute("SELECT count(*) FROM registration_auditevent").fetchone()[0]
        patient = PatientFactory()
        app.execute("UPDATE patients_patient SET first_name = 'Renamed' WHERE id = %s", [patient.pk])
        app.execute("INSERT INTO ratelimits_hit (key, at) VALUES ('k', now())")
        app.execute("DELETE FROM ratelimits_hit WHERE key = 'k'")
        owned = app.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"
        ).fetchone()[0]
        attributes = app.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
    finally:
        app.close()
    as_owner = {what: try_as_owner(statement) for what, statement in ERASING.items()}

    print(f"\n{printed.strip()}")
    for what in ERASING:
        print(f"{what:28} app role: {as_app[what]}\n{'':28} owner:    {as_owner[what]}")
    print(f"app role: added 1 event (3 in all, read back {events}), changed a patient and a rate-limit row")
    assert all(result.startswith("refused (42501") for result in as_app.values()), as_app
    # The trigger stops the owner's UPDATE and DELETE too, but the owner can switch it off, or empty or
    # drop the table: four ways to erase history that the app role no longer has.
    erased = [what for what, result in as_owner.items() if result.startswith("done")]
    assert erased == [
        "TRUNCATE the audit table",
        "disable its trigger",
        "turn triggers off",
        "drop the table",
    ]
    assert events == AuditEvent.objects.count() == 3
    patient.refresh_from_db()
    assert patient.first_name == "Renamed"
    assert (owned, attributes) == (0, (False, False, False, False))


def test_running_the_command_again_keeps_the_audit_grant_narrow(app_role):
    """After a migration (default privileges would grant a new audit table everything) it is run again."""
    role = app_role[0]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT ALL ON {} TO {}").format(
                sql.Identifier(AuditEvent._meta.db_table), sql.Identifier(role)
            )
        )
    call_command("db_app_role", role, stdout=io.StringIO())

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants"
            " WHERE table_name = %s AND grantee = %s ORDER BY 1",
            [AuditEvent._meta.db_table, role],
        )
        assert [row[0] for row in cursor.fetchall()] == ["INSERT", "SELECT"]
