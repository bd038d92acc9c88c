"""Make the audit trail append-only in PostgreSQL itself, not only in the ORM.

`AuditEvent` already refuses save-over, update and delete in Python (registration/models.py), but raw
SQL, a `dbshell` session or another program would not go through it. This trigger refuses UPDATE and
DELETE of any `registration_auditevent` row, whoever sends them.

TRUNCATE is not blocked: Django's test framework empties every table with one TRUNCATE between
transactional tests (`django_db(transaction=True)`, `TransactionTestCase`), and a BEFORE TRUNCATE
trigger would break each of them. In production, TRUNCATE (like UPDATE and DELETE) is for the
database's roles to refuse: run migrations as the role that owns the tables, and connect the app as a
role granted only what it needs, which on this table is

    GRANT SELECT, INSERT ON registration_auditevent TO portalreg_app;
    GRANT USAGE ON SEQUENCE registration_auditevent_id_seq TO portalreg_app;

with no UPDATE, DELETE or TRUNCATE. The owner (and a superuser) can still disable or drop the trigger:
it guards against mistakes and an app that has been taken over, not against the database's owner.

Other databases (SQLite in development and tests) get nothing: there the ORM's refusal is the guard.
"""

from django.db import migrations

FUNCTION = "registration_auditevent_refuse_change"
TRIGGER = "registration_auditevent_append_only"

INSTALL = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % of audit event % refused', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new event instead of changing or removing one.';
END;
$$;

CREATE TRIGGER {TRIGGER}
    BEFORE UPDATE OR DELETE ON registration_auditevent
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""

REMOVE = f"""
DROP TRIGGER IF EXISTS {TRIGGER} ON registration_auditevent;
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)  # None: run as is, % and all


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0003_welcome_delivery_email_verification"),
    ]

    operations = [
        migrations.RunPython(install, remove, elidable=False),
    ]
