from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from registration.ehr_import.services import import_uploads_prune


class Command(BaseCommand):
    help = (
        "Delete uploaded EHR exports nobody will import: previews not confirmed within "
        "IMPORT_UPLOAD_MAX_AGE, runs the task worker stopped working on (marked failed), and files no "
        "run holds. Safe to run at any time, e.g. every 10 minutes from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age",
            type=int,
            default=None,
            help=f"seconds a file may wait (default IMPORT_UPLOAD_MAX_AGE: {settings.IMPORT_UPLOAD_MAX_AGE})",
        )

    def handle(self, *args, max_age, **options):
        pruned = import_uploads_prune(max_age=timedelta(seconds=max_age) if max_age is not None else None)
        self.stdout.write(
            f"deleted the files of {len(pruned.previews)} unconfirmed previews and "
            f"{len(pruned.stopped)} stopped runs, and {pruned.unknown_files} files no run held"
        )
