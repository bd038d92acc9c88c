"""The task worker's side of an import run. Its only argument is the run's id: no file name, no content."""

import logging

from django.tasks import task

from patients.importing import ImportFileError
from registration.ehr_import.importing import import_file
from registration.ehr_import.lifecycle import import_run_claim, import_run_failed, import_run_finished
from registration.ehr_import.progress import ProgressRecorder
from registration.ehr_import.uploads import upload_open

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
            report = import_file(
                file, name=run.file_name, dry_run=run.dry_run, by=run.started_by, progress=progress
            )
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
