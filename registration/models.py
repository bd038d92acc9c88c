"""Registration state. Rows here change only through `registration.services`."""

from django.conf import settings
from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import to_python as phone_parse

from patients.models import FamilyContact, Patient


class Path(models.TextChoices):
    """Where in the practice's day a registration started."""

    CHART = "chart", _("Chart family contacts")
    APPOINTMENT_WINDOW = "appointment_window", _("Appointment window")
    APPOINTMENT_LIST = "appointment_list", _("Appointment list")
    PATIENT_ADMIN = "patient_admin", _("Patient administration")
    SELF_REGISTRATION = "self_registration", _("Self-registration")


PIN_PATHS = [Path.CHART, Path.APPOINTMENT_WINDOW, Path.APPOINTMENT_LIST, Path.PATIENT_ADMIN]


class PortalStatus(models.TextChoices):
    NOT_REGISTERED = "not_registered", _("Not registered")
    PENDING = "pending", _("Pending")
    REGISTERED = "registered", _("Registered")


class PortalAccount(models.Model):
    """A parent's portal login. Its email, name and password live on the sign-in user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="portal_account"
    )
    cell_phone = PhoneNumberField(blank=True)
    preferred_language = models.CharField(
        max_length=5, choices=FamilyContact.Language.choices, default=FamilyContact.Language.ENGLISH
    )
    created_at = models.DateTimeField()
    # Set when the parent confirms the link emailed to them. Until then the account cannot sign in, and
    # staff cannot authenticate its self-registrations: anyone could have typed the address (issue 12).
    email_verified_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_duplicates"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disabled_at__isnull=True, merged_into__isnull=True)
                | models.Q(disabled_at__isnull=False),
                name="account_merged_only_when_disabled",
            ),
        ]
        # Duplicate accounts: cell phones shared by more than one account, found by an index-only scan.
        indexes = [models.Index(fields=["cell_phone"], name="account_by_cell_phone")]

    def __str__(self) -> str:
        return self.user.email

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


class Pin(models.Model):
    """A one-time registration code for one patient and one family contact.

    Only `lookup` (the first group, not secret on its own) is stored as typed; the rest is kept as a
    salted hash, so the code cannot be read back from the database.
    """

    class EndReason(models.TextChoices):
        SUPERSEDED = "superseded", _("A newer PIN was issued")
        LOCKED = "locked", _("Too many wrong tries")
        ACCOUNT_DISABLED = "account_disabled", _("The parent's account was disabled")
        AUTHENTICATED = "authenticated", _("The practice authenticated a self-registration instead")
        NOT_DELIVERED = "not_delivered", _("Its welcome message could not be sent")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pins")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="pins")
    appointment = models.ForeignKey(
        "patients.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(max_length=20, choices=[(p.value, p.label) for p in PIN_PATHS])
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lookup = models.CharField(max_length=4, db_index=True)
    secret_hash = models.CharField(max_length=255)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        PortalAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="redeemed_pins"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # A newer PIN makes the older one useless: at most one unused PIN per patient and contact.
            models.UniqueConstraint(
                fields=["patient", "contact"],
                condition=models.Q(redeemed_at__isnull=True, revoked_at__isnull=True),
                name="pin_one_live_per_patient_contact",
            ),
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="pin_redeemed_or_revoked_not_both",
            ),
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True) | models.Q(redeemed_by__isnull=False),
                name="pin_redeemed_names_account",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("issued_at")), name="pin_expires_after_issue"
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient", "expires_at"],
                condition=models.Q(redeemed_at__isnull=True, revoked_at__isnull=True),
                name="pin_live_by_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"PIN {self.lookup}-… for {self.patient_id}/{self.contact_id}"


class PortalAccess(models.Model):
    """An account may see a patient, as (or through) one family contact."""

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="accesses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="portal_accesses")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="portal_accesses")
    path = models.CharField(max_length=20, choices=Path.choices)
    granted_at = models.DateTimeField()
    pin = models.OneToOneField(Pin, null=True, blank=True, on_delete=models.PROTECT, related_name="access")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "patient"], name="access_one_per_account_patient"),
        ]
        indexes = [
            models.Index(fields=["patient", "granted_at"]),
            # Duplicate accounts: contacts seen by more than one account, found by an index-only scan.
            models.Index(fields=["contact", "account"], name="access_by_contact_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.patient}"


class SelfRegistrationRequest(models.Model):
    """A parent signed up without a PIN and named a child; the practice must match and authenticate it."""

    class Status(models.TextChoices):
        AWAITING = "awaiting", _("Awaiting authentication")
        AUTHENTICATED = "authenticated", _("Authenticated")
        DECLINED = "declined", _("Declined")

    class DeclineReason(models.TextChoices):
        """What staff pick when declining; the label is what the parent reads, in their language."""

        NO_MATCH = "no_match", _("We could not match your child to our records.")
        DETAILS_DIFFER = "details_differ", _("The details you gave do not match your child's chart.")
        NOT_GUARDIAN = "not_guardian", _("You are not listed as a parent or guardian on your child's chart.")
        CALL_PRACTICE = "call_practice", _("Please call the practice.")
        DUPLICATE = "duplicate", _("You already asked for this child in another request.")
        OTHER = "other", _("Another reason (see the practice's note).")

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="self_registrations")
    # The child and the parent as the parent typed them.
    child_first_name = models.CharField(max_length=100)
    child_last_name = models.CharField(max_length=100)
    child_date_of_birth = models.DateField()
    parent_first_name = models.CharField(max_length=100)
    parent_last_name = models.CharField(max_length=100)
    parent_email = models.EmailField()
    parent_cell_phone = PhoneNumberField(blank=True)
    submitted_at = models.DateTimeField()

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    # Staff's own words, shown to the parent as the practice's note; required with "other".
    decline_note = models.TextField(blank=True)
    access = models.OneToOneField(
        PortalAccess, null=True, blank=True, on_delete=models.PROTECT, related_name="self_registration"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="awaiting", decided_at__isnull=True)
                | models.Q(status="authenticated", decided_at__isnull=False, access__isnull=False)
                | models.Q(status="declined", decided_at__isnull=False) & ~models.Q(decline_reason=""),
                name="self_registration_decision_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["submitted_at"], condition=models.Q(status="awaiting"), name="self_reg_awaiting"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_email} for {self.child_first_name} {self.child_last_name} ({self.status})"


class EnrollmentCode(models.Model):
    """A one-time code sent, after a sign-up, to the phone or email *on file* for the family contact the
    parent's sign-up matched (NIST SP 800-63A's enrollment code). Never to what the parent typed: a parent
    who enters it has shown they hold the contact's own phone or mailbox. Only its hash is kept.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Could not be sent")
        PROVED = "proved", _("Entered by the parent")
        LOCKED = "locked", _("Too many wrong tries")

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="enrollment_codes")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="+")
    # The waiting requests whose child is on a chart this contact is on: what the code proves.
    requests = models.ManyToManyField(SelfRegistrationRequest, related_name="enrollment_codes")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    proved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "status"], name="enrollment_code_by_account")]

    def __str__(self) -> str:
        return f"{self.channel} code to contact {self.contact_id}, account {self.account_id} ({self.status})"


