"""The Import page's runs on the task queue: the database queue and its worker, the progress staff
watch while the import's transaction is open, and the files deleted whatever becomes of a run."""

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from patients.models import Patient
from registration.ehr_import import services, tasks
from registration.ehr_import.progress import ProgressRecorder
from registration.ehr_import.uploads import upload_save
from registration.models import AuditEvent, ImportRun
from tests.factories import admin_user
from tests.task_queue import db_worker_batch

HEADER = (
    "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
    "contact_last_name,relationship,email,cell_phone,preferred_language\n"
)


def _patients_csv(count: int, name: str = "patients.csv") -> SimpleUploadedFile:
    rows = "".join(
        f"Q{i:05},Kid{i},Quill{i},2019-04-17,F,,Ada{i},Quill{i},mother,ada{i}@example.org,,en\n"
        for i in range(count)
    )
    return SimpleUploadedFile(name, (HEADER + rows).encode(), content_type="text/csv")


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path) -> Path:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def _waiting(uploads: Path) -> list[Path]:
    return sorted(uploads.iterdir()) if uploads.exists() else []


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production


# ---------------------------------------------------------------- the database queue and its worker


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_preview_and_then_the_import_and_the_file_is_deleted(database_queue, uploads):
    admin = admin_user()
    client = Client()
    client.force_login(admin)

    page_url = client.post(reverse("staff:import"), {"file": _patients_csv(30)})["Location"]
    run = ImportRun.objects.get()
    assert client.get(page_url).templates[0].name == "staff/import_progress.html"
    queued = DBTaskResult.objects.get()
    assert queued.args_kwargs == {"args": [run.pk], "kwargs": {}}, "the queue holds the run's id only"
    assert (run.stage, run.done, run.total) == ("queued", 0, 0)

    db_worker_batch()
    run.refresh_from_db()
    print("dry run:", run.stage, run.done, run.total, run.report["counts"])
    assert run.stage == "done" and run.done == run.total > 0, "the progress reached the end"
    preview = client.get(page_url)
    assert preview.templates[0].name == "staff/import_preview.html"
    assert preview.context["report"].counts["patients"]["created"] == 30
    assert not Patient.objects.exists()
    assert [path.suffix for path in _waiting(uploads)] == [".read", ".upload"], "the file and its reading"

    import_url = client.post(reverse("staff:import-confirm", args=[run.pk]))["Location"]
    assert client.get(import_url).templates[0].name == "staff/import_progress.html"
    db_worker_batch()
    done = client.get(import_url)
    assert done.templates[0].name == "staff/import_done.html"
    assert Patient.objects.filter(mrn__startswith="Q").count() == 30
    assert _waiting(uploads) == []
    results = list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", "return_value"))
    assert results == [("SUCCESSFUL", "done"), ("SUCCESSFUL", "done")]
    real = ImportRun.objects.get(dry_run=False)
    assert DBTaskResult.objects.filter(args_kwargs={"args": [real.pk], "kwargs": {}}).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_that_fails_on_the_worker_deletes_its_file(database_queue, uploads):
    admin = admin_user()
    wrong = SimpleUploadedFile("notes.csv", b"when,what\n2026-01-01,flu shot\n", content_type="text/csv")
    run = services.import_run_start(upload=wrong, by=admin)
    assert len(_waiting(uploads)) == 1

    db_worker_batch()
    run.refresh_from_db()
    print("failed:", run.error)
    assert run.stage == "failed" and run.error and run.upload_token == ""
    assert _waiting(uploads) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_watch_the_progress_move_while_the_worker_imports(database_queue):
    """The page's JSON, asked every 20 ms from another thread (another connection, as another web
    worker would) while `db_worker` runs the dry run: the numbers move during the import's transaction."""
    admin = admin_user()
    # Enough rows that saving lasts a good many polls, now that new rows are written with COPY.
    run = services.import_run_start(upload=_patients_csv(12000), by=admin)
    seen: list[tuple[str, int, int]] = []
    stop = threading.Event()

    def watch() -> None:
        client = Client()
        client.force_login(admin)
        try:
            while True:
                finished = stop.is_set()  # read before the poll, so the last poll follows the worker's end
                state = client.get(reverse("staff:import-progress", args=[run.pk])).json()
                seen.append((state["stage"], state["done"], state["total"]))
                if finished:
                    break
                time.sleep(0.02)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        db_worker_batch()
    finally:
        stop.set()
        watcher.join()

    changes = [state for i, state in enumerate(seen) if i == 0 or state != seen[i - 1]]
    print(f"{len(seen)} polls; what the page saw change: {changes}")
    assert changes[-1][0] == "done"
    mid_import = [
        (stage, done, total) for stage, done, total in changes if stage == "saving" and done < total
    ]
    assert mid_import, "progress written inside the import's transaction reached the page before it ended"
    stages = [stage for stage, _, _ in changes]
    assert stages.index("reading") < stages.index("saving") < stages.index("done")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_written_inside_the_import_transaction_is_seen_at_once_on_postgresql():
    run = _run(stage="reading")
    seen = {}

    def look() -> None:
        try:
            seen["row"] = ImportRun.objects.values_list("stage", "done", "total").get(pk=run.pk)
        finally:
            connection.close()

    with transaction.atomic(), ProgressRecorder(run.pk) as progress:  # the import's transaction
        Patient.objects.create(mrn="LOCKED", first_name="A", last_name="B", date_of_birth="2019-01-01")
        progress("saving", 10, 100)
        other = threading.Thread(target=look)
        other.start()
        other.join(timeout=10)
    assert seen["row"] == ("saving", 10, 100)


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_import_transaction_on_sqlite_is_skipped_rather_than_locked():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single writer")
    run = _run(stage="reading")
    with transaction.atomic(), ProgressRecorder(run.pk) as progress:
        progress("saving", 10, 100)  # a second connection would wait for this transaction's lock
    run.refresh_from_db()
    assert (run.stage, run.done) == ("reading", 0)


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_at_each_stage_and_at_most_twice_a_second():
    run = _run(stage="reading")
    clock = [0.0]
    progress = ProgressRecorder(run.pk, clock=lambda: clock[0])
    written = []
    for at, stage, done, total in [
        (0.0, "reading", 0, 100),
        (0.1, "reading", 40, 100),  # too soon
        (0.6, "reading", 90, 100),
        (0.7, "saving", 0, 100),  # a new stage: at once
        (0.8, "saving", 50, 100),  # too soon
        (0.9, "checking", 60, 100),  # a stage the page does not know: counted as the current one
        (1.3, "saving", 100, 100),
    ]:
        clock[0] = at
        progress(stage, done, total)
        run.refresh_from_db()
        written.append((run.stage, run.done))
    assert written == [
        ("reading", 0),
        ("reading", 0),
        ("reading", 90),
        ("saving", 0),
        ("saving", 0),
        ("saving", 0),
        ("saving", 100),
    ]
    ImportRun.objects.filter(pk=run.pk).update(stage="failed")
    clock[0] = 5.0
    progress("saving", 100, 100)
    run.refresh_from_db()
    assert run.stage == "failed", "a run ended by someone else stays ended"


