"""Generate PIN (paths 1 and 3): issue, show it once with a printable slip, or warn of a duplicate."""

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from patients.models import Appointment, FamilyContact, Patient
from portalreg.languages import portal_address
from portalreg.proxies import client_address
from registration.pin_codes import pin_link
from registration.selectors.access import contact_is_patient
from registration.services.errors import OutstandingPin, PossibleDuplicate, RegistrationError
from registration.services.pins import pin_issue
from registration.staff.form_tokens import new_form_token
from registration.staff.forms import GeneratePinForm

# Form tokens already used by this session: resubmitting one (reload, back) must not show a PIN again.
USED_TOKENS = "used_pin_form_tokens"


@never_cache
@sensitive_post_parameters()
@require_POST
@staff_member_required
def pin_generate(request, patient_pk, contact_pk):
    """Issue a PIN and show it in this response only: it is never stored readable, not even in the session."""
    patient = get_object_or_404(Patient, pk=patient_pk)
    contact = get_object_or_404(FamilyContact, pk=contact_pk)
    form = GeneratePinForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("The form was incomplete. Go back, reload the page and try again.")
    token = form.cleaned_data["form_token"]
    used = request.session.get(USED_TOKENS, [])
    context = {"patient": patient, "contact": contact, "form": form}
    if token in used:
        return render(request, "staff/pin_already_shown.html", context | {"form_token": new_form_token()})

    appointment = None
    if form.cleaned_data["appointment"]:
        appointment = get_object_or_404(Appointment, pk=form.cleaned_data["appointment"], patient=patient)
    try:
        issued = pin_issue(
            patient=patient,
            contact=contact,
            path=form.cleaned_data["path"],
            by=request.user,
            appointment=appointment,
            **form.pin_choices(),
            client_address=client_address(request),
        )
    except OutstandingPin as outstanding:  # the form token stays unused: confirming reuses it
        return render(request, "staff/pin_replace_confirm.html", context | {"outstanding": outstanding.pin})
    except PossibleDuplicate as duplicate:
        return render(request, "staff/pin_duplicate_warning.html", context | {"requests": duplicate.requests})
    except RegistrationError as error:
        return render(request, "staff/pin_refused.html", context | {"error": str(error)}, status=409)

    request.session[USED_TOKENS] = [*used, token][-50:]
    page = reverse("portal:pin-start")
    # The slip is the parent's: in the contact's language, and so is the page its code opens.
    link = pin_link(portal_address(page, language=contact.preferred_language), issued.code)
    return render(
        request,
        "staff/pin_issued.html",
        context
        | {
            "code": issued.code,
            "pin": issued.pin,
            "portal_url": settings.PORTAL_BASE_URL + page,
            # The slip's QR code: like the welcome email's link, it carries the PIN after '#', which the
            # phone's browser never sends; the PIN page's script fills it in (issue 13).
            "pin_link": link,
            "own_account": contact_is_patient(patient_id=patient.pk, contact_id=contact.pk),
        },
    )
