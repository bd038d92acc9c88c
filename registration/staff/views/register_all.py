"""Register all (path 2, a whole day at once): the confirmation page, then the run's progress and summary.

Confirming records a run that the task worker carries out (`registration.register_all`), so a long list
does not hold a request open; any staff member may watch it, as they share the appointment list.
"""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.roles import staff_member_required
from portalreg.proxies import client_address
from registration import selectors
from registration.register_all import selectors as runs
from registration.register_all.services import NothingToRegister, RegisterAllRunning, register_all_start
from registration.staff.forms import chosen_day


@staff_member_required
def register_all(request):
    """GET: who would get which message, and who is skipped and why (nothing changes). POST: start."""
    day = chosen_day(request)
    if request.method == "POST":
        try:
            run = register_all_start(day=day, by=request.user, client_address=client_address(request))
        except RegisterAllRunning as running:
            messages.info(request, str(running))
            run = running.run
        except NothingToRegister as nothing:
            messages.error(request, str(nothing))
            return redirect(f"{reverse('staff:register-all')}?day={day.isoformat()}")
        return redirect("staff:register-all-run", run.pk)
    if (running := runs.register_all_running(day)) is not None:
        return redirect("staff:register-all-run", running.pk)
    plan = runs.register_all_plan(selectors.appointment_rows_for_day(day))
    sending = [row for row in plan if row.sends]
    return render(
        request,
        "staff/register_all_confirm.html",
        {"day": day, "sending": sending, "skipped": [row for row in plan if not row.sends]},
    )


@staff_member_required
def register_all_run(request, pk: int):
    run = runs.register_all_run(pk)
    if run is None:
        raise Http404
    if not runs.register_all_ended(run):
        return render(request, "staff/register_all_progress.html", {"run": run})
    return render(request, "staff/register_all_done.html", {"summary": runs.register_all_summary(run)})


@staff_member_required
def register_all_progress(request, pk: int):
    """How far the run got, for the progress page's script."""
    run = runs.register_all_run(pk)
    if run is None:
        raise Http404
    return JsonResponse(
        {
            "stage": run.stage,
            "label": run.get_stage_display(),
            "done": run.done,
            "total": run.total,
            "finished": runs.register_all_ended(run),
        }
    )
