"""What becomes of a run once it is queued: claimed by the worker, finished, failed or abandoned.

Each function changes the run in one short transaction of its own, outside the import's, and writes the
audit event with it. A file is deleted before the row says so: if the database update then fails, the
prune finds the run and tidies the row, and the file is gone either way.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from patients.importing import ImportReport
from registration.ehr_import.reports import report_to_json
from registration.ehr_import.uploads import upload_delete
from registration.models import AuditEvent, ImportRun
from registration.services.audit import audit_record

Stage = ImportRun.Stage
ACTIVE = (Stage.QUEUED, Stage.READING, Stage.SAVING)


def import_run_claim(*, run_id: int, now: datetime | None = None) -> ImportRun | None:
    """Mark a queued run as being read, for one worker only; None if it is not queued (run already, or
    abandoned before a worker came)."""
    now = now or timezone.now()
    claimed = ImportRun.objects.filter(pk=run_id, stage=Stage.QUEUED).update(
        stage=Stage.READING, updated_at=now
    )
    return ImportRun.objects.select_related("started_by").get(pk=run_id) if claimed else None


def import_run_finished(*, run_id: int, report: ImportReport, now: datetime | None = None) -> None:
    """Keep the report. A real import's file is deleted; a dry run's waits for the confirmation."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        if run.stage not in ACTIVE:  # abandoned meanwhile (replaced, or its worker presumed dead)
            return
        if not run.dry_run:
            upload_delete(run.upload_token)
            run.upload_token = ""
        run.stage, run.done, run.total = Stage.DONE, max(run.done, run.total), run.total
        run.report = report_to_json(report)
        run.updated_at = run.finished_at = now
        run.save()
        audit_record(
            action=AuditEvent.Action.IMPORT_FINISHED,
            at=now,
            actor=run.started_by,
            details=_details(run) | {"rejected": report.rejected, "seconds": run.report["seconds"]},
        )


def import_run_failed(*, run_id: int, error: str, now: datetime | None = None) -> None:
    """The run stopped: nothing it read was saved. Its file is deleted, dry run or not."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        upload_delete(run.upload_token)
        if run.stage not in ACTIVE:
            ImportRun.objects.filter(pk=run.pk).update(upload_token="")
            return
        _fail(run, error=error, now=now, actor=run.started_by)


def import_run_abandon(
    *, run: ImportRun, reason: str, now: datetime, actor=None, client_address: str | None = None
) -> None:
    """Delete the file of a run nobody will import: a preview replaced or never confirmed, or a run whose
    worker stopped (it fails with `reason`). Call inside a transaction holding the run's row locked."""
    upload_delete(run.upload_token)
    if run.stage in ACTIVE:
        _fail(run, error=reason, now=now, actor=actor, client_address=client_address, discarded=True)
        return
    run.upload_token = ""
    run.updated_at = now
    run.save(update_fields=["upload_token", "updated_at"])
    audit_record(
        action=AuditEvent.Action.IMPORT_DISCARDED,
        at=now,
        actor=actor,
        client_address=client_address,
        details=_details(run) | {"reason": reason},
    )


def _fail(
    run: ImportRun,
    *,
    error: str,
    now: datetime,
    actor,
    client_address: str | None = None,
    discarded: bool = False,
) -> None:
    run.upload_token = ""
    run.stage = Stage.FAILED
    run.error = error[:500]
    run.updated_at = run.finished_at = now
    run.save()
    action = AuditEvent.Action.IMPORT_DISCARDED if discarded else AuditEvent.Action.IMPORT_FINISHED
    audit_record(
        action=action,
        at=now,
        actor=actor,
        client_address=client_address,
        details=_details(run) | {"error": run.error},
    )


def _details(run: ImportRun) -> dict:
    """What the audit trail keeps of a run: which, whose file, how it ended (no content of the file)."""
    return {"run": run.pk, "file": run.file_name, "dry_run": run.dry_run, "stage": run.stage}