# ---------------------------------------------------------------- the task itself


@pytest.mark.django_db
def test_a_run_is_run_once(uploads):
    run = services.import_run_start(upload=_patients_csv(2), by=admin_user())  # not run: not committed
    assert tasks.run_import.call(run.pk) == "done"
    assert tasks.run_import.call(run.pk) == "not queued"
    assert AuditEvent.objects.filter(action="import_finished").count() == 1


@pytest.mark.django_db
def test_a_run_whose_file_is_gone_fails_and_says_why(uploads):
    run = services.import_run_start(upload=_patients_csv(2), by=admin_user())
    for path in _waiting(uploads):
        path.unlink()
    assert tasks.run_import.call(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.stage, run.error) == ("failed", tasks.FILE_GONE)


@pytest.mark.django_db
def test_many_rejected_rows_keep_the_first_thousand_and_the_count(uploads):
    rows = "".join(f"R{i:05},Kid{i},Quill,not a date,F,,Ada,Quill,mother,,,en\n" for i in range(1200))
    upload = SimpleUploadedFile("bad.csv", (HEADER + rows).encode(), content_type="text/csv")
    run = services.import_run_start(upload=upload, by=admin_user())
    tasks.run_import.call(run.pk)
    run.refresh_from_db()
    assert run.report["problem_count"] == 1200 and len(run.report["problems"]) == 1000


# ---------------------------------------------------------------- files nobody will import


@pytest.mark.django_db
def test_the_prune_deletes_every_file_nobody_will_import_and_keeps_the_rest(uploads):
    admin = admin_user()
    now = timezone.now()
    old, recent = now - timedelta(hours=2), now - timedelta(minutes=10)
    unconfirmed = _run(stage="done", token=_file(), at=old, by=admin)
    fresh = _run(stage="done", token=_file(), at=recent, by=admin)
    stuck = _run(stage="saving", token=_file(), at=old, by=admin, dry_run=False)
    never_taken = _run(stage="queued", token=_file(), at=old, by=admin, dry_run=False)
    unknown, unknown_recent = _file(), _file()
    _age(uploads, unknown, old)

    pruned = services.import_uploads_prune(now=now)

    print(pruned)
    assert (sorted(pruned.previews), sorted(pruned.stopped)) == ([unconfirmed.pk], [stuck.pk, never_taken.pk])
    assert pruned.unknown_files == 1
    left = {path.name.removesuffix(".upload") for path in _waiting(uploads)}
    assert left == {fresh.upload_token, unknown_recent}
    for run in (unconfirmed, stuck, never_taken):
        run.refresh_from_db()
        assert run.upload_token == ""
    assert (stuck.stage, stuck.error) == ("failed", services.STOPPED_RUNNING)
    assert (never_taken.stage, never_taken.error) == ("failed", services.STOPPED_QUEUED)
    assert unconfirmed.stage == "done"
    discarded = AuditEvent.objects.filter(action="import_discarded")
    assert sorted(e.details["run"] for e in discarded) == sorted([unconfirmed.pk, stuck.pk, never_taken.pk])


@pytest.mark.django_db
def test_prune_import_uploads_command(uploads, capsys):
    _run(stage="done", token=_file(), at=timezone.now() - timedelta(hours=2), by=admin_user())
    call_command("prune_import_uploads")
    out = capsys.readouterr().out
    print(out)
    assert "deleted the files of 1 unconfirmed previews" in out
    assert _waiting(uploads) == []


def _run(*, stage: str, token: str = "", at=None, by=None, dry_run: bool = True) -> ImportRun:
    at = at or timezone.now()
    return ImportRun.objects.create(
        started_by=by or admin_user(),
        file_name="patients.csv",
        dry_run=dry_run,
        upload_token=token,
        stage=stage,
        created_at=at,
        updated_at=at,
        finished_at=at if stage == "done" else None,
    )


def _file() -> str:
    return upload_save(SimpleUploadedFile("x.csv", HEADER.encode()))


def _age(uploads: Path, token: str, when) -> None:
    os.utime(uploads / f"{token}.upload", (when.timestamp(), when.timestamp()))
