"""One benchmark at a time on a PostgreSQL server: a session advisory lock held for the whole run.

Two `make bench` runs on the same databases deadlocked (issue 17), and two runs sharing two cores would
time each other anyway. The lock is PostgreSQL's,
so it holds across processes and clones, and it is released when the holder's connection ends, even
when the process is killed.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

# Any number of our own; below 2**32, so pg_locks shows it as objid.
BENCH_LOCK = 1_700_017


@contextmanager
def bench_lock(dsn: str, *, on_wait: Callable[[str], None] = print, key: int = BENCH_LOCK) -> Iterator[None]:
    """Hold the bench's advisory lock on `dsn`'s database for the block, waiting for another run first.

    `on_wait` hears who holds it (process, program, since when) before the wait starts.
    """
    with psycopg.connect(
        dsn, autocommit=True, application_name=f"portalreg bench (pid {os.getpid()})"
    ) as lock:
        if not lock.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
            on_wait(f"another benchmark holds the lock ({_holder(lock, key)}); waiting for it to finish")
            lock.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", [key])


def _holder(lock: psycopg.Connection, key: int) -> str:
    found = lock.execute(
        """
        SELECT activity.application_name, activity.backend_start
        FROM pg_locks JOIN pg_stat_activity activity USING (pid)
        WHERE pg_locks.locktype = 'advisory' AND pg_locks.granted
          AND pg_locks.classid = 0 AND pg_locks.objid::bigint = %s AND pg_locks.database = (
            SELECT oid FROM pg_database WHERE datname = current_database()
          )
        """,
        [key],
    ).fetchone()
    if found is None:  # released between the two statements
        return "just released"
    return f"{found[0] or 'a session'}, since {found[1]:%H:%M:%S %Z}"