class WelcomeMessage(models.Model):
    """A welcome email or text holding the portal address and a PIN (the appointment-list path)."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to send")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        UNDELIVERED = "undelivered", _("Not delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: a newer PIN replaced it")
        # The sender died while handing the message to a provider that cannot say whether it took it
        # (an email provider): staff decide whether to resend.
        UNCERTAIN = "uncertain", _("May not have been sent")

    # Statuses in which the message may still go out.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)

    pin = models.OneToOneField(Pin, on_delete=models.PROTECT, related_name="welcome_message")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)  # an email address, or a phone number in E.164
    language = models.CharField(max_length=5, choices=FamilyContact.Language.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "retrying"]),
                name="welcome_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.address} ({self.status})"

    @property
    def address_display(self) -> str:
        """The address as staff read it: a phone number in national format, an email as is."""
        if self.channel == self.Channel.SMS:
            number = phone_parse(self.address)
            return number.as_national if number else self.address
        return self.address


class ParentAccountEmail(models.Model):
    """An email about a parent's account (confirm your address; you already have an account; reset your
    password), from queued to sent or failed.

    It holds no link: the link's token is made when the email is sent, from the account as it is then,
    so no table, task argument or log line ever holds one.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Confirm your email address")
        EXISTS = "exists", _("You already have an account")
        PASSWORD_RESET = "password_reset", _("Reset your password")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to send")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: no longer needed")

    # Statuses in which the email may still go out.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="account_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "retrying"]),
                name="parent_email_due",
            ),
            models.Index(
                fields=["sending_since"], condition=models.Q(status="sending"), name="parent_email_sending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to account {self.account_id} ({self.status})"


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

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    path = models.CharField(max_length=20, choices=Path.choices, blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
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


class RegistrationSnapshot(models.Model):
    """What staff pages show about the whole practice, counted by the task worker: the registration
    funnel and the suspected duplicate accounts.

    Each is a pass over every patient or account (~100 ms at 100,000 patients) that grows with the
    practice; staff pages read this one row instead, and a page that finds it older than
    `settings.STATISTICS_MAX_AGE` asks the worker for a new one (registration/snapshots.py). One row,
    replaced in place.
    """

    computed_at = models.DateTimeField()
    registered = models.PositiveIntegerField()
    pending = models.PositiveIntegerField()
    not_registered = models.PositiveIntegerField()
    expired_pins = models.PositiveIntegerField()
    # [["2026-11-23", {"chart": 3, ...}], ...]: new portal access per week and path, oldest first.
    weekly = models.JSONField(default=list)
    # [[account id, account id, ["same cell phone", ...]], ...]
    duplicate_pairs = models.JSONField(default=list)
    refresh_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"registration counts at {date_format(localtime(self.computed_at), 'DATETIME_FORMAT')}"


class ImportRun(models.Model):
    """One run of the staff Import page, done by the task worker: a dry run (the preview) or the real
    import confirmed from it.

    Holds the random token naming the uploaded file while it waits under `settings.IMPORT_UPLOAD_DIR`
    (never the file's content), how far the run got, and its report once finished. Changed only through
    `registration.import_runs`.
    """

    class Stage(models.TextChoices):
        QUEUED = "queued", _("Waiting for the task worker")
        READING = "reading", _("Reading the file")
        SAVING = "saving", _("Checking and saving records")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    dry_run = models.BooleanField()
    # For a real import: the dry run it was confirmed from (one-to-one: confirming twice imports once).
    preview = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="confirmed_import"
    )
    # The upload's file name under IMPORT_UPLOAD_DIR; empty once the file is deleted.
    upload_token = models.CharField(max_length=64, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # {"kind", "counts", "seconds", "problems": [[position, reason], ...] (the first 1,000),
    #  "problem_count"}; null until the run is done.
    report = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()  # the last progress written: a run not updated for long has stopped
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(preview__isnull=True) | models.Q(dry_run=False),
                name="import_run_preview_only_for_real_import",
            ),
        ]
        indexes = [
            models.Index(fields=["started_by", "-created_at"], name="import_run_by_starter"),
            # The few runs still holding a file, for the prune (most rows hold none).
            models.Index(
                fields=["updated_at"],
                condition=~models.Q(upload_token=""),
                name="import_run_holding_upload",
            ),
        ]

    def __str__(self) -> str:
        return f"{'dry run' if self.dry_run else 'import'} {self.pk} of {self.file_name} ({self.stage})"

    @property
    def finished(self) -> bool:
        return self.stage in (self.Stage.DONE, self.Stage.FAILED)


