"""Where an uploaded EHR export waits: `settings.IMPORT_UPLOAD_DIR/<token>.upload`, readable by the
web workers and the task worker, and by no one else (the folder is 0700, each file 0600)."""

import os
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

SUFFIX = ".upload"
# Beside an upload, deleted with it: its preview's reading (kept_reads.py), and that being written.
BESIDE = (".read", ".partial")
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def upload_save(upload: UploadedFile) -> str:
    """Write the uploaded file where the task worker will read it; return its new random token."""
    token = secrets.token_urlsafe(24)
    descriptor = os.open(upload_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def upload_open(token: str):
    """Open a waiting upload for reading; FileNotFoundError if it is gone."""
    if not token:
        raise FileNotFoundError("no upload")
    return upload_path(token).open("rb")


def upload_exists(token: str) -> bool:
    return bool(token) and upload_path(token).exists()


def upload_delete(token: str) -> None:
    if token:
        for path in (upload_path(token), *(beside_path(token, suffix) for suffix in BESIDE)):
            path.unlink(missing_ok=True)


def beside_path(token: str, suffix: str) -> Path:
    """Where a file kept beside the upload `token` is (`suffix`: one of `BESIDE`)."""
    return upload_path(token).with_suffix(suffix)


def uploads_unknown(*, known: Iterable[str], older_than: datetime) -> list[str]:
    """Tokens of files in the folder that no run holds, last written before `older_than` (left by a
    web worker that stopped between writing the file and saving its run)."""
    known = set(known)
    cutoff = older_than.timestamp()
    unknown = set()
    for suffix in (SUFFIX, *BESIDE):
        for path in _folder().glob(f"*{suffix}"):
            token = path.name.removesuffix(suffix)
            if token not in known and TOKEN.fullmatch(token) and path.stat().st_mtime < cutoff:
                unknown.add(token)
    return sorted(unknown)


def _folder() -> Path:
    folder = Path(settings.IMPORT_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def upload_path(token: str) -> Path:
    """Where the upload `token` waits."""
    # Tokens are ours (token_urlsafe), but a path is never built from anything else.
    if not TOKEN.fullmatch(token):
        raise ValueError("not an upload token")
    return _folder() / f"{token}{SUFFIX}"
