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
from patients.bulk_insert import gc_paused, insert
from patients.importing import Change, ChangeKind, ImportReport, batch_save, file_read
from patients.importing.files import Progress
from patients.importing.records import Batch
from patients.models import PatientContact
from registration.models import AuditEvent
from registration.services.restriction_imports import (
    ImportedRestriction,
    guardianship_ends_import,
    restriction_import_lift,
    restriction_import_upsert,
)
from registration.statistics.tallies import patients_added

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
    with gc_paused():
        batch = file_read(file, name=name, progress=progress)
        return batch_import(batch, name=name, dry_run=dry_run, by=by, progress=progress, started=started)


def batch_import(
    batch: Batch,
    *,
    name: str,
    dry_run: bool,
    by: User | None = None,
    progress: Progress | None = None,
    started: float | None = None,
) -> ImportReport:
    """Save and audit a batch `file_read` read from the file `name`: `import_file` once the file is
    read, for a caller that read it ahead. `started` (time.monotonic()) is when its reading began."""
    started = time.monotonic() if started is None else started
    source = {"file": name[:200]}
    with gc_paused(), transaction.atomic():
        batch_apply(batch, at=timezone.now(), by=by, source=source, label=name, progress=progress)
        if dry_run:
            transaction.set_rollback(True)
    return batch.report(dry_run=dry_run, seconds=time.monotonic() - started)


def batch_apply(
    batch: Batch, *, at, by: User | None, source: dict, label: str, progress: Progress | None = None
) -> list[Change]:
    """Write a batch's records, audit each change, and record what it says of who may see a child; in
    the caller's transaction. How every record from the EHR is applied: a file, or an HL7 v2 message.

    `source` goes into each audit event's details ({"file": name} or {"hl7": control id}); `label`
    names the source in restrictions' history.
    """
    changes = batch_save(batch, progress=progress)
    patients_added(sum(change.kind == ChangeKind.PATIENT_CREATED for change in changes))
    _changes_audit(changes, at=at, by=by, source=source)
    _access_terms_import(batch, at=at, file_name=label)
    return changes


def _changes_audit(changes: list[Change], *, at, by: User | None, source: dict) -> None:
    """Write an audit event per change, in bulk: one per record the import added or changed."""
    actor_id = by.pk if by else None
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
                    "details": {**source, **({"changed": change.changed} if change.changed else {})},
                }
                for change in changes[start : start + AUDIT_CHUNK]
            ],
        )


# What the upsert's refusals say, by outcome; "lifted" is imported as unchanged, with a warning.
REFUSED = {
    "other_person": "an earlier import recorded this Consent for another person: lift that restriction "
    "in the portal first",
    "patient_self": "the patient cannot be restricted from their own record",
}


def _access_terms_import(batch: Batch, *, at, file_name: str) -> None:
    """Record the restrictions the file's Consents give, lift those they no longer give, and give a
    legal guardian's accesses the guardianship's last day; count them on the batch's report."""
    kept: dict[str, set[str]] = {}
    for order in batch.restriction_orders:
        consent = order.consent
        outcome = restriction_import_upsert(
            wanted=ImportedRestriction(
                source_id=order.source_id,
                patient_id=order.patient_id,
                contact_id=order.contact_id,
                basis=consent.basis,
                starts_on=order.starts_on,
                ends_on=order.ends_on,
            ),
            now=at,
            file_name=file_name,
        )
        kept.setdefault(consent.source_id, set()).add(order.source_id)
        if outcome in REFUSED:
            batch.reject("restrictions", consent.position, REFUSED[outcome])
        elif outcome == "lifted":
            batch.tally("restrictions", "unchanged")
            batch.warn(
                consent.position, "its restriction was lifted in the portal earlier: not recorded again"
            )
        else:
            batch.tally("restrictions", outcome)
    for consent in batch.settled_consents:
        reason = (
            "The EHR's Consent no longer denies this person."
            if consent.in_force
            else f"The EHR's Consent is {consent.status}."
        )
        lifted = restriction_import_lift(
            consent_source_id=consent.source_id,
            keep=kept.get(consent.source_id, set()) if consent.in_force else set(),
            reason=reason,
            now=at,
            file_name=file_name,
        )
        if lifted:
            batch.tally("restrictions", "updated", lifted)
        elif not consent.in_force:
            batch.skip(f"Consent ({consent.status}, nothing recorded from it)")
    guardian = PatientContact.Relationship.GUARDIAN
    ends = [
        (p.patient_id, p.contact_id, p.valid_until)
        for p in batch.link_periods
        if p.relationship == guardian and p.valid_until is not None
    ]
    if changed := guardianship_ends_import(ends=ends, now=at, file_name=file_name):
        batch.tally("guardianship ends", "updated", changed)
