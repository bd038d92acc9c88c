"""Patient administration (path 3), the patient chart and the appointment window (path 1)."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.roles import is_practice_admin, staff_member_required
from patients.models import Appointment, Patient
from registration import selectors
from registration.models import RegistrationPath
from registration.selectors.access_panel import access_panel
from registration.selectors.patients import contact_links_with_access
from registration.staff import rows
from registration.staff.forms import PatientSearchForm
from registration.staff.paging import page_of
from registration.staff.restriction_forms import access_panel_rows


@staff_member_required
def patient_search(request):
    form = PatientSearchForm(request.GET)
    # A search sent with nothing typed and any status lists every patient, by name (the Statistics
    # page's "Patients" tile); a first visit lists nobody.
    searched = form.is_valid() and ("q" in request.GET or "status" in request.GET)
    page, results = None, []
    if searched:
        found = selectors.patient_search(form.cleaned_data["q"], status=form.cleaned_data["status"])
        page = page_of(request, found.prefetch_related(contact_links_with_access()))
        results = rows.patient_rows(page.rows)
    return render(
        request,
        "staff/patient_search.html",
        {
            "form": form,
            "searched": searched,
            "page": page,
            "results": results,
            "path": RegistrationPath.PATIENT_ADMIN,
        },
    )


@staff_member_required
def patient_chart(request, pk):
    try:
        chart = selectors.patient_chart(pk, now=timezone.now())
    except Patient.DoesNotExist:
        raise Http404("No such patient") from None
    panel = access_panel(chart.patient, day=timezone.localdate())
    return render(
        request,
        "staff/patient_chart.html",
        {
            "chart": chart,
            "contacts": rows.chart_contacts(chart.patient, chart.contacts),
            "path": RegistrationPath.CHART,
            "panel": panel,
            "panel_rows": access_panel_rows(panel, chart.contacts, admin=is_practice_admin(request.user)),
        },
    )


@staff_member_required
def appointment_window(request, pk):
    appointment = get_object_or_404(Appointment.objects.select_related("patient"), pk=pk)
    chart = selectors.patient_chart(
        appointment.patient_id, now=timezone.now(), history_limit=0, restrictions=False
    )
    return render(
        request,
        "staff/appointment_window.html",
        {
            "appointment": appointment,
            "chart": chart,
            "contacts": rows.chart_contacts(chart.patient, chart.contacts),
            "path": RegistrationPath.APPOINTMENT_WINDOW,
        },
    )
