"""How far a running import got, written where the Import page can read it while the import runs.

`registration.ehr_import.importing.import_file` writes everything in one transaction and calls
`progress(stage, done, total)` from inside it. An UPDATE of the run's row through that same connection
would stay invisible to the page until the import commits: the bar would jump from nothing to done. So:

- Outside a transaction (while the file is read), the row is updated on the task's own connection, in
  autocommit: the page sees it at once.
- Inside the import's transaction on PostgreSQL, the row is updated through a second connection opened
  for this run, in autocommit, so each write commits at once. The import never touches `ImportRun` rows,
  and the run's row is not locked by the task's connection at that point, so neither connection waits
  for the other.
- Inside the transaction on SQLite, nothing is written. SQLite has one writer at a time: the import holds
  the write lock until it commits, and a second connection would wait for it and fail with "database is
  locked". There the page shows the reading count until the run is done; the quick start's immediate
  task backend runs the import inside the upload's request anyway, where nobody watches.

Writes are throttled to one every `interval` seconds, plus one at each change of stage.
"""

import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from registration.models import ImportRun

Stage = ImportRun.Stage
# What import_file reports, and the stage the page shows for it; anything else keeps the current stage.
STAGES = {"reading": Stage.READING, "saving": Stage.SAVING}
RUNNING = (Stage.READING, Stage.SAVING)


class ProgressRecorder:
    """`progress(stage, done, total)` for `import_file`, writing the run's row now and then.

    Use as a context manager: it closes its second connection, if it opened one.
    """

    def __init__(self, run_id: int, *, interval: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self.run_id = run_id
        self.interval = interval
        self.clock = clock
        self.written_at: float | None = None
        self.written_stage = ""
        self._side: BaseDatabaseWrapper | None = None

    def __enter__(self) -> "ProgressRecorder":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        stage = STAGES.get(stage, self.written_stage or Stage.READING)
        now = self.clock()
        recent = self.written_at is not None and now - self.written_at < self.interval
        if stage == self.written_stage and recent:
            return
        if self._write(stage, max(done, 0), max(total, 0)):
            self.written_stage, self.written_at = stage, now

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None

    def _write(self, stage: str, done: int, total: int) -> bool:
        """Write the row where others can see it now; False when that cannot be done (SQLite, inside
        the import's transaction)."""
        values = {"stage": stage, "done": done, "total": total, "updated_at": timezone.now()}
        if not connection.in_atomic_block:
            ImportRun.objects.filter(pk=self.run_id, stage__in=RUNNING).update(**values)
            return True
        if connection.vendor == "sqlite":
            return False
        side = self._side_connection()
        table = side.ops.quote_name(ImportRun._meta.db_table)
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET stage = %s, done = %s, total = %s, updated_at = %s "  # noqa: S608 (our table)
                "WHERE id = %s AND stage IN (%s, %s)",
                [stage, done, total, values["updated_at"], self.run_id, *RUNNING],
            )
        return True

    def _side_connection(self) -> BaseDatabaseWrapper:
        """A connection of its own to the default database (from the pool when pooling is on), in
        autocommit: Django's connection handler keeps one connection per alias and thread."""
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        return self._side
