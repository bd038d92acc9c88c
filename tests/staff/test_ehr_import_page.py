"""The admin's EHR import page: upload, preview the dry run, confirm; for practice admins only."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from patients.models import FamilyContact, Patient
from tests.factories import PatientFactory, StaffFactory, admin_user

pytestmark = pytest.mark.django_db

HEADER = (
    "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
    "contact_last_name,relationship,email,cell_phone,preferred_language\n"
)
GOOD = "EHR001,Nora,Quill,2019-04-17,F,,Ada,Quill,mother,ada.quill@example.org,(202) 555-0143,en\n"
BAD_DATE = "EHR002,Otto,Quill,17th of April,M,,Ada,Quill,mother,ada.quill@example.org,,en\n"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def _csv(text: str, name: str = "patients.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + text).encode(), content_type="text/csv")


@pytest.fixture
def admin(client):
    client.force_login(admin_user())
    return client


def test_preview_saves_nothing_and_confirm_imports_what_it_showed(admin, uploads: Path):
    preview = admin.post(reverse("staff:import"), {"file": _csv(GOOD + BAD_DATE)})
    page = preview.content.decode()
    print(page[page.find("<table") : page.find("</table>")])

    assert preview.templates[0].name == "staff/import_preview.html"
    report = preview.context["report"]
    assert report.dry_run and report.counts["patients"]["created"] == 1
    assert [p.position for p in report.problems] == ["line 3"]
    assert "Line 3" in page and "Nothing has been saved yet" in page
    assert not Patient.objects.filter(mrn__in=["EHR001", "EHR002"]).exists()
    assert len(list(uploads.iterdir())) == 1  # waiting for the confirmation

    done = admin.post(reverse("staff:import-confirm"))
    assert done.templates[0].name == "staff/import_done.html"
    assert done.context["report"].counts["patients"]["created"] == 1
    patient = Patient.objects.get(mrn="EHR001")
    assert patient.contacts.get().email == "ada.quill@example.org"
    assert not Patient.objects.filter(mrn="EHR002").exists()
    assert list(uploads.iterdir()) == [], "the file is deleted once imported"


def test_confirming_twice_imports_once(admin):
    admin.post(reverse("staff:import"), {"file": _csv(GOOD)})
    admin.post(reverse("staff:import-confirm"))
    again = admin.post(reverse("staff:import-confirm"))

    assert again.status_code == 302 and again["Location"] == reverse("staff:import")
    assert Patient.objects.filter(mrn="EHR001").count() == 1
    assert FamilyContact.objects.filter(email="ada.quill@example.org").count() == 1


def test_a_file_of_the_wrong_kind_gets_one_clear_message_and_nothing_waits(admin, uploads: Path):
    PatientFactory(mrn="EHR001")
    wrong = SimpleUploadedFile("notes.csv", b"when,what\n2026-01-01,flu shot\n", content_type="text/csv")
    response = admin.post(reverse("staff:import"), {"file": wrong})

    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    print("wrong kind:", errors)
    assert len(errors) == 1
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_only_csv_json_and_ndjson_files_are_taken(admin):
    response = admin.post(
        reverse("staff:import"), {"file": SimpleUploadedFile("export.xlsx", b"PK\x03\x04", content_type="x")}
    )
    assert response.context["form"].errors["file"] == ["Choose a .csv, .json or .ndjson file."]


def test_another_admins_session_cannot_confirm_a_file_it_did_not_upload(admin):
    admin.post(reverse("staff:import"), {"file": _csv(GOOD)})
    other = Client()
    other.force_login(admin_user())
    response = other.post(reverse("staff:import-confirm"))

    assert response.status_code == 302
    assert not Patient.objects.filter(mrn="EHR001").exists()


def test_front_desk_cannot_import(client):
    client.force_login(StaffFactory())
    assert client.get(reverse("staff:import")).status_code == 403
    assert client.post(reverse("staff:import"), {"file": _csv(GOOD)}).status_code == 403
    assert client.post(reverse("staff:import-confirm")).status_code == 403
    assert not Patient.objects.filter(mrn="EHR001").exists()
