"""Register all runs as a record the task worker works through, one running per day at a time, and the
audit events of their start and end."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0006_sort_name_hash_index"),
        ("registration", "0013_decline_reasons_and_reversals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("pin_issued", "PIN issued"),
                    ("welcome_queued", "Welcome message queued"),
                    ("welcome_sent", "Welcome message sent"),
                    ("welcome_send_failed", "Welcome message failed to send"),
                    ("welcome_status", "Welcome message status from the provider"),
                    ("welcome_cancelled", "Welcome message not sent"),
                    ("welcome_maybe_sent", "Welcome message may not have been sent"),
                    ("pin_redeemed", "PIN redeemed"),
                    ("pin_redeem_failed", "PIN tried with a wrong date of birth"),
                    ("pin_locked", "PIN locked after too many wrong tries"),
                    ("self_registration_submitted", "Self-registration submitted"),
                    ("self_registration_authenticated", "Self-registration authenticated"),
                    ("self_registration_declined", "Self-registration declined"),
                    ("self_registration_reopened", "Declined self-registration reopened"),
                    ("account_disabled", "Duplicate account disabled"),
                    ("account_reenabled", "Disabled account enabled again"),
                    ("email_verified", "Parent's email verified"),
                    ("parent_email_sent", "Email about a parent's account sent"),
                    ("parent_email_failed", "Email about a parent's account failed to send"),
                    ("contact_updated_by_import", "Contact's email or phone updated by import"),
                    ("patient_created_by_import", "Patient added by import"),
                    (
                        "patient_updated_by_import",
                        "Patient's name, birth date, sex or EHR status changed by import",
                    ),
                    ("contact_added_by_import", "Family contact added to the chart by import"),
                    ("import_started", "EHR import started"),
                    ("import_finished", "EHR import finished"),
                    ("import_discarded", "EHR import file deleted without importing"),
                    ("signed_in", "Signed in"),
                    ("signed_out", "Signed out"),
                    ("sign_in_failed", "Sign-in refused: wrong password or unknown account"),
                    ("admin_added", "Record added in the admin"),
                    ("admin_changed", "Record changed in the admin"),
                    ("admin_deleted", "Record deleted in the admin"),
                    ("enrollment_code_sent", "Sign-up code sent to the contact on file"),
                    ("enrollment_code_proved", "Sign-up proved by the code sent on file"),
                    ("enrollment_code_failed", "Wrong sign-up code entered"),
                    ("register_all_started", "Register all started for a day's appointments"),
                    ("register_all_finished", "Register all finished"),
                ],
                max_length=40,
            ),
        ),
        migrations.CreateModel(
            name="RegisterAllRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("client_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting for the task worker"),
                            ("sending", "Queuing the welcome messages"),
                            ("done", "Done"),
                            ("stopped", "Stopped: the task worker did not finish it"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("done", models.PositiveIntegerField(default=0)),
                ("total", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "started_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RegisterAllItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveIntegerField()),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting"),
                            ("queued", "Welcome message queued"),
                            ("skipped", "Skipped"),
                        ],
                        default="waiting",
                        max_length=10,
                    ),
                ),
                ("skipped_reason", models.CharField(blank=True, max_length=300)),
                (
                    "appointment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="patients.appointment",
                    ),
                ),
                (
                    "message",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registration.welcomemessage",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="patients.patient"
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="registration.registerallrun",
                    ),
                ),
            ],
            options={
                "ordering": ["position"],
            },
        ),
        migrations.AddConstraint(
            model_name="registerallrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("finished_at__isnull", True)),
                fields=("day",),
                name="register_all_one_running",
            ),
        ),
        migrations.AddConstraint(
            model_name="registerallitem",
            constraint=models.UniqueConstraint(
                fields=("run", "patient"), name="register_all_item_one_per_patient"
            ),
        ),
    ]
