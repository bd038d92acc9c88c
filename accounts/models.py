from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """Anyone who signs in: practice staff (by username) or a parent (whose username is their email).

    A parent's portal details live on `registration.PortalAccount`; staff roles are groups.
    """

    class Meta:
        constraints = [
            # Two sign-ins may not share an email, whatever its case: the email is a parent's login.
            models.UniqueConstraint(
                Lower("email"), name="user_email_unique_ci", condition=~models.Q(email="")
            ),
        ]


# Staff roles: front desk registers parents; practice admins also clean up duplicates and read the audit.
FRONT_DESK_GROUP = "Front desk"
ADMIN_GROUP = "Practice admin"


class UserSession(models.Model):
    """A session a user signed in to, so that disabling the user can end it (`accounts.sessions`)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField()

    def __str__(self):
        return f"{self.user} signed in at {self.signed_in_at:%Y-%m-%d %H:%M}"
