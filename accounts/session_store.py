"""Django's database sessions, each row knowing whose it is (`accounts.models.Session`).

A signed-in request reads its session and its user (with what `settings.SIGNED_IN_USER_RELATED` names)
in one query: `accounts.middleware.AuthenticationMiddleware` hands that user to Django's checks instead
of loading it again. The user is read from the database on every request, so a disabled account or a
changed password still ends the session at once; nothing is cached between requests or processes.

Writes are fewer than Django's: a new key (at sign-in) is written once, with the data, at the end of the
request, and a session is deleted with one statement.
"""

import logging
from contextlib import nullcontext

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import Session


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.signed_in_user = None  # the row's user, read with the session
        self._key_unwritten = False  # a new key whose row the next save inserts

    @classmethod
    def get_model_class(cls):
        return Session

    def _sessions(self):
        related = ["user", *(f"user__{name}" for name in settings.SIGNED_IN_USER_RELATED)]
        return self.model.objects.select_related(*related)

    def _get_session_from_db(self):
        try:
            row = self._sessions().get(session_key=self.session_key, expire_date__gt=timezone.now())
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            _log_suspicious(e)
            self._session_key = None
            return None
        self.signed_in_user = row.user
        return row

    async def _aget_session_from_db(self):
        try:
            row = await self._sessions().aget(session_key=self.session_key, expire_date__gt=timezone.now())
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            _log_suspicious(e)
            self._session_key = None
            return None
        self.signed_in_user = row.user
        return row

    def _get_new_session_key(self):
        # 32 characters of 36 (165 bits) do not collide; the insert's primary key refuses one anyway,
        # and saving then picks another. Django asks the database first: one query per new session.
        return get_random_string(32, VALID_KEY_CHARS)

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = _user_id(data)
        return row

    async def acreate_model_instance(self, data):
        row = await super().acreate_model_instance(data)
        row.user_id = _user_id(data)
        return row

    def cycle_key(self):
        """Give the session a new key, its row inserted by the save at the end of the request.

        Django inserts the row at once and updates it at the end of the request: at sign-in, where
        `login()` cycles the key, that is two writes where one does.
        """
        data = self._session
        old_key = self.session_key
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self._key_unwritten = True
        self.modified = True
        if old_key:
            self.delete(old_key)

    def save(self, must_create=False):
        """Write the session: an INSERT for a new key, else an UPDATE, in a savepoint only inside a
        transaction (alone, one statement needs none)."""
        if self.session_key is None:
            return self.create()
        if self._key_unwritten:
            return self._insert_new_key()
        data = self._get_session(no_load=must_create)
        row = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=row)
        in_transaction = transaction.get_connection(using).in_atomic_block
        try:
            with transaction.atomic(using=using) if in_transaction else nullcontext():
                row.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
        self._key_unwritten = False
        return None

    def _insert_new_key(self):
        while True:
            try:
                self._key_unwritten = False
                return self.save(must_create=True)
            except CreateError:
                self._session_key = self._get_new_session_key()

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            self.model.objects.filter(session_key=session_key).delete()


def _user_id(data):
    """The signed-in user's primary key from the session's data, or None."""
    value = data.get(SESSION_KEY)
    return None if value is None else get_user_model()._meta.pk.to_python(value)


def _log_suspicious(error):
    if isinstance(error, SuspiciousOperation):
        logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
