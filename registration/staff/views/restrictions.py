"""The chart's Access panel, for admins: restrictions recorded and lifted, their documents read, and a
parent's access kept past the patient's majority."""

import os

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.roles import practice_admin_required
from patients.models import PatientContact
from portalreg.proxies import client_address
from registration.models import AccessRestriction, PortalAccess
from registration.services.access_changes import access_basis_change, restriction_document_read
from registration.services.errors import RegistrationError
from registration.services.restrictions import restriction_create, restriction_lift
from registration.staff.restriction_forms import AccessBasisForm, RestrictionForm, RestrictionLiftForm


def _panel(patient_pk: int) -> str:
    return reverse("staff:patient-chart", args=[patient_pk]) + "#access"


@never_cache
@practice_admin_required
def restriction_new(request, patient_pk, contact_pk):
    """Record that a contact on the chart may not be given access to the child: the chart's form posts
    here; this page shows it again when something needs correcting."""
    link = get_object_or_404(
        PatientContact.objects.select_related("patient", "contact"),
        patient_id=patient_pk,
        contact_id=contact_pk,
    )
    prefix = f"restrict-{contact_pk}"
    if request.method != "POST":
        form = RestrictionForm(prefix=prefix)
    else:
        form = RestrictionForm(request.POST, request.FILES, prefix=prefix)
        if form.is_valid():
            data = form.cleaned_data
            try:
                restriction = restriction_create(
                    patient=link.patient,
                    contact=link.contact,
                    basis=data["basis"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    review_on=data["review_on"],
                    note=data["note"],
                    document=data["document"],
                    by=request.user,
                    client_address=client_address(request),
                )
            except RegistrationError as error:
                form.add_error(None, str(error))
            else:
                who, child = link.contact.full_name, link.patient.full_name
                ended = "have ended" if restriction.enforced_at else "end on its first day"
                messages.success(
                    request,
                    f"Recorded: {who} may not be given access to {child}. "
                    f"Their PINs and portal access to {child} {ended}.",
                )
                return redirect(_panel(patient_pk))
    return render(
        request,
        "staff/restriction_new.html",
        {"link": link, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
@practice_admin_required
def restriction_lift_view(request, pk):
    restriction = get_object_or_404(AccessRestriction.objects.select_related("contact"), pk=pk)
    form = RestrictionLiftForm(request.POST, prefix=f"lift-{pk}")
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["reason"]))
        return redirect(_panel(restriction.patient_id))
    try:
        restriction_lift(
            restriction=restriction,
            by=request.user,
            reason=form.cleaned_data["reason"],
            client_address=client_address(request),
        )
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Lifted the restriction on {restriction.contact.full_name}. Access ended by it stays ended: "
            "issue a new PIN if they may now see the child.",
        )
    return redirect(_panel(restriction.patient_id))


@never_cache
@practice_admin_required
def restriction_document(request, pk):
    """The restriction's document, as a download no cache keeps; each reading is audited."""
    restriction = get_object_or_404(AccessRestriction, pk=pk)
    try:
        document = restriction_document_read(
            restriction=restriction, by=request.user, client_address=client_address(request)
        )
    except (RegistrationError, FileNotFoundError):
        raise Http404("No document") from None
    response = FileResponse(
        document, as_attachment=True, filename=os.path.basename(restriction.document.name)
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@practice_admin_required
def access_basis(request, pk):
    access = get_object_or_404(PortalAccess.objects.select_related("contact"), pk=pk)
    form = AccessBasisForm(request.POST, prefix=f"basis-{pk}")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_panel(access.patient_id))
    try:
        access_basis_change(
            access=access,
            basis=form.cleaned_data["basis"],
            by=request.user,
            note=form.cleaned_data["note"],
            client_address=client_address(request),
        )
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"{access.contact.full_name}'s access now continues past the patient's majority."
        )
    return redirect(_panel(access.patient_id))
