"""Tell what kind of file this is and read it; then write what it holds, in the caller's transaction."""

import json
from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patients.importing import csv_format, fhir_format
from patients.importing.records import Batch
from patients.importing.report import Change, ImportFileError
from patients.importing.store import Store

Progress = Callable[[str, int, int], None]
TOO_DEEP = object()  # what `_parsed` gives for JSON nested beyond Python's stack


def file_read(file: BinaryIO, *, name: str, progress: Progress | None = None) -> Batch:
    """Read and check one EHR export, writing nothing; return its records and the rows it rejected.

    A file of the wrong kind raises `ImportFileError`. `progress("reading", done, total)` is called
    now and then for a progress bar.
    """
    progress = progress or _no_progress
    data = file.read(settings.IMPORT_MAX_FILE_BYTES + 1)
    if len(data) > settings.IMPORT_MAX_FILE_BYTES:
        raise ImportFileError(
            f"The file is larger than {settings.IMPORT_MAX_FILE_BYTES:,} bytes (IMPORT_MAX_FILE_BYTES): "
            "export FHIR as bulk NDJSON files, or CSV in parts."
        )
    text = decode(data)
    del data
    return read(text, name=name, progress=lambda done, total: progress("reading", done, total))


def batch_save(batch: Batch, *, progress: Progress | None = None) -> list[Change]:
    """Write the batch's records and count what it did in `batch.counts`; return the changes the audit
    trail keeps.

    Call it inside a transaction that also writes those changes' audit events: a record is not saved
    without its event. Rejected records are added to the batch's problems. `progress("saving", done,
    total)` is called now and then.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Call batch_save inside atomic(), with the audit events of what it returns.")
    progress = progress or _no_progress
    store = Store(batch, progress=lambda done, total: progress("saving", done, total))
    store.write()
    return store.changes


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


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
