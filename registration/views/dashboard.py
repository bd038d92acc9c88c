"""The dashboard: a day's appointment list (path 2), the funnel and waiting self-registrations (path 4);
and the statistics page."""

from collections import Counter
from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from registration import selectors, services
from registration.charts import weekly_bars
from registration.forms import DayForm
from registration.models import Path, PortalStatus, WelcomeMessage
from registration.snapshots import registration_statistics

from .common import client_address


def _chosen_day(request):
    form = DayForm(request.POST if request.method == "POST" else request.GET)
    day = form.cleaned_data.get("day") if form.is_valid() else None
    return day or timezone.localdate()


@staff_member_required
def dashboard(request):
    now = timezone.now()
    day = _chosen_day(request)
    return render(
        request,
        "staff/dashboard.html",
        {
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "appointments": selectors.appointment_rows_for_day(day, now=now),
            "counts": registration_statistics(now=now),
            "awaiting": selectors.self_registrations_awaiting(limit=25),
            "awaiting_count": selectors.self_registrations_awaiting_count(),
        },
    )


@staff_member_required
def statistics(request):
    counts = registration_statistics()
    return render(
        request,
        "staff/statistics.html",
        {
            "counts": counts,
            "awaiting_count": selectors.self_registrations_awaiting_count(),
            "chart": weekly_bars(counts.weekly),
            "by_path": _totals_by_path(counts.weekly),
        },
    )


def _totals_by_path(weekly) -> list[tuple[str, int]]:
    """Portal access granted over the chart's weeks, per path, most used first."""
    totals: dict[str, int] = {}
    for _, by_path in weekly:
        for path, n in by_path.items():
            totals[path] = totals.get(path, 0) + n
    return sorted(((Path(path).label, n) for path, n in totals.items()), key=lambda item: -item[1])


@require_POST
@staff_member_required
def register_all(request):
    """Send a welcome message to every not-yet-registered patient of the day who has a reachable contact.

    Deceased children and inactive charts are skipped, and counted by reason for staff.
    """
    now = timezone.now()
    day = _chosen_day(request)
    appointments = [
        a
        for a in selectors.appointments_for_day(day, now=now)
        if a.portal_status == PortalStatus.NOT_REGISTERED
    ]
    patients = {a.patient_id: a for a in appointments}  # one message per patient, not per appointment
    first_reachable = selectors.first_reachable_links(patients)
    sent, skipped = [], []
    not_invitable: Counter[str] = Counter()  # "deceased": 2, said in the summary staff see
    for patient_id, appointment in patients.items():
        if (refusal := services.patient_invitation_refusal(appointment.patient)) is not None:
            # Said before "no contact": it is the reason that matters. welcome_invite checks again.
            skipped.append((appointment.patient, str(refusal)))
            not_invitable[refusal.counted] += 1
            continue
        link = first_reachable.get(patient_id)
        if link is None:
            skipped.append((appointment.patient, "no family contact with an email or cell phone"))
            continue
        channel, address = selectors.welcome_route(link.contact)
        try:
            message = services.welcome_invite(
                patient=appointment.patient,
                contact=link.contact,
                channel=channel,
                address=address,
                by=request.user,
                appointment=appointment,
                client_address=client_address(request),
            )
        except services.RegistrationError as error:  # an import marked the child meanwhile, among others
            skipped.append((appointment.patient, str(error)))
            if isinstance(error, services.PatientNotInvitable):
                not_invitable[error.counted] += 1
        else:
            sent.append((appointment.patient, message))
    # Read the messages back: with an immediate task backend they have been sent already.
    fresh = WelcomeMessage.objects.in_bulk([message.pk for _, message in sent])
    sent = [(patient, fresh[message.pk]) for patient, message in sent]
    return render(
        request,
        "staff/register_all_done.html",
        {"day": day, "sent": sent, "skipped": skipped, "not_invitable": sorted(not_invitable.items())},
    )
