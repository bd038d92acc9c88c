"""Django's database sessions, each row knowing whose it is (`accounts.models.Session`).

A signed-in request reads its session and its user (with what `settings.SIGNED_IN_USER_RELATED` names)
in one query: `accounts.middleware.AuthenticationMiddleware` hands that user to Django's checks instead
of loading it again. With `SIGNED_IN_CACHE_URL` set, that query's row is kept in Redis, shared by every
process, and each write here (and each change of a user) makes what was kept unusable in every process
at once (`accounts.signed_in_cache`): a disabled account or a changed password still ends the session
at once. Without it, every request reads the database.

That query is every request's, so its SQL is made once per process from the models (`SignedInQuery`):
the ORM took ~0.9 ms a request to compile it and build its rows, the database ~0.1 ms to answer it.

Writes are fewer than Django's: a new key (at sign-in) is written once, with the data, at the end of the
request, and a session is deleted with one statement.
"""

from contextlib import nullcontext
from functools import cache

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts import signed_in_cache
from accounts.models import Session


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.signed_in_user = None  # the row's user, read with the session
        self._key_unwritten = False  # a new key whose row the next save inserts

    @classmethod
    def get_model_class(cls):
        return Session

    def _get_session_from_db(self):
        query = signed_in_query(router.db_for_read(self.model))
        row = query.build(signed_in_cache.signed_in_row(self.session_key, query.row))
        if row is None:
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
        signed_in_cache.session_changed(self.session_key)
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
            signed_in_cache.session_changed(session_key)


class SignedInQuery:
    """A session row by key, unexpired, with its user and the user's `SIGNED_IN_USER_RELATED` (reverse
    one-to-ones), read as the ORM's select_related reads them: the same SQL and conversions, made once."""

    def __init__(self, using: str):
        self.using = using
        connection = connections[using]
        qn = connection.ops.quote_name
        user_model = get_user_model()
        self.relations = [user_model._meta.get_field(name) for name in settings.SIGNED_IN_USER_RELATED]
        tables = [(Session, "s", ""), (user_model, "u", f"u.{qn(user_model._meta.pk.column)} = s.user_id")]
        for n, relation in enumerate(self.relations):
            field = relation.field
            on = f"r{n}.{qn(field.column)} = u.{qn(field.target_field.column)}"
            tables.append((relation.related_model, f"r{n}", on))
        self.models = [(model, [f.attname for f in model._meta.concrete_fields]) for model, _, _ in tables]
        columns, self.converters = [], []  # converters: (position, functions, column), as the ORM's
        for model, alias, _ in tables:
            for field in model._meta.concrete_fields:
                col = field.get_col(alias)
                if functions := connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                    self.converters.append((len(columns), functions, col))
                columns.append(f"{alias}.{qn(field.column)}")
        joins = " ".join(
            f"LEFT JOIN {qn(model._meta.db_table)} {alias} ON {on}" for model, alias, on in tables[1:]
        )
        # Table and column names from the models, quoted; the values are parameters.
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {qn(Session._meta.db_table)} s {joins} "  # noqa: S608
            "WHERE s.session_key = %s"  # expired or not: the expiry is checked here, one parameter fewer
        )

    def session(self, session_key: str) -> Session | None:
        return self.build(self.row(session_key))

    def row(self, session_key: str) -> tuple | None:
        """The session's row as the database returns it (what `accounts.signed_in_cache` keeps)."""
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, [session_key])
            return cursor.fetchone()

    def build(self, row: tuple | None) -> Session | None:
        """The session, its user and related rows from `row`; None if there is none or it has expired."""
        if row is None:
            return None
        connection = connections[self.using]
        row = list(row)
        for position, functions, col in self.converters:
            for function in functions:
                row[position] = function(row[position], col, connection)
        instances, start = [], 0
        for model, attnames in self.models:
            values = row[start : start + len(attnames)]
            start += len(attnames)
            pk = values[attnames.index(model._meta.pk.attname)]
            instances.append(None if pk is None else model.from_db(self.using, attnames, values))
        session, user, *related = instances
        if session.expire_date <= timezone.now():
            return None
        session.user = user  # cached, as select_related does (None: nobody is signed in to it)
        if user is not None:
            for relation, instance in zip(self.relations, related, strict=True):
                relation.set_cached_value(user, instance)
                if instance is not None:
                    relation.field.set_cached_value(instance, user)
        return session


@cache
def signed_in_query(using: str) -> SignedInQuery:
    return SignedInQuery(using)


def _user_id(data):
    """The signed-in user's primary key from the session's data, or None."""
    value = data.get(SESSION_KEY)
    return None if value is None else get_user_model()._meta.pk.to_python(value)
