"""Admin-only: load the EHR's patients, family contacts and appointments from a file (issues 7 and 11).

Upload, watch the task worker check the file, read the dry run's report (what would be created,
updated, left alone or rejected, and why), then confirm and watch the real import. The work is done
by the task worker (`registration.ehr_import`), so a large export does not time out a request. A run
is shown only to the admin who started it: its file is theirs to confirm, as when it waited in their
session; another admin gets 404, as for a run that does not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import practice_admin_required
from portalreg.proxies import client_address
from registration.ehr_import import selectors, services
from registration.models import ImportRun
from registration.staff.forms import ImportUploadForm


@practice_admin_required
def ehr_import(request):
    # Bound on every POST: a POST with no file at all (only the CSRF token) still gets its error.
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    if form.is_bound and form.is_valid():
        run = services.import_run_start(
            upload=form.cleaned_data["file"], by=request.user, client_address=client_address(request)
        )
        return redirect("staff:import-run", run.pk)
    context = {
        "form": form,
        "recent": selectors.import_runs_recent(user=request.user),
        "wait_minutes": settings.IMPORT_UPLOAD_MAX_AGE // 60,
    }
    return render(request, "staff/import.html", context)


@practice_admin_required
def import_help(request):
    """What the import file can be, for a practice admin, with templates to download."""
    return render(request, "staff/import_help.html", {"max_megabytes": ImportUploadForm().max_megabytes})


@practice_admin_required
def import_run(request, pk: int):
    page = selectors.import_run_page(user=request.user, run_id=pk)
    if page is None:
        raise Http404
    run = page.run
    if run.stage == ImportRun.Stage.FAILED:
        return render(request, "staff/import_failed.html", {"page": page, "form": ImportUploadForm()})
    if run.stage != ImportRun.Stage.DONE:
        return render(request, "staff/import_progress.html", {"page": page})
    template = "staff/import_preview.html" if run.dry_run else "staff/import_done.html"
    return render(request, template, {"page": page, "report": page.report, "name": run.file_name})


@practice_admin_required
def import_run_progress(request, pk: int):
    """How far the run got, for the progress page's script."""
    run = selectors.import_run_of(user=request.user, run_id=pk)
    if run is None:
        raise Http404
    return JsonResponse(
        {
            "stage": run.stage,
            "label": selectors.stage_label(run),
            "done": run.done,
            "total": run.total,
            "finished": run.finished,
        }
    )


@require_POST
@practice_admin_required
def import_run_confirm(request, pk: int):
    if selectors.import_run_of(user=request.user, run_id=pk) is None:
        raise Http404
    try:
        run = services.import_run_confirm(
            preview_id=pk, by=request.user, client_address=client_address(request)
        )
    except services.ImportNotConfirmable as error:
        messages.error(request, str(error))
        return redirect("staff:import-run", pk)
    return redirect("staff:import-run", run.pk)