class RegisterAllRun(models.Model):
    """One Register all of a day's appointment list: the task worker queues a welcome message for each
    patient in turn, writing how far it got. Changed only through `registration.register_all`."""

    class Stage(models.TextChoices):
        QUEUED = "queued", _("Waiting for the task worker")
        SENDING = "sending", _("Queuing the welcome messages")
        DONE = "done", _("Done")
        STOPPED = "stopped", _("Stopped: the task worker did not finish it")

    day = models.DateField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_address = models.GenericIPAddressField(null=True, blank=True)  # for each message's audit event
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.QUEUED)
    done = models.PositiveIntegerField(default=0)  # patients dealt with (queued or skipped)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()  # the last progress written: a run not updated for long has stopped
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A second Register all of the same day while one runs would send every message twice.
            models.UniqueConstraint(
                fields=["day"], condition=models.Q(finished_at__isnull=True), name="register_all_one_running"
            ),
        ]

    def __str__(self) -> str:
        return f"register all {self.pk} of {self.day} ({self.stage})"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class RegisterAllItem(models.Model):
    """One patient of a Register all run: the welcome message queued for them, or why they were skipped."""

    class Outcome(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        QUEUED = "queued", _("Welcome message queued")
        SKIPPED = "skipped", _("Skipped")

    run = models.ForeignKey(RegisterAllRun, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()  # the appointment list's order
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "patients.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.WAITING)
    skipped_reason = models.CharField(max_length=300, blank=True)
    message = models.OneToOneField(
        WelcomeMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "patient"], name="register_all_item_one_per_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} in register all {self.run_id} ({self.outcome})"
