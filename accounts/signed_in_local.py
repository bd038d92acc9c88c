"""Each process's own copy of the signed-in rows it got from Redis (`accounts.signed_in_cache`), which
Redis tells of every change.

Under gunicorn on a busy machine the round trip to Redis was still most of a signed-in request: each
way wakes another process. So every change that replaces a token is also published on one channel
(the session's key, or that every session changed). Each thread that keeps rows holds a subscription of
its own, confirmed before it keeps anything, and before every lookup reads what has arrived: a poll of
its socket, no round trip. Redis sends a message to its subscribers in the same pass in which it
answers the publisher, and the process that made the change answers its own request only after that,
so a request that follows the change finds it. A request running at the same time as the change may
see the session either way, as with the database.

Should the subscription break (Redis restarted, the connection lost), every row is dropped and the
next request subscribes again. A row is kept at most `LOCAL_SECONDS`: a subscription that dies without
a word (a network fault) leaves rows stale that long at most.
"""

import logging
import threading
import time

from redis.client import PubSub

LOCAL_SECONDS = 5
CHANNEL = "changed"
EVERY_SESSION = "*"  # a message naming no one session (session keys are letters and digits)
log = logging.getLogger(__name__)


class _Subscription(PubSub):
    """redis-py's, counting its connections: it connects again by itself after a fault, and what was
    published in between is lost, so rows kept before then cannot be trusted."""

    connects = 0

    def on_connect(self, connection):
        self.connects += 1
        super().on_connect(connection)


class _Kept(threading.local):
    """What one thread keeps (a thread is what serves one request at a time)."""

    def __init__(self):
        self.cache = None  # the cache client the subscription and rows came from
        self.subscription = None
        self.connects = 0  # the subscription's connections when it was confirmed
        self.rows = {}  # session key: (row, monotonic time it is kept until)


_kept = _Kept()


def kept_row(cache, session_key: str) -> tuple | None:
    """The row this thread keeps for the session, after dropping whatever changed; None if none."""
    if not _listening(cache):
        return None
    found = _kept.rows.get(session_key)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0]


def keep(cache, session_key: str, row: tuple) -> None:
    """Keep the row, found good in Redis (or read after the tokens it was stamped with were fixed):
    a change since then has published its message, which the next lookup reads first."""
    if _kept.cache is cache and _kept.subscription is not None:
        _kept.rows[session_key] = (row, time.monotonic() + LOCAL_SECONDS)


def publish(cache, session_key: str = EVERY_SESSION) -> None:
    """Tell every process's subscription that the session's row changed (by default, every row)."""
    cache.client().publish(cache.make_key(CHANNEL), session_key)


def _listening(cache) -> bool:
    """Read the messages that have arrived; subscribe first if needed. False if it cannot."""
    if _kept.cache is not cache:  # another cache (settings changed): start anew
        _forget()
        _kept.cache = cache
    try:
        if _kept.subscription is None:
            _subscribe(cache)
            return True
        subscription = _kept.subscription
        while (message := subscription.get_message(timeout=0)) is not None:
            changed = message["data"].decode()
            if changed == EVERY_SESSION:
                _kept.rows.clear()
            else:
                _kept.rows.pop(changed, None)
        if subscription.connects != _kept.connects:
            raise ConnectionError("the subscription was made again: messages may have been lost")
    except Exception:  # a broken subscription: nothing kept can be trusted
        log.warning("signed-in cache: subscription lost, rows dropped", exc_info=True)
        _forget()
        return False
    return True


def _subscribe(cache) -> None:
    """Subscribe and wait for Redis to confirm it: messages published from then on reach this thread."""
    subscription = _Subscription(cache.client().connection_pool)
    subscription.subscribe(cache.make_key(CHANNEL))
    confirmed = subscription.get_message(timeout=1)
    if confirmed is None or confirmed["type"] != "subscribe":
        subscription.close()
        raise ConnectionError(f"no confirmation of the subscription: {confirmed!r}")
    subscription.ignore_subscribe_messages = True
    _kept.connects = subscription.connects
    _kept.rows.clear()
    _kept.subscription = subscription


def _forget() -> None:
    _kept.rows.clear()
    if _kept.subscription is not None:
        try:
            _kept.subscription.close()
        except Exception:  # already broken
            log.debug("signed-in cache: closing a broken subscription", exc_info=True)
    _kept.subscription = None
