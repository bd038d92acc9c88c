"""Create or update the PostgreSQL role the app connects as: it may read and write the app's rows, and
only read and add to the audit trail.

Run it as the role that owns the tables (the one `migrate` runs as), after every `migrate`: tables a
migration adds are granted through default privileges, and the audit table's narrower grant is set
again. The app role owns nothing, so it cannot TRUNCATE the audit table, ALTER it (DISABLE TRIGGER),
drop its trigger, or turn triggers off with session_replication_role (a superuser's setting); with no
UPDATE or DELETE on it, it cannot change or remove an event either.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from registration.models import AuditEvent

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_PRIVILEGES = "SELECT, INSERT"


class Command(BaseCommand):
    help = (
        "Create or update the app's PostgreSQL role: SELECT, INSERT, UPDATE and DELETE on the app's tables, "
        "SELECT and INSERT only on the audit trail, owning nothing. Run as the tables' owner after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the app connects as, e.g. portalreg_app")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="set the role's password from this environment variable (never from the command line)",
        )

    def handle(self, *args, role, password_env, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are for PostgreSQL; this database is " + connection.vendor)
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set.")
        with transaction.atomic(), connection.cursor() as cursor:
            app_role_grant(cursor, role, password=password)
        audit = AuditEvent._meta.db_table
        self.stdout.write(
            f"{role}: {ROW_PRIVILEGES} on the app's tables, {AUDIT_PRIVILEGES} on {audit}; owns nothing"
        )


def app_role_grant(cursor, role: str, *, password: str | None = None) -> None:
    """Create the role if it is missing, and (re)grant exactly what the app needs."""
    name = sql.Identifier(role)
    cursor.execute("SELECT current_user, current_database(), current_schema()")
    owner, database, schema = cursor.fetchone()
    if role == owner:
        raise CommandError("The app role must not be the role that owns the tables (the one running this).")
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if not cursor.fetchone():
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
    # Whatever the role was before: no superuser, no role or database making, no bypassing row security.
    attributes = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS LOGIN"
    cursor.execute(sql.SQL("ALTER ROLE {} " + attributes).format(name))
    if password is not None:
        cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s", [role]
    )
    if owned := cursor.fetchone()[0]:
        raise CommandError(
            f"{role} owns {owned} tables or sequences: run migrations as the owner role, and give them to it "
            f"(REASSIGN OWNED BY {role} TO {owner})."
        )

    later = "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT"
    statements = [
        "GRANT CONNECT ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
        f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA {{schema}} TO {{role}}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # Tables and sequences later migrations make: the same, granted as they are made.
        f"{later} {ROW_PRIVILEGES} ON TABLES TO {{role}}",
        f"{later} USAGE, SELECT ON SEQUENCES TO {{role}}",
        # The audit trail: read and add, nothing else.
        "REVOKE ALL ON {audit} FROM {role}",
        f"GRANT {AUDIT_PRIVILEGES} ON {{audit}} TO {{role}}",
    ]
    names = {
        "role": name,
        "owner": sql.Identifier(owner),
        "database": sql.Identifier(database),
        "schema": sql.Identifier(schema),
        "audit": sql.Identifier(schema, AuditEvent._meta.db_table),
    }
    for statement in statements:
        cursor.execute(sql.SQL(statement).format(**names))
