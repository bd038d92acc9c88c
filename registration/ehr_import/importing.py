"""Import one EHR export and audit every record it adds or changes: how records come in from the EHR,
from the Import page's task and from `manage.py import_ehr` alike.

`patients.importing` reads the file and writes the EHR's records, returning what changed; the audit
events are written here, in the same transaction, so the records and their trail are saved together or
(a dry run, an error) neither is.
"""

import time
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.bulk_insert import insert
from patients.importing import Change, ChangeKind, ImportReport, batch_save, file_read
from patients.importing.files import Progress
from registration.models import AuditEvent

ACTIONS = {
    ChangeKind.PATIENT_CREATED: AuditEvent.Action.PATIENT_CREATED_BY_IMPORT,
    ChangeKind.PATIENT_UPDATED: AuditEvent.Action.PATIENT_UPDATED_BY_IMPORT,
    ChangeKind.CONTACT_ADDED: AuditEvent.Action.CONTACT_ADDED_BY_IMPORT,
    ChangeKind.CONTACT_UPDATED: AuditEvent.Action.CONTACT_UPDATED_BY_IMPORT,
}
AUDIT_CHUNK = 2000  # audit rows built and written at a time: an import may add hundreds of thousands


def import_file(
    file: BinaryIO, *, name: str, dry_run: bool, by: User | None = None, progress: Progress | None = None
) -> ImportReport:
    """Import one EHR export and return what it did, or would do when `dry_run`.

    Rejected rows and resources are reported and the rest imported; a file of the wrong kind raises
    `ImportFileError` before anything is written. A dry run does the whole import and rolls it back,
    so its report is exactly what the real run would say. `progress(stage, done, total)` is called
    now and then for a progress bar: the file is read outside the transaction, then saved in it.
    """
    started = time.monotonic()
    batch = file_read(file, name=name, progress=progress)
    now = timezone.now()
    with transaction.atomic():
        changes = batch_save(batch, progress=progress)
        _changes_audit(changes, at=now, by=by, file_name=name)
        if dry_run:
            transaction.set_rollback(True)
    return batch.report(dry_run=dry_run, seconds=time.monotonic() - started)


def _changes_audit(changes: list[Change], *, at, by: User | None, file_name: str) -> None:
    """Write an audit event per change, in bulk: one per record the import added or changed."""
    actor_id = by.pk if by else None
    file = file_name[:200]
    for start in range(0, len(changes), AUDIT_CHUNK):
        insert(
            AuditEvent,
            [
                {
                    "action": ACTIONS[change.kind],
                    "at": at,
                    "actor_id": actor_id,
                    "patient_id": change.patient_id,
                    "contact_id": change.contact_id,
                    "details": {"file": file, **({"changed": change.changed} if change.changed else {})},
                }
                for change in changes[start : start + AUDIT_CHUNK]
            ],
        )
