"""Which files of an export to read, and in what order: patients, then contacts, then appointments.

A FHIR bulk export is a folder of NDJSON files, one per resource type (Patient.ndjson,
RelatedPerson.ndjson, Appointment.ndjson, and others the portal does not use); a Synthea run is a
folder of Bundles, one per patient, beside hospital and practitioner Bundles. Contacts and
appointments name their patient, so the files holding patients are read first whatever their names.
"""

import re
from pathlib import Path

READABLE = (".csv", ".json", ".ndjson", ".jsonl")
PATIENTS, CONTACTS, APPOINTMENTS, OTHER = range(4)
RANKS = {"Patient": PATIENTS, "RelatedPerson": CONTACTS, "Appointment": APPOINTMENTS}


def export_files(paths: list[Path]) -> list[Path]:
    """Return the files to import, in reading order: a folder gives its readable files, recursively.

    A file named on its own is read whatever its name (the import says if it is not an export).
    """
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READABLE)
        else:
            found.append(path)
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: (_rank(p), str(p)))


RESOURCE_TYPE = re.compile(r'"resourceType"\s*:\s*"(\w+)"')


def _rank(path: Path) -> int:
    """Guess from the file's start what it holds; a file that can't be read goes last.

    The first `resourceType` is the file's own (a Bundle, or the first NDJSON line's resource) in
    every export seen: exporters write it first, pretty-printed or not.
    """
    try:
        with path.open("rb") as file:
            head = file.read(65_536).decode("utf-8-sig", errors="replace").lstrip()
    except OSError:
        return OTHER
    if path.suffix.lower() == ".csv":
        columns = {c.strip().lower() for c in head.split("\n", 1)[0].split(",")}
        return APPOINTMENTS if "appointment_id" in columns or "starts_at" in columns else PATIENTS
    found = RESOURCE_TYPE.search(head)
    if found is None:
        return OTHER
    return PATIENTS if found[1] == "Bundle" else RANKS.get(found[1], OTHER)
