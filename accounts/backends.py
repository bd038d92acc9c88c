"""Signing in with a username or email and password, as Django's ModelBackend does, with the staff roles
loaded alongside the user on each request: one query where there were two on every staff page."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, User


class RolesModelBackend(ModelBackend):
    def get_user(self, user_id):
        in_group = Group.objects.filter(user=OuterRef("pk"))
        user = (
            User._default_manager.annotate(
                in_front_desk=Exists(in_group.filter(name=FRONT_DESK_GROUP)),
                in_practice_admin=Exists(in_group.filter(name=ADMIN_GROUP)),
            )
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
