"""The preview's reading of an upload, kept for its confirmation: the import the admin confirms saves the
records the preview read instead of reading the file again (reading was about half of an import: 8 s of
a 100,000-patient FHIR export's RelatedPerson file, against ~0.5 s to load what was kept).

The reading is kept beside the upload (`settings.IMPORT_UPLOAD_DIR`, 0600) as a pickle, signed with the
site's secret so that only what this site wrote is ever unpickled, with the day it was read on (a file
read says what has ended "today") and the upload's size and time of change. Anything unusable (gone,
not signed by this site, read on another day, or of a file changed since) is ignored and the file read
again.
"""

import hmac
import pickle
from datetime import date

from django.utils.crypto import salted_hmac

from patients.bulk_insert import gc_paused
from patients.importing.records import Batch
from registration.ehr_import.uploads import beside_path, upload_path

_SALT = "registration.ehr_import.kept_reads"


def read_keep(token: str, batch: Batch, *, day: date) -> None:
    """Keep the batch read from the upload `token` on `day`, for the import its preview may lead to."""
    with gc_paused():
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    stamp = _stamp(token, day)
    path, temporary = beside_path(token, ".read"), beside_path(token, ".partial")
    temporary.touch(mode=0o600)
    temporary.write_bytes(_signature(stamp, data) + b"\n" + stamp + b"\n" + data)
    temporary.replace(path)  # whole or absent: a reader never finds half a file


def read_kept(token: str, *, day: date) -> Batch | None:
    """The batch kept for the upload `token` if it was read on `day` and is as this site wrote it."""
    try:
        signature, stamp, data = beside_path(token, ".read").read_bytes().split(b"\n", 2)
    except (FileNotFoundError, ValueError):
        return None
    if not hmac.compare_digest(signature, _signature(stamp, data)) or stamp != _stamp(token, day):
        return None
    with gc_paused():
        batch = pickle.loads(data)  # noqa: S301 (signed above with the site's secret)
    return batch if isinstance(batch, Batch) else None


def _stamp(token: str, day: date) -> bytes:
    """The day of the reading, and the upload as it was then: a file changed since is read again."""
    upload = upload_path(token).stat()
    return f"{day.isoformat()} {upload.st_size} {upload.st_mtime_ns}".encode()


def _signature(stamp: bytes, data: bytes) -> bytes:
    return salted_hmac(_SALT, stamp + b"\n" + data, algorithm="sha256").hexdigest().encode()
