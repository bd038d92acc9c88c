"""The signed-in read (`accounts.session_store`) kept in a cache every process shares: Redis, named by
`SIGNED_IN_CACHE_URL` (`settings.CACHES["signed_in"]`). Without it every request reads the database.

Under gunicorn the database round trip was most of a signed-in request: the floor served 0.17-0.22 of a
bare view's requests a second with it, 0.31-0.34 with a Redis round trip in its place (issue 17).

An entry is the row the signed-in query returned (session, user, the user's related rows), stamped with
two tokens: its session's and the users'. It is good only while both tokens are still the current ones,
and all three are read in one round trip. A token is replaced, never counted up, whenever what it covers
changes, in every process at once because the tokens live in the shared cache:
- the session's, when the store writes or deletes that session (a sign-out, a new key, the data);
- the users', when any user or row read with a user (`SIGNED_IN_USER_RELATED`) is saved or deleted,
  and when a user's sessions are ended (a role change, a disabled account: `accounts.role_changes`).
A process fixes the tokens it will stamp before it reads the database, so an entry made from a row read
before a change carries a token the change has already replaced, or will replace after its commit (the
token is replaced at the change and again once it is committed). A lost token (expired, evicted, Redis
restarted) only makes every entry stamped with it a miss. The session's expiry date is checked on every
read, cached or not, as before.

Redis unreachable: requests read the database, and changes are still made. Should Redis come back
holding entries a change could not replace (a network fault rather than a restart, which empties it:
it keeps nothing on disk), they last at most their lifetime (`TIMEOUT`, 60 s).

Not covered, as in `accounts.role_changes`: writes that send no signal (`QuerySet.update()` of users or
sessions, raw SQL). After one, call `users_changed()`.
"""

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts import signed_in_local

ALIAS = "signed_in"
USERS = "users"  # the users' token
log = logging.getLogger(__name__)


def enabled() -> bool:
    return ALIAS in settings.CACHES


def signed_in_row(session_key: str, read: Callable[[str], tuple | None]) -> tuple | None:
    """The signed-in query's row for the session key: from the cache while its entry is good, else from
    `read` (the database), kept in the cache for the next request of any process. The database alone
    when the cache is off or cannot be reached."""
    if not enabled():
        return read(session_key)
    entry_key, token_key = _entry_key(session_key), _session_token_key(session_key)
    cache = caches[ALIAS]
    if (row := signed_in_local.kept_row(cache, session_key)) is not None:
        return row
    try:
        found = cache.get_many([entry_key, token_key, USERS])
        stamp = (
            found.get(USERS) or _token_add(cache, USERS),
            found.get(token_key) or _token_add(cache, token_key),
        )
    except Exception:  # any failure of the cache leaves the database to answer
        log.warning("signed-in cache unreachable: reading the session from the database", exc_info=True)
        return read(session_key)
    entry = found.get(entry_key)
    if entry is not None and None not in stamp and entry[0] == stamp:
        signed_in_local.keep(cache, session_key, entry[1])
        return entry[1]
    row = read(session_key)
    if row is not None and None not in stamp:
        try:
            cache.set(entry_key, (stamp, row))
        except Exception:  # the next request reads the database again
            log.warning("signed-in cache unreachable: session not kept", exc_info=True)
        else:
            signed_in_local.keep(cache, session_key, row)
    return row


def session_changed(session_key: str) -> None:
    """The session's row was written or deleted: no process may use what it kept of it."""
    _token_replace(_session_token_key(session_key), session_key)


def users_changed(**kwargs) -> None:
    """A user, or a row read with one, changed, or a user's sessions ended: no process may use any entry.

    Rare (a sign-in, an account or role change): each session then reads the database once more."""
    _token_replace(USERS)


def receivers_connect() -> None:
    """Replace the users' token whenever a user, or a row read with one, is saved or deleted."""
    user_model = get_user_model()
    related = [user_model._meta.get_field(name).related_model for name in settings.SIGNED_IN_USER_RELATED]
    for model in (user_model, *related):
        for signal in (post_save, post_delete):
            signal.connect(users_changed, sender=model, dispatch_uid=f"signed_in_cache.{model._meta.label}")


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache, keeping one client per connection pool: Django's makes a new `redis.Redis`
    for every command, with its ~170 reply callbacks (~0.1 ms of a request that does nothing else)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _KeptClient

    def client(self):
        """The Redis client itself, for what a cache cannot do (publish and subscribe)."""
        return self._cache.get_client(write=True)

    def validate_key(self, key):
        """Redis takes any key: nothing to warn of (Django looks for memcached's limits, character by
        character, three keys a request)."""


class _KeptClient(django_redis.RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if (kept := getattr(pool, "kept_client", None)) is None:
            kept = pool.kept_client = self._client(connection_pool=pool)
        return kept


def _token_replace(key: str, *session_key: str) -> None:
    """Replace the token now, and once more when the transaction commits: in between, another process
    may still read the row as it was before the change, and stamp it with the token set now. Each time,
    tell every process that keeps rows itself (`accounts.signed_in_local`) which to drop."""
    if not enabled():
        return

    def replace():
        cache = caches[ALIAS]
        try:
            cache.set(key, secrets.token_hex(8), timeout=None if key == USERS else _token_seconds())
            signed_in_local.publish(cache, *session_key)
        except Exception:  # the change stands; what Redis still holds expires with its entries
            log.error("signed-in cache unreachable: %s not replaced", key, exc_info=True)

    replace()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(replace)


def _token_add(cache, key: str) -> str | None:
    """A token for `key` where there is none: this process's, or another's that came first."""
    token = secrets.token_hex(8)
    if cache.add(key, token, timeout=None if key == USERS else _token_seconds()):
        return token
    return cache.get(key)


def _token_seconds() -> int:
    """A session's token outlives the entries stamped with it; when it goes, they only miss."""
    return settings.SESSION_COOKIE_AGE


def _entry_key(session_key: str) -> str:
    return f"row:{session_key}"


def _session_token_key(session_key: str) -> str:
    return f"session:{session_key}"
