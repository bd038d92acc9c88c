"""The task worker's side of an import run. Its only argument is the run's id: no file name, no content."""

import logging
import time
from typing import BinaryIO

from django.tasks import task
from django.utils import timezone

from patients.bulk_insert import gc_paused
from patients.importing import ImportFileError, ImportReport, file_read
from registration.ehr_import.importing import batch_import
from registration.ehr_import.kept_reads import read_keep, read_kept
from registration.ehr_import.lifecycle import import_run_claim, import_run_failed, import_run_finished
from registration.ehr_import.progress import ProgressRecorder
from registration.ehr_import.uploads import upload_open
from registration.models import ImportRun

log = logging.getLogger(__name__)

FILE_GONE = "The file is no longer waiting (another file was chosen, or it waited too long): choose it again."
UNEXPECTED = (
    "The import stopped on an unexpected error and nothing was saved. The task worker's log has the "
    "details; tell whoever looks after the portal, and try the file again."
)


@task
def run_import(run_id: int) -> str:
    """Run one import (or its dry run) and keep its report; the file is deleted unless a preview waits
    for its confirmation."""
    run = import_run_claim(run_id=run_id)
    if run is None:
        return "not queued"
    try:
        with upload_open(run.upload_token) as file, ProgressRecorder(run.pk) as progress:
            report = _import(run, file, progress)
    except FileNotFoundError:
        import_run_failed(run_id=run.pk, error=FILE_GONE)
        return "failed"
    except ImportFileError as error:  # not a file the import reads: the message says why
        import_run_failed(run_id=run.pk, error=str(error))
        return "failed"
    except Exception:
        log.exception("import run %s failed", run.pk)
        import_run_failed(run_id=run.pk, error=UNEXPECTED)
        raise  # the task queue records it as failed too
    import_run_finished(run_id=run.pk, report=report)
    return "done"


def _import(run: ImportRun, file: BinaryIO, progress: ProgressRecorder) -> ImportReport:
    """Import the run's file, or preview it: a preview keeps what it read, and the import its admin
    confirms saves that instead of reading the file again (the same day only: `kept_reads`)."""
    started, today = time.monotonic(), timezone.localdate()
    batch = None if run.dry_run else read_kept(run.upload_token, day=today)
    if batch is None:
        with gc_paused():
            batch = file_read(file, name=run.file_name, progress=progress)
        if run.dry_run:
            read_keep(run.upload_token, batch, day=today)
    return batch_import(
        batch, name=run.file_name, dry_run=run.dry_run, by=run.started_by, progress=progress, started=started
    )
