"""Import patients, family contacts and appointments from the EHR: CSV, or FHIR R4 (Bundle or NDJSON).

    report = import_file(uploaded, name="export.csv", dry_run=True, by=request.user)

See docs/import.md for the layouts and the rules.
"""

from patients.importing.files import import_file
from patients.importing.report import ImportFileError, ImportReport, Problem

__all__ = ["ImportFileError", "ImportReport", "Problem", "import_file"]
