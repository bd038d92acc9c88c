"""The registration counts, kept as they change (issue 17): the Statistics page reads a few counters
instead of passing over every patient.

Each service that changes what a patient's portal status depends on (a PIN issued, redeemed or ended; an
access granted or ended; an account disabled; charts merged) refreshes that patient's `StatusMark` and
applies the difference to the `StatusTally` counters in its own transaction
(`registration.statistics.tallies`). A full recount runs only as a periodic check.
"""

from django.db import models

from patients.models import Patient


class StatusMark(models.Model):
    """What the counters hold for one patient: registered or not, and when its live PINs run out.

    A PIN runs out by the clock, not by a service, so the counters keep the hour each patient stops being
    Pending (its latest live PIN's expiry) and the hour it starts holding an expired PIN (its earliest's).
    A patient with no row counts as neither registered nor holding a PIN.
    """

    patient = models.OneToOneField(Patient, primary_key=True, on_delete=models.CASCADE, related_name="+")
    registered = models.BooleanField(default=False)
    latest_pin_expiry = models.DateTimeField(null=True, blank=True)
    earliest_pin_expiry = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The counts at a moment read the patients whose PIN runs out within its hour.
            models.Index(fields=["latest_pin_expiry"], name="mark_latest_expiry"),
            models.Index(fields=["earliest_pin_expiry"], name="mark_earliest_expiry"),
        ]

    def __str__(self) -> str:
        return f"status mark of patient {self.patient_id}"


class StatusTally(models.Model):
    """One addition to a counter: patients, registered, holding a live PIN, or (per hour) Pending until
    then or holding a live PIN that runs out first then."""

    class Name(models.TextChoices):
        PATIENTS = "patients"
        REGISTERED = "registered"
        HOLDING_PINS = "holding_pins"
        PENDING_UNTIL = "pending_until"  # not registered, latest live PIN runs out in `hour`
        FIRST_PIN_EXPIRY = "first_pin_expiry"  # earliest live PIN runs out in `hour`
        BUILT = "built"  # n = 1 once the counters were counted in full: until then they mean nothing

    name = models.CharField(max_length=20, choices=Name.choices)
    # Hours since 1970-01-01 UTC for the hourly counters; 0 for the others.
    hour = models.IntegerField(default=0)
    n = models.BigIntegerField(default=0)

    class Meta:
        # Rows are added, not updated (no row every status change waits on), so a counter may have many
        # until `tallies_compact` folds them: no unique constraint. Read by name and hour.
        indexes = [models.Index(fields=["name", "hour"], name="tally_by_name_hour")]

    def __str__(self) -> str:
        return f"{self.name}@{self.hour}: {self.n}"
