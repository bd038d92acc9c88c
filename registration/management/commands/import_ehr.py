"""Import EHR exports from the command line: `manage.py import_ehr FILE|DIR [...] [--dry-run]`.

Exit status: 0 when everything usable was imported (resource types the portal does not use are
skipped, not errors), 1 when some records were rejected, 2 when a file could not be read at all.
"""

import logging
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from multiprocessing import get_context
from pathlib import Path

import django
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from patients.bulk_insert import gc_paused
from patients.importing import ImportFileError, file_read
from patients.importing.folders import export_files
from patients.importing.records import Batch
from registration.ehr_import.importing import batch_import

logger = logging.getLogger(__name__)

REJECTED, UNUSABLE = 1, 2


class Command(BaseCommand):
    help = (
        "Import patients, family contacts and appointments from CSV or FHIR R4 files, or folders of them "
        "(a FHIR bulk export, a Synthea run): see docs/import.md. Exit status 0: all imported; "
        "1: some records rejected; 2: a file could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; save nothing.")

    def handle(self, *args, paths, dry_run=False, **options):
        files = export_files([Path(p) for p in paths])
        if not files:
            raise CommandError("No CSV, JSON or NDJSON files there.", returncode=UNUSABLE)
        # A dry run of several files keeps each file's changes until the end, so a contacts file can
        # find the patients of the file read before it; then everything is rolled back.
        with transaction.atomic() if dry_run else nullcontext():
            status, unusable = self.import_all(files, dry_run=dry_run)
            if dry_run:
                transaction.set_rollback(True)
        if unusable:
            raise CommandError(f"Not imported: {', '.join(unusable)}", returncode=UNUSABLE)
        if status:
            raise CommandError("Some records were rejected (listed above).", returncode=status)

    def import_all(self, files: list[Path], *, dry_run: bool) -> tuple[int, list[str]]:
        """Import each file in turn; the next one is read while this one is saved.

        Reading (parsing and checking, nothing written) is Python's work and saving mostly PostgreSQL's.
        A thread reading ahead had to share Python with the save: a 100,000-patient FHIR export took
        longer so (46 s) than reading and saving each file in turn (39 s). So the files after the first
        are read by a reader process, one ahead, and sent back pickled (0.9 s for 200,000 contacts),
        while this process reads the first itself and saves each; both keep the collector off.
        """
        status, unusable = 0, []
        with (
            gc_paused(),
            ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"), initializer=django.setup
            ) as reader,
        ):
            ahead = {}
            for index, path in enumerate(files):
                if index + 1 < len(files):
                    ahead[index + 1] = reader.submit(_read, files[index + 1])
                try:
                    batch, started = ahead.pop(index).result() if index else _read(path)
                    with self.progress_bar(path.name) as progress:
                        report = batch_import(
                            batch, name=path.name, dry_run=False, progress=progress, started=started
                        )
                except (ImportFileError, OSError) as error:
                    self.stderr.write(f"{path}: {error}")
                    unusable.append(str(path))
                    continue
                except Exception:  # one broken file must not stop the others, nor show a traceback
                    logger.exception("import_ehr: unexpected error reading %s", path)
                    self.stderr.write(
                        f"{path}: could not be imported because of an unexpected error (logged)."
                    )
                    unusable.append(str(path))
                    continue
                report.dry_run = dry_run
                self.stdout.write(f"{path}:")
                self.stdout.write(report.summary())
                if report.rejected:
                    status = REJECTED
        return status, unusable

    def progress_bar(self, name: str):
        """Return a context giving a `progress(stage, done, total)` callback: a bar on a terminal only."""
        return _Bar(name, enabled=getattr(self.stdout, "isatty", lambda: False)() and sys.stderr.isatty())


def _read(path: Path) -> tuple[Batch, float]:
    """Read one file (no database, no progress bar: perhaps in the reader process); when reading began."""
    started = time.monotonic()
    with gc_paused(), path.open("rb") as file:
        return file_read(file, name=path.name), started


class _Bar:
    def __init__(self, name: str, *, enabled: bool):
        self.name, self.enabled, self.bar, self.stage = name, enabled, None, None

    def __enter__(self):
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=f"{self.name}: {stage}", unit=" records", leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __exit__(self, *exc):
        self.close()
        return False
