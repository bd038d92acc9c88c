"""Import EHR exports from the command line: `manage.py import_ehr FILE [FILE ...] [--dry-run]`."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patients.importing import ImportFileError, import_file


class Command(BaseCommand):
    help = "Import patients, family contacts and appointments from CSV or FHIR R4 (see docs/import.md)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; save nothing.")

    def handle(self, *args, files, dry_run=False, **options):
        failed = []
        for path in map(Path, files):
            try:
                with path.open("rb") as file, self.progress_bar(path.name) as progress:
                    report = import_file(file, name=path.name, dry_run=dry_run, progress=progress)
            except (ImportFileError, OSError) as error:
                self.stderr.write(f"{path}: {error}")
                failed.append(str(path))
                continue
            self.stdout.write(f"{path}:")
            self.stdout.write(report.summary())
        if failed:
            raise CommandError(f"Not imported: {', '.join(failed)}")

    def progress_bar(self, name: str):
        """Return a context giving a `progress(stage, done, total)` callback: a bar on a terminal only."""
        return _Bar(name, enabled=getattr(self.stdout, "isatty", lambda: False)() and sys.stderr.isatty())


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
