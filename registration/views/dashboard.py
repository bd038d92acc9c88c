"""The dashboard: a day's appointment list (path 2), statistics and waiting self-registrations (path 4)."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from registration import selectors, services
from registration.charts import weekly_bars
from registration.forms import DayForm
from registration.models import PortalStatus, WelcomeMessage

from .common import client_address


def _chosen_day(request):
    form = DayForm(request.POST if request.method == "POST" else request.GET)
    day = form.cleaned_data.get("day") if form.is_valid() else None
    return day or timezone.localdate()


@staff_member_required
def dashboard(request):
    now = timezone.now()
    day = _chosen_day(request)
    counts = selectors.registration_counts(now=now)
    return render(
        request,
        "staff/dashboard.html",
        {
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "appointments": list(selectors.appointments_for_day(day, now=now)),
            "counts": counts,
            "awaiting": selectors.self_registrations_awaiting(limit=25),
            "chart": weekly_bars(selectors.registrations_per_week(now=now)),
        },
    )


@require_POST
@staff_member_required
def register_all(request):
    """Send a welcome message to every not-yet-registered patient of the day who has a reachable contact."""
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
    for patient_id, appointment in patients.items():
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
        except services.RegistrationError as error:
            skipped.append((appointment.patient, str(error)))
        else:
            sent.append((appointment.patient, message))
    # Read the messages back: with an immediate task backend they have been sent already.
    fresh = WelcomeMessage.objects.in_bulk([message.pk for _, message in sent])
    sent = [(patient, fresh[message.pk]) for patient, message in sent]
    return render(request, "staff/register_all_done.html", {"day": day, "sent": sent, "skipped": skipped})
