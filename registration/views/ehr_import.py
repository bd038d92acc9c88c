"""Admin-only: load the EHR's patients, family contacts and appointments from a file (issue 7).

Upload, read the dry run's report (what would be created, updated, left alone or rejected, and why),
then confirm. Between the two steps the file waits under `settings.IMPORT_UPLOAD_DIR` by a random
name that only the uploader's session knows; it is deleted once imported.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import practice_admin_required
from patients.importing import ImportFileError, import_file
from registration.forms import ImportUploadForm

PENDING = "ehr_import_pending"  # session key: the waiting file's token and name


@practice_admin_required
def ehr_import(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        _discard_pending(request)
        token = secrets.token_urlsafe(24)
        path = _upload_path(token)
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            with path.open("rb") as file:
                report = import_file(file, name=upload.name, dry_run=True, by=request.user)
        except ImportFileError as error:
            path.unlink(missing_ok=True)
            form.add_error("file", str(error))
        else:
            request.session[PENDING] = {"token": token, "name": upload.name}
            return render(request, "staff/import_preview.html", {"report": report, "name": upload.name})
    return render(request, "staff/import.html", {"form": form})


@require_POST
@practice_admin_required
def ehr_import_confirm(request):
    pending = request.session.pop(PENDING, None)
    path = _upload_path(pending["token"]) if pending else None
    if path is None or not path.exists():
        messages.error(request, "Nothing is waiting to be imported: choose the file again.")
        return redirect("staff:import")
    try:
        with path.open("rb") as file:
            report = import_file(file, name=pending["name"], dry_run=False, by=request.user)
    except ImportFileError as error:
        messages.error(request, str(error))
        return redirect("staff:import")
    finally:
        path.unlink(missing_ok=True)
    return render(request, "staff/import_done.html", {"report": report, "name": pending["name"]})


def _upload_path(token: str) -> Path:
    folder = Path(settings.IMPORT_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{token}.upload"


def _discard_pending(request) -> None:
    """A new upload replaces one previewed but never confirmed."""
    pending = request.session.pop(PENDING, None)
    if pending:
        _upload_path(pending["token"]).unlink(missing_ok=True)
