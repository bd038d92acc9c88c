"""`manage.py import_ehr` reads the next file of an export while it saves the one before."""

import gc
import shutil
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from patients.models import FamilyContact, Patient
from registration.management.commands import import_ehr

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"

pytestmark = pytest.mark.django_db


def test_the_next_file_is_read_while_this_one_is_saved_with_the_collector_off(tmp_path, monkeypatch, capsys):
    shutil.copy(SAMPLES / "athena_patients.ndjson", tmp_path)
    shutil.copy(SAMPLES / "athena_relatedpersons.ndjson", tmp_path)
    contacts_read = threading.Event()
    seen = []
    read, save = import_ehr.file_read, import_ehr.batch_import

    def reading(file, *, name):
        batch = read(file, name=name)
        seen.append(f"read {name} in {threading.current_thread().name.split('_')[0]}")
        if "related" in name:
            contacts_read.set()
        return batch

    def saving(batch, *, name, **kwargs):
        if "patients" in name:
            # Saved only once the next file is read: without reading ahead this waits in vain.
            seen.append(f"contacts read during the patients' save: {contacts_read.wait(timeout=10)}")
            seen.append(f"collector on during the save: {gc.isenabled()}")
        return save(batch, name=name, **kwargs)

    monkeypatch.setattr(import_ehr, "file_read", reading)
    monkeypatch.setattr(import_ehr, "batch_import", saving)
    call_command("import_ehr", str(tmp_path))
    print("\n".join(seen))
    assert seen == [
        "read athena_patients.ndjson in import-read",
        "read athena_relatedpersons.ndjson in import-read",
        "contacts read during the patients' save: True",
        "collector on during the save: False",
    ]
    assert Patient.objects.exists() and FamilyContact.objects.exists()
    assert "athena_relatedpersons.ndjson:" in capsys.readouterr().out
    assert gc.isenabled()
