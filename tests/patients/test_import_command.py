"""`manage.py import_ehr` reads an export's next file in a reader process while it saves the one before."""

import gc
import multiprocessing
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from patients.models import FamilyContact, Patient
from registration.management.commands import import_ehr

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"

pytestmark = pytest.mark.django_db


def test_the_next_file_is_read_by_another_process_while_this_one_is_saved_with_the_collector_off(
    tmp_path, monkeypatch, capsys
):
    shutil.copy(SAMPLES / "athena_patients.ndjson", tmp_path)
    shutil.copy(SAMPLES / "athena_relatedpersons.ndjson", tmp_path)
    seen = []
    read, save = import_ehr.file_read, import_ehr.batch_import

    def reading(file, *, name):  # replaced in this process only: the reader process has the real one
        seen.append(f"read {name} in this process")
        return read(file, name=name)

    def saving(batch, *, name, **kwargs):
        readers = len(multiprocessing.active_children())
        seen.append(f"saving {name}: {readers} reader process, collector on: {gc.isenabled()}")
        return save(batch, name=name, **kwargs)

    monkeypatch.setattr(import_ehr, "file_read", reading)
    monkeypatch.setattr(import_ehr, "batch_import", saving)
    call_command("import_ehr", str(tmp_path))
    print("\n".join(seen))
    assert seen == [
        "read athena_patients.ndjson in this process",
        "saving athena_patients.ndjson: 1 reader process, collector on: False",
        "saving athena_relatedpersons.ndjson: 1 reader process, collector on: False",
    ]
    assert Patient.objects.exists() and FamilyContact.objects.exists()
    assert "athena_relatedpersons.ndjson:" in capsys.readouterr().out
    assert gc.isenabled()
    assert not multiprocessing.active_children()  # the reader is gone with the command


def test_a_file_the_reader_process_cannot_read_is_reported_and_the_others_imported(tmp_path, capsys):
    shutil.copy(SAMPLES / "athena_patients.ndjson", tmp_path / "a_patients.ndjson")
    (tmp_path / "b_notes.csv").write_text("when,what\n2026-01-01,flu shot\n")
    shutil.copy(SAMPLES / "athena_relatedpersons.ndjson", tmp_path / "c_contacts.ndjson")

    with pytest.raises(Exception, match=r"b_notes\.csv") as unusable:
        call_command("import_ehr", str(tmp_path))

    assert unusable.value.returncode == 2
    captured = capsys.readouterr()
    assert "b_notes.csv: " in captured.err and "c_contacts.ndjson:" in captured.out
    assert FamilyContact.objects.exists()
