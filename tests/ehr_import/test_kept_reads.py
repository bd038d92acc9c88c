"""The preview's reading kept for the confirmed import: used when it is this site's, of this file, from
today; read again otherwise, and never unpickled unless this site signed it."""

import os
import pickle
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from patients.importing import file_read
from patients.models import Patient
from registration.ehr_import import services, tasks
from registration.ehr_import.kept_reads import read_keep, read_kept
from registration.ehr_import.uploads import beside_path, upload_path, upload_save
from registration.models import ImportRun
from tests.factories import admin_user

HEADER = (
    "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
    "contact_last_name,relationship,email,cell_phone,preferred_language\n"
)
ROWS = "".join(
    f"K{i:03},Kid{i},Núñez{i},2019-04-17,F,,Ana{i},Núñez{i},mother,ana{i}@example.org,,es\n" for i in range(5)
)


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path) -> Path:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def _upload(text: str = HEADER + ROWS) -> str:
    return upload_save(SimpleUploadedFile("patients.csv", text.encode(), content_type="text/csv"))


def _read(token: str):
    with upload_path(token).open("rb") as file:
        return file_read(file, name="patients.csv")


class _Exploit:
    """What an attacker who could write the upload folder would plant: code run on unpickling."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_reading_is_used_the_same_day_for_the_same_file():
    token, today = _upload(), timezone.localdate()
    read_keep(token, _read(token), day=today)
    kept = read_kept(token, day=today)
    assert [p.mrn for p in kept.patients] == [f"K{i:03}" for i in range(5)]
    assert kept.patients[0].last_name == "Núñez0"
    assert oct(beside_path(token, ".read").stat().st_mode & 0o777) == "0o600"


def test_a_reading_from_another_day_or_of_a_changed_file_is_not_used():
    token, today = _upload(), timezone.localdate()
    read_keep(token, _read(token), day=today)
    assert read_kept(token, day=today + timedelta(days=1)) is None, "what has ended depends on the day"
    upload_path(token).write_bytes((HEADER + ROWS + ROWS).encode())
    assert read_kept(token, day=today) is None, "the file changed since its preview"


def test_a_reading_this_site_did_not_sign_is_never_unpickled(tmp_path, settings):
    token, today = _upload(), timezone.localdate()
    read_keep(token, _read(token), day=today)
    signature, stamp, _ = beside_path(token, ".read").read_bytes().split(b"\n", 2)
    marker = tmp_path / "exploited"
    # The kept file's own signature and stamp, over other bytes: an attacker's pickle.
    planted = signature + b"\n" + stamp + b"\n" + pickle.dumps(_Exploit(marker))
    beside_path(token, ".read").write_bytes(planted)
    assert read_kept(token, day=today) is None
    # Signed with another site's secret.
    settings.SECRET_KEY = "another-site-" + "y" * 50
    read_keep(token, _read(token), day=today)
    settings.SECRET_KEY = "this-site-" + "z" * 50
    assert read_kept(token, day=today) is None
    assert not marker.exists()
    for garbage in (b"", b"no lines", b"a\nb"):
        beside_path(token, ".read").write_bytes(garbage)
        assert read_kept(token, day=today) is None


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The names of the files the worker reads (the reader is still run)."""
    names = []

    def counted(*args, **kwargs):
        names.append(kwargs["name"])
        return file_read(*args, **kwargs)

    monkeypatch.setattr(tasks, "file_read", counted)
    return names


def _previewed(admin) -> ImportRun:
    upload = SimpleUploadedFile("patients.csv", (HEADER + ROWS).encode(), content_type="text/csv")
    preview = services.import_run_start(upload=upload, by=admin)
    assert tasks.run_import.call(preview.pk) == "done"
    return preview


@pytest.mark.django_db
def test_the_confirmed_import_saves_what_its_preview_read(reads, uploads):
    """The preview reads the file; its confirmation saves that reading, and reads nothing."""
    admin = admin_user()
    preview = _previewed(admin)
    assert reads == ["patients.csv"] and not Patient.objects.exists()

    real = services.import_run_confirm(preview_id=preview.pk, by=admin)
    assert tasks.run_import.call(real.pk) == "done"
    print("files read:", reads)
    assert reads == ["patients.csv"], "the confirmation used the preview's reading"
    assert Patient.objects.filter(mrn__startswith="K").count() == 5
    real.refresh_from_db()
    assert dict(real.report["counts"])["patients"]["created"] == 5 and real.upload_token == ""
    assert not any(uploads.iterdir()), "the file and its reading deleted"
    assert ImportRun.objects.get(pk=preview.pk).report["counts"] == real.report["counts"]


@pytest.mark.django_db
def test_a_confirmed_import_reads_the_file_again_when_its_reading_is_unusable(reads):
    admin = admin_user()
    preview = _previewed(admin)
    beside_path(preview.upload_token, ".read").write_bytes(b"tampered\nwith\nthis")
    real = services.import_run_confirm(preview_id=preview.pk, by=admin)
    assert tasks.run_import.call(real.pk) == "done"
    assert reads == ["patients.csv", "patients.csv"]
    assert Patient.objects.filter(mrn__startswith="K").count() == 5
