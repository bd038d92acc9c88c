from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
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


class Session(AbstractBaseSession):
    """A browser's session, and whose it is once someone signs in to it (`accounts.session_store`).

    The user column lets a signed-in request read its session and its user in one query, and lets
    disabling an account or changing its roles end all of that user's sessions at once.
    """

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )

    @classmethod
    def get_session_store_class(cls):
        return import_module(settings.SESSION_ENGINE).SessionStore
