"""What a practice admin does on the Import page, and the prune that deletes files left waiting.

Each function runs in one transaction, writes its audit event there, and asks the task worker to run
the import only once that transaction has committed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from registration.ehr_import.lifecycle import ACTIVE, import_run_abandon
from registration.ehr_import.reports import StoredReport
from registration.ehr_import.tasks import run_import
from registration.ehr_import.uploads import upload_delete, upload_exists, upload_save, uploads_unknown
from registration.models import AuditEvent, ImportRun
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError

Stage = ImportRun.Stage


class ImportNotConfirmable(RegistrationError):
    message = "This preview cannot be imported: choose the file again."


class ImportChangesNothing(ImportNotConfirmable):
    message = "Importing this file would change nothing: there is nothing to confirm."


class ImportFileGone(ImportNotConfirmable):
    message = (
        "The file is no longer waiting (another file was chosen, or it waited more than the time "
        "allowed): choose it again."
    )


def import_run_start(
    *, upload: UploadedFile, by: User, client_address: str | None = None, now: datetime | None = None
) -> ImportRun:
    """Keep the uploaded file and queue its dry run (the preview). A preview of `by`'s still waiting
    for its confirmation is dropped and its file deleted: the newer file replaces it."""
    now = now or timezone.now()
    token = upload_save(upload)
    try:
        with transaction.atomic(durable=True):
            waiting = ImportRun.objects.select_for_update().filter(started_by=by, dry_run=True)
            for previous in waiting.exclude(upload_token=""):
                import_run_abandon(
                    run=previous,
                    reason="Another file was chosen instead.",
                    now=now,
                    actor=by,
                    client_address=client_address,
                )
            run = ImportRun.objects.create(
                started_by=by,
                file_name=upload.name[:255],
                dry_run=True,
                upload_token=token,
                created_at=now,
                updated_at=now,
            )
            _audit_started(run, by=by, client_address=client_address, now=now)
            transaction.on_commit(partial(run_import.enqueue, run.pk))
    except BaseException:
        upload_delete(token)
        raise
    return run


@transaction.atomic(durable=True)
def import_run_confirm(
    *, preview_id: int, by: User, client_address: str | None = None, now: datetime | None = None
) -> ImportRun:
    """Queue the real import of a finished preview's file; return it. Confirming again returns the
    import already queued: a file is imported once."""
    now = now or timezone.now()
    preview = ImportRun.objects.select_for_update().filter(pk=preview_id, started_by=by, dry_run=True).first()
    if preview is None or preview.stage != Stage.DONE:
        raise ImportNotConfirmable
    existing = ImportRun.objects.filter(preview=preview).first()
    if existing is not None:
        return existing
    if not upload_exists(preview.upload_token):
        raise ImportFileGone
    if StoredReport.from_json(preview.report or {}, dry_run=True).nothing_to_import:
        raise ImportChangesNothing
    run = ImportRun.objects.create(
        started_by=by,
        file_name=preview.file_name,
        dry_run=False,
        preview=preview,
        upload_token=preview.upload_token,
        created_at=now,
        updated_at=now,
    )
    preview.upload_token = ""  # the file is the import's now
    preview.save(update_fields=["upload_token"])
    _audit_started(run, by=by, client_address=client_address, now=now)
    transaction.on_commit(partial(run_import.enqueue, run.pk))
    return run


@dataclass
class Pruned:
    previews: list[int] = field(default_factory=list)  # previews never confirmed: file deleted
    stopped: list[int] = field(default_factory=list)  # runs no worker finished: failed, file deleted
    unknown_files: int = 0  # files no run held


def import_uploads_prune(*, now: datetime | None = None, max_age: timedelta | None = None) -> Pruned:
    """Delete every upload nobody will import: previews not confirmed within `max_age`
    (`settings.IMPORT_UPLOAD_MAX_AGE`), runs not updated for that long (their worker stopped, or none
    ever came), and files no run holds. Safe to run at any time, e.g. from cron."""
    now = now or timezone.now()
    cutoff = now - (max_age or timedelta(seconds=settings.IMPORT_UPLOAD_MAX_AGE))
    pruned = Pruned()
    holding = ImportRun.objects.exclude(upload_token="")
    for run_id in holding.filter(updated_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            run = ImportRun.objects.select_for_update().filter(pk=run_id, updated_at__lt=cutoff).first()
            if run is None or not run.upload_token:
                continue
            if run.stage in ACTIVE:
                reason = STOPPED_QUEUED if run.stage == Stage.QUEUED else STOPPED_RUNNING
                pruned.stopped.append(run.pk)
            else:
                reason = "The preview was not confirmed in time."
                pruned.previews.append(run.pk)
            import_run_abandon(run=run, reason=reason, now=now)
    known = holding.values_list("upload_token", flat=True)
    for token in uploads_unknown(known=known, older_than=cutoff):
        upload_delete(token)
        pruned.unknown_files += 1
    return pruned


STOPPED_QUEUED = (
    "No task worker took this import up in time, and the file was deleted. Ask whoever looks after the "
    "portal whether `manage.py db_worker` is running, then choose the file again."
)
STOPPED_RUNNING = (
    "The task worker stopped before this import finished; nothing was saved and the file was deleted. "
    "Choose the file again."
)


def _audit_started(run: ImportRun, *, by: User, client_address: str | None, now: datetime) -> None:
    audit_record(
        action=AuditEvent.Action.IMPORT_STARTED,
        at=now,
        actor=by,
        client_address=client_address,
        details={"run": run.pk, "file": run.file_name, "dry_run": run.dry_run}
        | ({"preview": run.preview_id} if run.preview_id else {}),
    )
