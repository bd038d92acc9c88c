"""The relationship's period as the EHR knows it (RelatedPerson.period), on the chart link (issue 15)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0007_relationship_self'),
    ]

    operations = [
        migrations.AddField(
            model_name='patientcontact',
            name='valid_from',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='patientcontact',
            name='valid_until',
            field=models.DateField(blank=True, null=True),
        ),
    ]
