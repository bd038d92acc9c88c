"""Names folded in Python for accent-insensitive search; MRNs with their system; inactive and deceased.

`search_name` was a column PostgreSQL generated with UPPER(), which keeps accents (and SQLite's folds
ASCII only): it becomes a column the app fills (`patients/names.py`). Its trigram index is rebuilt
with `fastupdate = off`, so new rows go straight into the index instead of a pending list that only
VACUUM flushes (this machine's PostgreSQL runs without autovacuum; searches then read the list).
"""

import patients.models
import phonenumber_field.modelfields
from django.db import migrations, models

from patients import names

CHUNK = 5000


def fold_names(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    last = 0
    while rows := list(Patient.objects.filter(pk__gt=last).order_by("pk").only("first_name", "last_name")[:CHUNK]):
        for patient in rows:
            patient.search_name = names.search_name(patient.first_name, patient.last_name)
            patient.sort_name = names.sort_name(patient.first_name, patient.last_name)
        Patient.objects.bulk_update(rows, ["search_name", "sort_name"])
        last = rows[-1].pk


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patients_patient_search_name_trgm "
            "ON patients_patient USING GIN (search_name gin_trgm_ops) WITH (fastupdate = off)"
        )
        schema_editor.execute("ANALYZE patients_patient")


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patients_patient_search_name_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0003_import_source_ids'),
    ]

    operations = [
        migrations.AddField(
            model_name='familycontact',
            name='home_phone',
            field=phonenumber_field.modelfields.PhoneNumberField(blank=True, max_length=128, region=None),
        ),
        migrations.AddField(
            model_name='familycontact',
            name='work_phone',
            field=phonenumber_field.modelfields.PhoneNumberField(blank=True, max_length=128, region=None),
        ),
        migrations.AddField(
            model_name='patient',
            name='active',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='patient',
            name='deceased',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='patient',
            name='deceased_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='patient',
            name='mrn_system',
            field=models.CharField(blank=True, max_length=255, verbose_name='MRN assigned by'),
        ),
        migrations.AddField(
            model_name='patient',
            name='sort_name',
            field=patients.models.FoldedNameField(default='', folding='sort', max_length=250),
        ),
        migrations.AlterField(
            model_name='familycontact',
            name='source_id',
            field=models.CharField(blank=True, max_length=255, verbose_name='identifier in the EHR'),
        ),
        migrations.AlterField(
            model_name='patient',
            name='mrn',
            field=models.CharField(max_length=64, verbose_name='chart number (MRN)'),
        ),
        migrations.RemoveField(model_name='patient', name='search_name'),
        migrations.AddField(
            model_name='patient',
            name='search_name',
            field=patients.models.FoldedNameField(default='', folding='search', max_length=500),
        ),
        migrations.RunPython(fold_names, migrations.RunPython.noop),
        migrations.RunPython(index_create, index_drop),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(fields=('mrn_system', 'mrn'), name='patient_mrn_unique'),
        ),
    ]
