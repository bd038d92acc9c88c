"""Tell what kind of file this is, read it, and write it in one transaction."""

import json
import time
from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patients.importing import csv_format, fhir_format
from patients.importing.records import Batch
from patients.importing.report import ImportFileError, ImportReport
from patients.importing.store import Store

Progress = Callable[[str, int, int], None]
TOO_DEEP = object()  # what `_parsed` gives for JSON nested beyond Python's stack


def import_file(
    file: BinaryIO, *, name: str, dry_run: bool, by=None, progress: Progress | None = None
) -> ImportReport:
    """Import one EHR export and return what it did, or would do when `dry_run`.

    Rejected rows and resources are reported and the rest imported; a file of the wrong kind raises
    `ImportFileError` before anything is written. A dry run does the whole import and rolls it back,
    so its report is exactly what the real run would say. `progress(stage, done, total)` is called
    now and then for a progress bar.
    """
    started = time.monotonic()
    progress = progress or (lambda stage, done, total: None)
    data = file.read(settings.IMPORT_MAX_FILE_BYTES + 1)
    if len(data) > settings.IMPORT_MAX_FILE_BYTES:
        raise ImportFileError(
            f"The file is larger than {settings.IMPORT_MAX_FILE_BYTES:,} bytes (IMPORT_MAX_FILE_BYTES): "
            "export FHIR as bulk NDJSON files, or CSV in parts."
        )
    batch = read(decode(data), name=name, progress=lambda done, total: progress("reading", done, total))
    del data
    now = timezone.now()
    with transaction.atomic():
        Store(
            batch,
            now=now,
            by=by,
            file_name=name,
            progress=lambda done, total: progress("saving", done, total),
        ).write()
        if dry_run:
            transaction.set_rollback(True)
    return ImportReport(
        kind=batch.kind,
        dry_run=dry_run,
        counts=batch.counts,
        problems=sorted(batch.problems, key=lambda p: p.sort_key()),
        warnings=sorted(batch.warnings, key=lambda p: p.sort_key()),
        skipped=batch.skipped,
        seconds=time.monotonic() - started,
    )


def decode(data: bytes) -> str:
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("This is a spreadsheet, not CSV: save it as CSV (UTF-8) and import that.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text: export it as CSV (UTF-8) or FHIR JSON.") from None


def read(text: str, *, name: str, progress: Callable[[int, int], None]) -> Batch:
    today = timezone.localdate()
    lowered = name.lower()
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) or lowered.endswith((".json", ".ndjson", ".jsonl")):
        first = _parsed(stripped.split("\n", 1)[0])
        several_lines = "\n" in stripped.rstrip()
        if several_lines and isinstance(first, dict) and first.get("resourceType") not in (None, "Bundle"):
            return fhir_format.read_ndjson(text, today=today, progress=progress)
        data = _parsed(text)
        if data is TOO_DEEP and lowered.endswith((".ndjson", ".jsonl")):
            return fhir_format.read_ndjson(text, today=today, progress=progress)  # reports the bad line
        if data is TOO_DEEP:
            raise ImportFileError(
                "This JSON is nested too deeply to be a FHIR export (hundreds of levels): not read."
            )
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            return fhir_format.read_bundle(data, today=today, progress=progress)
        if isinstance(data, dict) and "resourceType" in data:  # one resource, perhaps pretty-printed
            return fhir_format.read_ndjson(json.dumps(data), today=today, progress=progress)
        if data is None and lowered.endswith((".ndjson", ".jsonl")):
            return fhir_format.read_ndjson(text, today=today, progress=progress)
        raise ImportFileError(
            "This JSON is not FHIR R4: expected a Bundle, or NDJSON with one resource (Patient, "
            "RelatedPerson, Appointment) a line."
        )
    if "," not in text.split("\n", 1)[0]:
        raise ImportFileError(
            "This is neither CSV with a header row nor FHIR JSON: see docs/import.md for what the import "
            "reads."
        )
    return csv_format.read_csv(text, today=today, progress=progress)


def _parsed(text: str):
    """Return the parsed JSON, None if it is not JSON, or TOO_DEEP if nested beyond Python's stack."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
    except RecursionError:
        return TOO_DEEP
