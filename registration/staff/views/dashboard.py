"""The dashboard: a day's appointment list (path 2) and how many self-registrations wait (path 4); the
statistics page; and the self-registration requests, the queue first."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from accounts.roles import staff_member_required
from registration import selectors
from registration.models import RegistrationPath
from registration.register_all import selectors as register_all_runs
from registration.staff import rows
from registration.staff.forms import RequestStageForm, chosen_day
from registration.staff.paging import page_of
from registration.statistics.charts import weekly_bars
from registration.statistics.snapshots import statistics_latest


@staff_member_required
def dashboard(request):
    now = timezone.now()
    day = chosen_day(request)
    appointments = selectors.appointment_rows_for_day(day, now=now)
    return render(
        request,
        "staff/dashboard.html",
        {
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "appointments": rows.appointment_rows(appointments, day),
            "register_all": _register_all_button(appointments, day),
            # One line above the list, not the queue beside it: the list keeps the width of a tablet.
            "awaiting_count": selectors.self_registrations_awaiting_count(),
        },
    )


@staff_member_required
def statistics(request):
    statistics = statistics_latest()
    return render(
        request,
        "staff/statistics.html",
        {
            "statistics": statistics,
            "counts": statistics.counts,
            "requests": selectors.self_registration_counts(),
            "chart": weekly_bars(statistics.weekly),
            "by_path": _totals_by_path(statistics.weekly),
        },
    )


@staff_member_required
def self_registrations(request):
    """Parents' own sign-ups by stage, a page at a time: by default the queue staff work through."""
    queue = selectors.RequestStage.AWAITING
    # No `stage` at all is the queue; an empty one, every request.
    form = RequestStageForm(request.GET if "stage" in request.GET else {"stage": queue})
    stage = form.cleaned_data["stage"] if form.is_valid() else queue
    return render(
        request,
        "staff/self_registrations.html",
        {
            "form": form,
            "stage": stage,
            "page": page_of(request, selectors.self_registrations_in_stage(stage)),
        },
    )


def _totals_by_path(weekly) -> list[tuple[str, int]]:
    """Portal access granted over the chart's weeks, per path, most used first."""
    totals: dict[str, int] = {}
    for _, by_path in weekly:
        for path, n in by_path.items():
            totals[path] = totals.get(path, 0) + n
    return sorted(
        ((RegistrationPath(path).label, n) for path, n in totals.items()), key=lambda item: -item[1]
    )


def _register_all_button(rows: list[dict], day) -> dict:
    """What the Register all button says: how many qualify, or why none does, or the run going on."""
    count = register_all_runs.register_all_count(rows)
    return {
        "count": count.sends,
        "not_registered": count.not_registered,
        "running": register_all_runs.register_all_running(day),
    }
