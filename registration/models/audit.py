"""The audit trail: one row per change, written once and never changed or removed."""

from django.conf import settings
from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from patients.models import FamilyContact, Patient
from registration.models.access import PortalAccount, RegistrationPath


class AppendOnlyError(Exception):
    """Audit events are history: they are written once and never changed or removed."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False, update_conflicts=False, **kwargs):
        if update_conflicts:  # an upsert overwrites the existing row
            raise AppendOnlyError("Audit events cannot be changed.")
        return super().bulk_create(objs, batch_size=batch_size, ignore_conflicts=ignore_conflicts, **kwargs)


class AuditEvent(models.Model):
    """One state change: who, when, through which path. Append-only; never holds a PIN or password."""

    class Action(models.TextChoices):
        PIN_ISSUED = "pin_issued", _("PIN issued")
        WELCOME_QUEUED = "welcome_queued", _("Welcome message queued")
        WELCOME_SENT = "welcome_sent", _("Welcome message sent")
        WELCOME_SEND_FAILED = "welcome_send_failed", _("Welcome message failed to send")
        WELCOME_STATUS = "welcome_status", _("Welcome message status from the provider")
        WELCOME_CANCELLED = "welcome_cancelled", _("Welcome message not sent")
        WELCOME_MAYBE_SENT = "welcome_maybe_sent", _("Welcome message may not have been sent")
        PIN_REDEEMED = "pin_redeemed", _("PIN redeemed")
        PIN_REDEEM_FAILED = "pin_redeem_failed", _("PIN tried with a wrong date of birth")
        PIN_LOCKED = "pin_locked", _("PIN locked after too many wrong tries")
        SELF_REGISTRATION_SUBMITTED = "self_registration_submitted", _("Self-registration submitted")
        SELF_REGISTRATION_AUTHENTICATED = (
            "self_registration_authenticated",
            _("Self-registration authenticated"),
        )
        SELF_REGISTRATION_DECLINED = "self_registration_declined", _("Self-registration declined")
        SELF_REGISTRATION_REOPENED = "self_registration_reopened", _("Declined self-registration reopened")
        ACCOUNT_DISABLED = "account_disabled", _("Duplicate account disabled")
        ACCOUNT_REENABLED = "account_reenabled", _("Disabled account enabled again")
        EMAIL_VERIFIED = "email_verified", _("Parent's email verified")
        PARENT_EMAIL_SENT = "parent_email_sent", _("Email about a parent's account sent")
        PARENT_EMAIL_FAILED = "parent_email_failed", _("Email about a parent's account failed to send")
        PARENT_EMAIL_CANCELLED = "parent_email_cancelled", _("Email about a parent's account not sent")
        CONTACT_UPDATED_BY_IMPORT = (
            "contact_updated_by_import",
            _("Contact's email or phone updated by import"),
        )
        PATIENT_CREATED_BY_IMPORT = "patient_created_by_import", _("Patient added by import")
        PATIENT_UPDATED_BY_IMPORT = (
            "patient_updated_by_import",
            _("Patient's name, birth date, sex or EHR status changed by import"),
        )
        CONTACT_ADDED_BY_IMPORT = "contact_added_by_import", _("Family contact added to the chart by import")
        IMPORT_STARTED = "import_started", _("EHR import started")
        IMPORT_FINISHED = "import_finished", _("EHR import finished")
        IMPORT_DISCARDED = "import_discarded", _("EHR import file deleted without importing")
        SIGNED_IN = "signed_in", _("Signed in")
        SIGNED_OUT = "signed_out", _("Signed out")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in refused: wrong password or unknown account")
        ADMIN_ADDED = "admin_added", _("Record added in the admin")
        ADMIN_CHANGED = "admin_changed", _("Record changed in the admin")
        ADMIN_DELETED = "admin_deleted", _("Record deleted in the admin")
        ENROLLMENT_CODE_SENT = "enrollment_code_sent", _("Sign-up code sent to the contact on file")
        ENROLLMENT_CODE_PROVED = "enrollment_code_proved", _("Sign-up proved by the code sent on file")
        ENROLLMENT_CODE_FAILED = "enrollment_code_failed", _("Wrong sign-up code entered")
        REGISTER_ALL_STARTED = "register_all_started", _("Register all started for a day's appointments")
        REGISTER_ALL_FINISHED = "register_all_finished", _("Register all finished")
        RESTRICTION_CREATED = "restriction_created", _("Access restriction recorded")
        RESTRICTION_LIFTED = "restriction_lifted", _("Access restriction lifted")
        RESTRICTION_ENFORCED = "restriction_enforced", _("Access restriction took effect")
        RESTRICTION_REFUSED = "restriction_refused", _("Refused: the person is restricted from the child")
        RESTRICTION_DOCUMENT_READ = "restriction_document_read", _("Restriction document opened")
        ACCESS_ENDED = "access_ended", _("Portal access ended")
        ACCESS_LEVEL_CHANGED = "access_level_changed", _("Portal access level changed")
        ACCESS_BASIS_CHANGED = "access_basis_changed", _("Portal access basis changed")
        ACCESS_CHANGE_NOTIFIED = "access_change_notified", _("Parents told of a birthday's access change")
        TEEN_CONTACT_ADDED = "teen_contact_added", _("Patient's own contact added for an own account")
        PATIENT_MERGED = "patient_merged", _("Chart merged into another by the EHR")
        FEED_MESSAGE_READ = "feed_message_read", _("EHR feed message opened")

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    path = models.CharField(max_length=20, choices=RegistrationPath.choices, blank=True)
    # No index of its own: the (patient, at) index below serves every lookup by patient, and each audit
    # row (an import writes one per record) would keep both up to date.
    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_index=False,
    )
    contact = models.ForeignKey(
        FamilyContact, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        PortalAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["patient", "at"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{date_format(localtime(self.at), 'DATETIME_FORMAT')} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        # A new instance given an existing row's id would UPDATE that row: refuse it, and only ever INSERT.
        if not self._state.adding or (
            self.pk is not None and AuditEvent._base_manager.filter(pk=self.pk).exists()
        ):
            raise AppendOnlyError("Audit events cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
