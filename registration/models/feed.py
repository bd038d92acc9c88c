"""The EHR's live feed: every HL7 v2 message received, kept so that each is applied once and its answer
can be given again when the sender repeats it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FeedMessage(models.Model):
    """One HL7 v2 message, stored in the transaction that applied it, before it is acknowledged.

    `raw` is the message as received: health information, shown to admins only (each reading audited)
    and blanked after `HL7_RAW_RETENTION_DAYS`. The rest (type, control id, outcome) is kept, so a
    message the sender repeats after its retention is still recognised.
    """

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")  # ACK AA
        IGNORED = "ignored", _("Not used by the portal")  # ACK AA: a type or event we do not read
        REFUSED = "refused", _("Refused")  # ACK AE: readable, but its content cannot be applied
        UNREADABLE = "unreadable", _("Unreadable")  # ACK AR: not an HL7 v2 message we can read

    # MSH-3 and MSH-4 (sending application and facility): two senders' control ids are two messages.
    sender = models.CharField(max_length=255, blank=True)
    control_id = models.CharField(max_length=199, blank=True)  # MSH-10; "" when unreadable
    message_type = models.CharField(max_length=20, blank=True)  # "ADT^A08", "SIU^S12"
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ack_code = models.CharField(max_length=2)
    error = models.CharField(max_length=500, blank=True)  # what the AE or AR said
    peer = models.CharField(max_length=100, blank=True)  # the sender's address, as the listener saw it
    size = models.PositiveIntegerField(default=0)  # bytes received
    raw = models.TextField(blank=True)
    raw_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "control_id"],
                condition=~models.Q(control_id=""),
                name="feed_message_once_per_sender",
            )
        ]
        indexes = [
            models.Index(fields=["received_at"], name="feed_message_by_time"),
            models.Index(fields=["outcome", "received_at"], name="feed_message_by_outcome"),
            # Pruning reads only the messages whose text is still kept, not every one ever received.
            models.Index(
                fields=["received_at"], condition=models.Q(raw_pruned_at=None), name="feed_message_raw_kept"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_type or 'HL7'} {self.control_id or '(unreadable)'}: {self.outcome}"
