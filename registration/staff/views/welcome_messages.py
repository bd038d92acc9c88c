"""Register from the appointment list (path 2): send a welcome email or text carrying a new PIN."""

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from patients.models import Appointment, Patient
from portalreg.proxies import client_address
from registration import selectors
from registration.models import WelcomeMessage
from registration.services.errors import OutstandingPin, PossibleDuplicate, RegistrationError
from registration.services.welcome_invites import welcome_invite
from registration.staff.forms import ResendForm, WelcomeForm
from registration.welcome_addresses import welcome_route


@staff_member_required
def welcome_send(request, patient_pk):
    """Send a welcome email or text carrying a new PIN to a contact on the patient's chart."""
    patient = get_object_or_404(Patient, pk=patient_pk)
    appointment = None
    appointment_id = request.GET.get("appointment", "")
    # ASCII digits, and few: "²".isdigit() too, and int() refuses over 4,300 digits.
    if appointment_id.isascii() and appointment_id.isdigit() and len(appointment_id) <= 18:
        appointment = get_object_or_404(Appointment, pk=appointment_id, patient=patient)
    links = selectors.links_invitable(patient.pk)
    duplicates, outstanding = [], None
    if request.method == "POST":
        form = WelcomeForm(request.POST, links=links)
        if form.is_valid():
            try:
                message = welcome_invite(
                    patient=patient,
                    contact=form.cleaned_data["contact"].contact,
                    channel=form.cleaned_data["channel"],
                    address=form.cleaned_data["address"],
                    by=request.user,
                    appointment=appointment,
                    **form.pin_choices(),
                    client_address=client_address(request),
                )
            except OutstandingPin as error:
                outstanding = error.pin
            except PossibleDuplicate as duplicate:
                duplicates = duplicate.requests
                form.add_error(None, str(duplicate))
            except RegistrationError as error:
                form.add_error(None, str(error))
            else:
                return redirect("staff:welcome-message", pk=message.pk)
    else:
        form = WelcomeForm(links=links, initial=_initial(links))
    return render(
        request,
        "staff/welcome_send.html",
        {
            "patient": patient,
            "appointment": appointment,
            "form": form,
            "duplicates": duplicates,
            "outstanding": outstanding,
            "links": links,
        },
    )


def _initial(links) -> dict:
    """Prefill the first contact who can be reached, by email if they have one."""
    for link in links:
        if route := welcome_route(link.contact):
            return {"contact": link, "channel": route[0]}
    return {"channel": WelcomeMessage.Channel.EMAIL}


@staff_member_required
def welcome_message(request, pk):
    message = get_object_or_404(
        WelcomeMessage.objects.select_related("pin__patient", "pin__contact", "pin__issued_by"), pk=pk
    )
    return render(
        request,
        "staff/welcome_message.html",
        {
            "message": message,
            "patient": message.pin.patient,
            "status": selectors.patient_portal_status(message.pin.patient),
        },
    )


@require_POST
@staff_member_required
def welcome_resend(request, pk):
    """Send again with a new PIN (the old one stops working), to the same contact and address."""
    old = get_object_or_404(WelcomeMessage.objects.select_related("pin__patient", "pin__contact"), pk=pk)
    form = ResendForm(request.POST)
    if not form.is_valid():  # a reason too long, or with a NUL character PostgreSQL cannot store
        if "duplicate_override_reason" in form.errors:
            error = "Reason to send anyway: " + " ".join(form.errors["duplicate_override_reason"])
        else:  # the hidden fields, altered: not something staff can correct on this page
            error = "The form was incomplete. Reload the page and try again."
        return _resend_page(request, old, error=error, status=400)
    try:
        message = welcome_invite(
            patient=old.pin.patient,
            contact=old.pin.contact,
            channel=old.channel,
            address=old.address,
            by=request.user,
            appointment=old.pin.appointment,
            **form.pin_choices(),
            client_address=client_address(request),
        )
    except OutstandingPin as outstanding:  # asked first; nothing is sent until confirmed
        return _resend_page(
            request, old, outstanding=outstanding.pin, reason=form.cleaned_data["duplicate_override_reason"]
        )
    except RegistrationError as error:
        duplicates = getattr(error, "requests", [])
        return _resend_page(request, old, error=str(error), duplicates=duplicates, status=409)
    return redirect("staff:welcome-message", pk=message.pk)


def _resend_page(request, old, *, status=200, **context):
    """The message's page again: with why the resend was refused, or asking to confirm it."""
    return render(
        request,
        "staff/welcome_message.html",
        {
            "message": old,
            "patient": old.pin.patient,
            "status": selectors.patient_portal_status(old.pin.patient),
        }
        | context,
        status=status,
    )
