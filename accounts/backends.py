"""Signing in with a username or email and password, as Django's ModelBackend does; on each later
request the user comes with its session (`accounts.session_store`), not from a query of its own."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.backends import ModelBackend

# The user read with this request's session row, while Django's get_user() checks it.
_read_with_session = ContextVar("read_with_session", default=None)


@contextmanager
def user_read_with_session(user):
    """Let `get_user()` take `user` (read with the session) instead of reading it again."""
    token = _read_with_session.set(user)
    try:
        yield
    finally:
        _read_with_session.reset(token)


class RolesModelBackend(ModelBackend):
    """Django's ModelBackend, taking the user read with the session; the roles come from the session
    too (`accounts.roles.user_roles`). The name is kept: sessions and sign-in pages name it."""

    def get_user(self, user_id):
        user = _read_with_session.get()
        if user is None or str(user.pk) != str(user_id):
            return super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None
