"""Staff search on PostgreSQL: a trigram index for names, and indexes on what `iexact` compares.

Django compiles `iexact` to `UPPER(col::text) = UPPER('…')`, so those indexes are on that expression:
an index on the bare column is never used. SQLite (the quick start) scans its few hundred rows.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat, Replace, Upper

INDEXES = {
    "patients_patient_search_name_trgm": "patients_patient USING GIN (search_name gin_trgm_ops)",
    "patients_patient_name_upper": "patients_patient (UPPER(last_name::text), UPPER(first_name::text))",
    "patients_patient_mrn_upper": "patients_patient (UPPER(mrn::text))",
    "patients_familycontact_email_upper": "patients_familycontact (UPPER(email::text))",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
        schema_editor.execute("ANALYZE patients_patient")  # the planner needs the new column's statistics


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=Replace(
                    Concat(Value(" "), Upper("first_name"), Value(" "), Upper("last_name")),
                    Value("-"),
                    Value(" "),
                ),
                output_field=models.CharField(max_length=202),
            ),
        ),
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
