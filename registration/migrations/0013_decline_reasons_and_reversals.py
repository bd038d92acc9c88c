"""Decline reasons become canned codes staff pick (the parent reads them in their language), with an
optional note; reopening a declined request and enabling a disabled account again are audited."""

from django.db import migrations, models


def free_text_to_other(apps, schema_editor):
    """A reason typed before codes existed is kept, word for word, as the practice's note."""
    requests = apps.get_model("registration", "SelfRegistrationRequest").objects
    requests.exclude(decline_reason="").update(
        decline_note=models.F("decline_reason"), decline_reason="other"
    )


def other_to_free_text(apps, schema_editor):
    requests = apps.get_model("registration", "SelfRegistrationRequest").objects
    for request in requests.exclude(decline_reason=""):
        request.decline_reason = request.decline_note or request.decline_reason
        request.save(update_fields=["decline_reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0012_enrollment_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="selfregistrationrequest",
            name="decline_note",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(free_text_to_other, other_to_free_text),
        migrations.AlterField(
            model_name="selfregistrationrequest",
            name="decline_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("no_match", "We could not match your child to our records."),
                    ("details_differ", "The details you gave do not match your child's chart."),
                    ("not_guardian", "You are not listed as a parent or guardian on your child's chart."),
                    ("call_practice", "Please call the practice."),
                    ("duplicate", "You already asked for this child in another request."),
                    ("other", "Another reason (see the practice's note)."),
                ],
                max_length=20,
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
                ],
                max_length=40,
            ),
        ),
    ]
