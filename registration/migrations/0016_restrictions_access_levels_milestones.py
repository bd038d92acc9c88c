"""Restrictions, access levels and bases, teens' choices and the birthdays that change access (issue 15)."""

import django.db.models.deletion
import django.db.models.manager
import registration.models.restrictions
from django.conf import settings
from django.db import migrations, models


def guardians_basis(apps, schema_editor):
    """An access granted through a chart's legal guardian is a guardianship: it outlasts majority."""
    PortalAccess = apps.get_model("registration", "PortalAccess")
    PatientContact = apps.get_model("patients", "PatientContact")
    guardian_links = PatientContact.objects.filter(
        relationship="guardian",
        patient_id=models.OuterRef("patient_id"),
        contact_id=models.OuterRef("contact_id"),
    )
    PortalAccess._base_manager.filter(models.Exists(guardian_links)).update(basis="guardian")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_relationship_self"),
        ("registration", "0015_outbox_one_shape"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessRestriction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "basis",
                    models.CharField(
                        choices=[
                            ("court_order", "Court order"),
                            ("protective_order", "Protective order"),
                            ("patient_request", "Patient request"),
                            ("clinician_judgement", "Clinician judgement"),
                        ],
                        max_length=20,
                    ),
                ),
                ("starts_on", models.DateField()),
                ("ends_on", models.DateField(blank=True, null=True)),
                ("review_on", models.DateField(blank=True, null=True)),
                ("note", models.CharField(blank=True, max_length=500)),
                (
                    "document",
                    models.FileField(
                        blank=True,
                        storage=registration.models.restrictions.PrivateDocumentStorage,
                        upload_to="restrictions/%Y/",
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("source_id", models.CharField(blank=True, max_length=255)),
                ("lifted_at", models.DateTimeField(blank=True, null=True)),
                ("lift_reason", models.CharField(blank=True, max_length=500)),
                ("enforced_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="AgeMilestone",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("teen", "Adolescent age"), ("majority", "Age of majority")], max_length=10
                    ),
                ),
                ("due_on", models.DateField()),
                ("notified_at", models.DateTimeField(blank=True, null=True)),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="ParentLevelChoice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("full", "Full"),
                            ("limited", "Limited: scheduling, messages and billing, no clinical record"),
                            ("none", "None"),
                        ],
                        max_length=10,
                    ),
                ),
                ("chosen_at", models.DateTimeField()),
                (
                    "how",
                    models.CharField(
                        choices=[
                            ("portal", "On their own portal account"),
                            ("in_person", "In person, recorded by staff"),
                        ],
                        max_length=10,
                    ),
                ),
            ],
        ),
        migrations.AlterModelOptions(
            name="portalaccess",
            options={"base_manager_name": "history", "default_manager_name": "objects"},
        ),
        migrations.AlterModelManagers(
            name="portalaccess",
            managers=[
                ("history", django.db.models.manager.Manager()),
                ("objects", django.db.models.manager.Manager()),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="portalaccess",
            name="access_one_per_account_patient",
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="basis",
            field=models.CharField(
                choices=[
                    ("parent", "Parent"),
                    ("guardian", "Court-appointed guardian"),
                    ("adult_consent", "The adult patient's consent"),
                    ("self", "The patient's own account"),
                ],
                default="parent",
                max_length=15,
            ),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="end_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("restricted", "A restriction was recorded"),
                    ("majority", "The patient came of age"),
                    ("guardianship_ended", "The guardianship ended"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="ends_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="level",
            field=models.CharField(
                choices=[
                    ("full", "Full"),
                    ("limited", "Limited: scheduling, messages and billing, no clinical record"),
                    ("none", "None"),
                ],
                default="full",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="level_set_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="portalaccess",
            name="level_set_by",
            field=models.CharField(
                choices=[
                    ("policy", "The practice's policy"),
                    ("teen", "The patient, on the portal"),
                    ("staff", "Staff, with the patient in person"),
                ],
                default="policy",
                max_length=10,
            ),
        ),
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
                    ("parent_email_cancelled", "Email about a parent's account not sent"),
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
                    ("restriction_created", "Access restriction recorded"),
                    ("restriction_lifted", "Access restriction lifted"),
                    ("restriction_enforced", "Access restriction took effect"),
                    ("restriction_refused", "Refused: the person is restricted from the child"),
                    ("restriction_document_read", "Restriction document opened"),
                    ("access_ended", "Portal access ended"),
                    ("access_level_changed", "Portal access level changed"),
                    ("access_basis_changed", "Portal access basis changed"),
                    ("access_change_notified", "Parents told of a birthday's access change"),
                    ("teen_contact_added", "Patient's own contact added for an own account"),
                ],
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="parentaccountemail",
            name="kind",
            field=models.CharField(
                choices=[
                    ("verify", "Confirm your email address"),
                    ("exists", "You already have an account"),
                    ("password_reset", "Reset your password"),
                    ("access_change", "What you can see will change on a birthday"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="pin",
            name="end_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("superseded", "A newer PIN was issued"),
                    ("locked", "Too many wrong tries"),
                    ("account_disabled", "The parent's account was disabled"),
                    ("authenticated", "The practice authenticated a self-registration instead"),
                    ("not_delivered", "Its welcome message could not be sent"),
                    ("restricted", "A restriction stops this person's access to the child"),
                    ("majority", "The patient came of age"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="portalaccess",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("account", "patient"),
                name="access_one_live_per_account_patient",
            ),
        ),
        migrations.AddConstraint(
            model_name="portalaccess",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("end_reason", ""), ("ended_at__isnull", True)),
                    models.Q(("ended_at__isnull", False), models.Q(("end_reason", ""), _negated=True)),
                    _connector="OR",
                ),
                name="access_ended_with_reason",
            ),
        ),
        migrations.AddField(
            model_name="accessrestriction",
            name="contact",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_restrictions",
                to="patients.familycontact",
            ),
        ),
        migrations.AddField(
            model_name="accessrestriction",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="accessrestriction",
            name="lifted_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="accessrestriction",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_restrictions",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="agemilestone",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="age_milestones",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="parentaccountemail",
            name="milestone",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notices",
                to="registration.agemilestone",
            ),
        ),
        migrations.AddField(
            model_name="parentlevelchoice",
            name="account",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registration.portalaccount",
            ),
        ),
        migrations.AddField(
            model_name="parentlevelchoice",
            name="patient",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="parent_level_choice",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="parentlevelchoice",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="accessrestriction",
            index=models.Index(fields=["patient", "contact"], name="restriction_by_patient_contact"),
        ),
        migrations.AddConstraint(
            model_name="accessrestriction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source_id", ""), _negated=True),
                fields=("source_id",),
                name="restriction_source_id_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="accessrestriction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ends_on__isnull", True), ("ends_on__gte", models.F("starts_on")), _connector="OR"
                ),
                name="restriction_ends_after_start",
            ),
        ),
        migrations.AddIndex(
            model_name="agemilestone",
            index=models.Index(fields=["due_on"], name="milestone_by_day"),
        ),
        migrations.AddConstraint(
            model_name="agemilestone",
            constraint=models.UniqueConstraint(
                fields=("patient", "kind", "due_on"), name="milestone_once_per_day"
            ),
        ),
        migrations.RunPython(guardians_basis, migrations.RunPython.noop),
    ]
