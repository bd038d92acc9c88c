from django.db import models


class Hit(models.Model):
    """One counted try. `key` is an HMAC of the action, what is counted and its value (an address or a
    typed account name), so no address or email is stored here."""

    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "at"], name="ratelimit_hit_key_at"),
            models.Index(fields=["at"], name="ratelimit_hit_at"),  # pruning
        ]

    def __str__(self):
        return f"{self.key[:8]}… at {self.at:%Y-%m-%d %H:%M:%S}"
