"""The admin's EHR import page: upload, the task worker's dry run with its progress, the preview,
confirm, the real import; for the practice admin who started it only.

The test settings' task backend is the immediate one: the run starts when the upload's transaction
commits (`django_capture_on_commit_callbacks(execute=True)` here). The database queue and its worker are
in tests/ehr_import/test_import_runs.py.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from patients.models import FamilyContact, Patient
from registration.models import AuditEvent, ImportRun
from tests.factories import PatientFactory, StaffFactory, admin_user

pytestmark = pytest.mark.django_db

HEADER = (
    "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
    "contact_last_name,relationship,email,cell_phone,preferred_language\n"
)
GOOD = "EHR001,Nora,Quill,2019-04-17,F,,Ada,Quill,mother,ada.quill@example.org,(202) 555-0143,en\n"
BAD_DATE = "EHR002,Otto,Quill,17th of April,M,,Ada,Quill,mother,ada.quill@example.org,,en\n"
WRONG_KIND = b"when,what\n2026-01-01,flu shot\n"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def _csv(text: str, name: str = "patients.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + text).encode(), content_type="text/csv")


def _waiting(uploads: Path) -> list[Path]:
    return sorted(uploads.iterdir()) if uploads.exists() else []


@pytest.fixture
def admin(client):
    client.force_login(admin_user())
    return client


@pytest.fixture
def post_and_run(django_capture_on_commit_callbacks):
    """POST as `client` and let the task worker run what the request queued; return the page the
    redirect leads to."""

    def post(client: Client, url: str, data: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data or {})
        assert response.status_code == 302, response.content.decode()[:500]
        return client.get(response["Location"])

    return post


def test_preview_saves_nothing_and_confirm_imports_what_it_showed(admin, uploads: Path, post_and_run):
    preview = post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD + BAD_DATE)})
    page = preview.content.decode()
    print(page[page.find("<table") : page.find("</table>")])

    assert preview.templates[0].name == "staff/import_preview.html"
    report = preview.context["report"]
    assert report.dry_run and report.counts["patients"]["created"] == 1
    assert [p.position for p in report.problems] == ["line 3"]
    assert "Line 3" in page and "Nothing has been saved yet" in page and "Import these records" in page
    assert not Patient.objects.filter(mrn__in=["EHR001", "EHR002"]).exists()
    # Waiting for the confirmation: the file, and what the preview read of it.
    assert [path.suffix for path in _waiting(uploads)] == [".read", ".upload"]
    dry_run = ImportRun.objects.get()
    assert (dry_run.dry_run, dry_run.stage, dry_run.report["problem_count"]) == (True, "done", 1)

    done = post_and_run(admin, reverse("staff:import-confirm", args=[dry_run.pk]))
    assert done.templates[0].name == "staff/import_done.html"
    assert done.context["report"].counts["patients"]["created"] == 1
    patient = Patient.objects.get(mrn="EHR001")
    assert patient.contacts.get().email == "ada.quill@example.org"
    assert not Patient.objects.filter(mrn="EHR002").exists()
    assert _waiting(uploads) == [], "the file is deleted once imported"
    real = ImportRun.objects.get(dry_run=False)
    assert (real.preview_id, real.stage, real.upload_token) == (dry_run.pk, "done", "")
    trail = list(AuditEvent.objects.filter(action__startswith="import_").order_by("pk"))
    print([(e.action, e.details) for e in trail])
    assert [(e.action, e.details["dry_run"]) for e in trail] == [
        ("import_started", True),
        ("import_finished", True),
        ("import_started", False),
        ("import_finished", False),
    ]
    assert {e.actor_id for e in trail} == {real.started_by_id}


def test_confirming_twice_imports_once(admin, post_and_run):
    post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)})
    preview = ImportRun.objects.get()
    first = post_and_run(admin, reverse("staff:import-confirm", args=[preview.pk]))
    again = post_and_run(admin, reverse("staff:import-confirm", args=[preview.pk]))

    assert again.request["PATH_INFO"] == first.request["PATH_INFO"]  # the same import's page
    preview_page = admin.get(reverse("staff:import-run", args=[preview.pk])).content.decode()
    assert "Import these records" not in preview_page
    assert f'href="{first.request["PATH_INFO"]}"' in preview_page  # "See the import of this file"
    assert ImportRun.objects.filter(dry_run=False).count() == 1
    assert Patient.objects.filter(mrn="EHR001").count() == 1
    assert FamilyContact.objects.filter(email="ada.quill@example.org").count() == 1


def test_a_file_of_the_wrong_kind_gets_one_clear_message_and_its_upload_is_deleted(
    admin, uploads: Path, post_and_run
):
    PatientFactory(mrn="EHR001")
    wrong = SimpleUploadedFile("notes.csv", WRONG_KIND, content_type="text/csv")
    response = post_and_run(admin, reverse("staff:import"), {"file": wrong})

    assert response.status_code == 200
    assert response.templates[0].name == "staff/import_failed.html"
    page = response.content.decode()
    alerts = page.count('role="alert"')
    run = ImportRun.objects.get()
    print("wrong kind:", run.error)
    assert alerts == 1 and escape(run.error) in page
    assert run.stage == "failed" and run.upload_token == ""
    assert _waiting(uploads) == []
    assert "Preview the import" in page  # choose another file from here


def test_only_csv_json_and_ndjson_files_are_taken(admin, uploads: Path):
    response = admin.post(
        reverse("staff:import"), {"file": SimpleUploadedFile("export.xlsx", b"PK\x03\x04", content_type="x")}
    )
    assert response.context["form"].errors["file"] == ["Choose a .csv, .json or .ndjson file."]
    assert not ImportRun.objects.exists() and _waiting(uploads) == []


def test_the_page_shows_the_progress_while_the_worker_runs(admin):
    """A queued run (nothing runs it here) and one part-way: the numbers, a <progress>, the script that
    polls, and a refresh for browsers without script."""
    response = admin.post(reverse("staff:import"), {"file": _csv(GOOD)})  # its task never runs
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("staff:import-run", args=[run.pk])

    queued = admin.get(response["Location"])
    assert queued.templates[0].name == "staff/import_progress.html"
    assert "Waiting for the task worker" in queued.content.decode()
    progress = admin.get(reverse("staff:import-progress", args=[run.pk])).json()
    assert progress == {
        "stage": "queued",
        "label": "Waiting for the task worker",
        "done": 0,
        "total": 0,
        "finished": False,
    }

    ImportRun.objects.filter(pk=run.pk).update(stage="saving", done=1234, total=15000)
    page = admin.get(response["Location"]).content.decode()
    print(
        page[
            page.find('<div class="card import-progress"') : page.find("</div>", page.find("import-progress"))
        ]
    )
    assert 'max="15000" value="1234"' in page
    assert "1,234 of 15,000 records" in page
    assert "Comparing with the records already here" in page  # a dry run saves nothing
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert 'src="/static/js/import_progress.js"' in page and "<script>" not in page
    assert admin.get(reverse("staff:import-progress", args=[run.pk])).json()["done"] == 1234


def test_another_admins_run_is_not_found(admin, post_and_run):
    post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)})
    preview = ImportRun.objects.get()
    other = Client()
    other.force_login(admin_user())

    assert other.get(reverse("staff:import-run", args=[preview.pk])).status_code == 404
    assert other.get(reverse("staff:import-progress", args=[preview.pk])).status_code == 404
    assert other.post(reverse("staff:import-confirm", args=[preview.pk])).status_code == 404
    assert b"patients.csv" not in other.get(reverse("staff:import")).content  # not among their runs
    assert not Patient.objects.filter(mrn="EHR001").exists()
    assert admin.get(reverse("staff:import-run", args=[preview.pk])).status_code == 200


def test_front_desk_cannot_import(client, post_and_run, uploads: Path):
    client.force_login(StaffFactory())
    run = ImportRun.objects.create(
        started_by=admin_user(),
        file_name="x.csv",
        dry_run=True,
        created_at="2026-01-01T00:00Z",
        updated_at="2026-01-01T00:00Z",
    )
    assert client.get(reverse("staff:import")).status_code == 403
    assert client.post(reverse("staff:import"), {"file": _csv(GOOD)}).status_code == 403
    for name in ("staff:import-run", "staff:import-progress"):
        assert client.get(reverse(name, args=[run.pk])).status_code == 403
    assert client.post(reverse("staff:import-confirm", args=[run.pk])).status_code == 403
    assert not Patient.objects.filter(mrn="EHR001").exists()
    assert ImportRun.objects.count() == 1 and _waiting(uploads) == []


def test_a_new_upload_replaces_the_preview_waiting(admin, uploads: Path, post_and_run):
    post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD, name="first.csv")})
    first = ImportRun.objects.get()
    post_and_run(admin, reverse("staff:import"), {"file": _csv(BAD_DATE, name="second.csv")})

    assert len({path.stem for path in _waiting(uploads)}) == 1, "only the newer file waits"
    first.refresh_from_db()
    assert first.upload_token == "" and first.stage == "done"
    old_page = admin.get(reverse("staff:import-run", args=[first.pk])).content.decode()
    assert "no longer waiting" in old_page and "Import these records" not in old_page
    refused = admin.post(reverse("staff:import-confirm", args=[first.pk]), follow=True)
    assert "choose it again" in refused.content.decode()
    assert not ImportRun.objects.filter(dry_run=False).exists()
    assert AuditEvent.objects.filter(action="import_discarded", details__run=first.pk).count() == 1
    recent = admin.get(reverse("staff:import")).content.decode()
    assert recent.index("second.csv") < recent.index("first.csv")  # newest first


def test_a_real_import_that_fails_deletes_the_upload_and_saves_nothing(admin, uploads: Path, post_and_run):
    """The file changed on disk between the preview and the confirmation: the import refuses it."""
    post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)})
    preview = ImportRun.objects.get()
    [waiting] = [path for path in _waiting(uploads) if path.suffix == ".upload"]
    waiting.write_bytes(WRONG_KIND)  # and so what the preview read of it is not used

    failed = post_and_run(admin, reverse("staff:import-confirm", args=[preview.pk]))
    assert failed.templates[0].name == "staff/import_failed.html"
    assert "could not be imported" in failed.content.decode()
    assert _waiting(uploads) == []
    assert not Patient.objects.filter(mrn="EHR001").exists()
    finished = AuditEvent.objects.filter(action="import_finished").order_by("pk").last()
    assert finished.details["stage"] == "failed" and not finished.details["dry_run"]


def test_an_unexpected_error_in_the_import_deletes_the_upload_and_says_so(
    admin, uploads: Path, post_and_run, monkeypatch, caplog
):
    """A bug in the reader stands in for any error the import does not expect."""

    def broken(*args, **kwargs):
        raise KeyError("resourceType")

    monkeypatch.setattr("registration.ehr_import.tasks.file_read", broken)
    page = post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)})

    assert page.templates[0].name == "staff/import_failed.html"
    assert "unexpected error" in page.content.decode() and "KeyError" not in page.content.decode()
    assert _waiting(uploads) == []
    assert "import run" in caplog.text  # the traceback is in the worker's log


# ---------------------------------------------------------------- help, templates, nothing to import


TEMPLATES = Path(settings.BASE_DIR) / "static" / "import"


def test_the_help_is_a_page_of_the_app_with_templates_to_download(admin):
    import_page = admin.get(reverse("staff:import")).content.decode()
    help_page = admin.get(reverse("staff:import-help")).content.decode()

    assert "docs/" not in import_page and "docs/" not in help_page  # files an admin cannot open
    assert f'href="{reverse("staff:import-help")}"' in import_page
    for name in ("patients-template.csv", "appointments-template.csv"):
        assert f'href="/static/import/{name}" download="{name}"' in import_page
        assert f'href="/static/import/{name}" download="{name}"' in help_page
    for column in ("patient_first_name", "preferred_language", "appointment_id", "starts_at"):
        assert f"<code>{column}</code>" in help_page


def test_the_templates_import_cleanly_patients_first(admin, post_and_run):
    for name, kind in [("patients-template.csv", "patients"), ("appointments-template.csv", "appointments")]:
        upload = SimpleUploadedFile(name, (TEMPLATES / name).read_bytes(), content_type="text/csv")
        preview = post_and_run(admin, reverse("staff:import"), {"file": upload})
        report = preview.context["report"]
        assert (report.problem_count, report.warning_count) == (0, 0), report.problems + report.warnings
        assert report.counts[kind]["created"] >= 3
        post_and_run(admin, reverse("staff:import-confirm", args=[ImportRun.objects.latest("pk").pk]))
    assert Patient.objects.get(mrn="100231").contacts.count() == 2  # one row per child and parent


def test_an_empty_submission_is_refused_with_a_clear_message(admin):
    response = admin.post(reverse("staff:import"), {})
    assert response.context["form"].errors["file"] == ["Choose the file to import first."]
    assert not ImportRun.objects.exists()
    page = admin.get(reverse("staff:import")).content.decode()
    assert 'src="/static/js/import_upload.js"' in page  # keeps the button disabled until a file is chosen


def test_a_preview_that_would_change_nothing_says_why_and_offers_no_import(admin, post_and_run):
    post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)})
    post_and_run(admin, reverse("staff:import-confirm", args=[ImportRun.objects.get().pk]))

    again = post_and_run(admin, reverse("staff:import"), {"file": _csv(GOOD)}).content.decode()
    assert "Nothing to import: every record in this file is here already, unchanged." in again
    assert "Import these records" not in again
    preview = ImportRun.objects.latest("pk")
    refused = admin.post(reverse("staff:import-confirm", args=[preview.pk]), follow=True)
    assert "Importing this file would change nothing" in refused.content.decode()
    assert ImportRun.objects.filter(dry_run=False).count() == 1

    rejected = post_and_run(admin, reverse("staff:import"), {"file": _csv(BAD_DATE)}).content.decode()
    assert "Nothing can be imported: every record in this file was rejected" in rejected
    assert "Import these records" not in rejected
