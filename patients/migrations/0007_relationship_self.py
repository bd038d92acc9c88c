"""A chart link for the patient themselves: an adolescent's own email and phone (issue 15)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0006_sort_name_hash_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patientcontact",
            name="relationship",
            field=models.CharField(
                choices=[
                    ("mother", "Mother"),
                    ("father", "Father"),
                    ("parent", "Parent"),
                    ("guardian", "Legal guardian"),
                    ("grandparent", "Grandparent"),
                    ("stepparent", "Stepparent"),
                    ("foster_parent", "Foster parent"),
                    ("other", "Other"),
                    ("self", "The patient"),
                ],
                max_length=20,
            ),
        ),
    ]
