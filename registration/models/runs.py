"""Long jobs the task worker does for staff: statistics, EHR imports and Register all."""

from django.conf import settings
from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from registration.models.outbox import WelcomeMessage


class RegistrationSnapshot(models.Model):
    """The statistics snapshot: what staff pages show about the whole practice, counted by the task
    worker: the registration counts, the weekly registrations and the suspected duplicate accounts.

    The counts come from counters the services keep (`registration.statistics.tallies`); the weekly
    registrations and the duplicate accounts are each a pass over many rows that grows with the
    practice. Staff pages read this one row instead, and a page that finds it older than
    `settings.STATISTICS_MAX_AGE` asks the worker for a new one (`registration.statistics.snapshots`).
    One row, replaced in place.
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
    # When the kept registration counts were last checked by counting every patient in full.
    recounted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"statistics snapshot at {date_format(localtime(self.computed_at), 'DATETIME_FORMAT')}"


class ImportRun(models.Model):
    """One run of the staff Import page, done by the task worker: a dry run (the preview) or the real
    import confirmed from it.

    Holds the random token naming the uploaded file while it waits under `settings.IMPORT_UPLOAD_DIR`
    (never the file's content), how far the run got, and its report once finished. Changed only through
    `registration.ehr_import`.
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
