"""Read patients, family contacts and appointments from an EHR export: CSV, or FHIR R4 (Bundle or NDJSON).

    batch = file_read(uploaded, name="export.csv")  # outside any transaction: nothing is written
    with transaction.atomic():
        changes = batch_save(batch)  # the records; then the caller audits `changes` here
    report = batch.report(dry_run=False, seconds=...)

`registration.ehr_import.importing.import_file` does this, auditing every change. See docs/import.md
for the layouts and the rules.
"""

from patients.importing.files import batch_save, file_read
from patients.importing.report import Change, ChangeKind, ImportFileError, ImportReport, Problem

__all__ = [
    "Change",
    "ChangeKind",
    "ImportFileError",
    "ImportReport",
    "Problem",
    "batch_save",
    "file_read",
]
