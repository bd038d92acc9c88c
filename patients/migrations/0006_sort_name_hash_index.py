"""Find a child by the whole folded name (reconcile: "Lopez" as a parent types it, López on the chart).

A hash index answers equality only, so it can never hand PostgreSQL an order to walk: staff search,
sorted by the same column, keeps going through the trigram index (migration 0004).
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patients_patient_sort_name_hash ON patients_patient USING HASH (sort_name)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patients_patient_sort_name_hash")


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_phone_field_trusts_e164")]

    operations = [migrations.RunPython(create, drop)]
