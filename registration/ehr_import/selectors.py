"""Reads for the Import page. A run is shown only to the admin who started it."""

from dataclasses import dataclass

from accounts.models import User
from registration.ehr_import.reports import StoredReport
from registration.ehr_import.uploads import upload_exists
from registration.models import ImportRun


@dataclass(frozen=True)
class ImportRunPage:
    run: ImportRun
    report: StoredReport | None
    confirmable: bool  # a finished preview whose file still waits, and would change something
    confirmed_import_id: int | None  # the real import started from this preview

    @property
    def stage_label(self) -> str:
        return stage_label(self.run)


def stage_label(run: ImportRun) -> str:
    """What the run is doing, in the words of its page."""
    if run.stage == ImportRun.Stage.SAVING:
        return "Comparing with the records already here" if run.dry_run else "Saving the records"
    return run.get_stage_display()


def import_run_of(*, user: User, run_id: int) -> ImportRun | None:
    """The run if `user` started it, else None: other admins' files are theirs to confirm."""
    return ImportRun.objects.filter(pk=run_id, started_by=user).first()


def import_run_page(*, user: User, run_id: int) -> ImportRunPage | None:
    run = ImportRun.objects.select_related("confirmed_import").filter(pk=run_id, started_by=user).first()
    if run is None:
        return None
    confirmed = getattr(run, "confirmed_import", None)  # reverse one-to-one: absent when none
    report = StoredReport.from_json(run.report, dry_run=run.dry_run) if run.report is not None else None
    return ImportRunPage(
        run=run,
        report=report,
        confirmable=bool(
            run.dry_run
            and run.stage == ImportRun.Stage.DONE
            and confirmed is None
            and upload_exists(run.upload_token)
            and report is not None
            and not report.nothing_to_import
        ),
        confirmed_import_id=confirmed.pk if confirmed else None,
    )


def import_runs_recent(*, user: User, limit: int = 5) -> list[ImportRun]:
    """The user's latest runs, newest first, for finding one again after leaving its page."""
    return list(ImportRun.objects.filter(started_by=user).order_by("-created_at", "-pk")[:limit])
