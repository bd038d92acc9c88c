"""Patient administration (path 3), the patient chart and the appointment window (path 1)."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.roles import staff_member_required
from patients.models import Appointment, Patient
from registration import selectors
from registration.forms import PatientSearchForm
from registration.models import Path

PAGE_SIZE = 25


@staff_member_required
def patient_search(request):
    form = PatientSearchForm(request.GET)
    page = request.GET.get("page", "")
    # ASCII digits, and not too many: "²".isdigit() but int("²") fails, and a huge page overflows OFFSET.
    page = max(int(page), 1) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    patients, has_next = [], False
    if form.is_valid() and (form.cleaned_data["q"] or form.cleaned_data["status"]):
        found = selectors.patient_search(
            form.cleaned_data["q"], status=form.cleaned_data["status"]
        ).prefetch_related("contact_links__contact")
        # One row more than a page tells whether there is a next page, without counting every match.
        patients = list(found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        has_next = len(patients) > PAGE_SIZE
        patients = patients[:PAGE_SIZE]
    return render(
        request,
        "staff/patient_search.html",
        {"form": form, "patients": patients, "page": page, "has_next": has_next, "path": Path.PATIENT_ADMIN},
    )


@staff_member_required
def patient_chart(request, pk):
    try:
        chart = selectors.patient_chart(pk, now=timezone.now())
    except Patient.DoesNotExist:
        raise Http404("No such patient") from None
    return render(request, "staff/patient_chart.html", {"chart": chart, "path": Path.CHART})


@staff_member_required
def appointment_window(request, pk):
    appointment = get_object_or_404(Appointment.objects.select_related("patient"), pk=pk)
    chart = selectors.patient_chart(appointment.patient_id, now=timezone.now(), history_limit=0)
    return render(
        request,
        "staff/appointment_window.html",
        {"appointment": appointment, "chart": chart, "path": Path.APPOINTMENT_WINDOW},
    )
