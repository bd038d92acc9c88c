"""Reconcile a parent's self-registration request (path 4): match it to a patient and contact, or decline."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from patients.models import FamilyContact, Patient
from portalreg.proxies import client_address
from registration import selectors
from registration.models import SelfRegistrationRequest
from registration.services.errors import RegistrationError, RequestAlreadyDecided
from registration.services.invitation_rules import patient_invitation_refusal
from registration.services.self_registration import (
    self_registration_add_to_existing_account,
    self_registration_authenticate,
    self_registration_decline,
    self_registration_reopen,
)
from registration.staff.forms import AuthenticateForm, DeclineForm


def _page(request, self_registration, *, authenticate_form=None, decline_form=None, status=200):
    proofs = selectors.enrollment_code_proofs(self_registration)
    candidates = selectors.reconcile_candidates(self_registration, proofs=proofs)
    return render(
        request,
        "staff/reconcile.html",
        {
            "req": self_registration,
            "candidates": candidates,
            "authenticate_form": authenticate_form
            or AuthenticateForm(
                candidates=candidates, initial=_initial_match(request, self_registration, candidates)
            ),
            "decline_form": decline_form or DeclineForm(),
            "proofs": proofs,
            # Contacts on a candidate's chart who sign in already: add the child to that account instead.
            "existing_accounts": [
                (candidate.patient, link.contact, candidate.accounts_of_contacts[link.contact_id])
                for candidate in candidates
                for link in candidate.patient.contact_links.all()
                if link.contact_id in candidate.accounts_of_contacts
            ],
        },
        status=status,
    )


def _initial_match(request, self_registration, candidates) -> dict:
    """Preselect what staff came with (from a duplicate warning), else the best candidate's first contact
    unless that child is deceased or the chart inactive."""
    if self_registration.account.email_verified_at is None:
        return {}  # nothing to authenticate until the parent confirms their email
    patient, contact = request.GET.get("patient", ""), request.GET.get("contact", "")
    if patient.isdigit() and contact.isdigit():
        return {"match": f"{patient}:{contact}"}
    if not candidates or candidates[0].score < selectors.STRONG_MATCH:
        return {}
    best = candidates[0]
    if patient_invitation_refusal(best.patient) is not None:  # never preselect a child nobody may see
        return {}
    if best.proved_contact_id is not None:  # the contact who entered the code sent to them
        return {"match": f"{best.patient.pk}:{best.proved_contact_id}"}
    first_link = next(iter(best.patient.contact_links.all()), None)
    if first_link is not None and first_link.contact_id in best.accounts_of_contacts:
        return {}  # that parent has an account already: a click here would make a second one
    return {"match": f"{best.patient.pk}:{first_link.contact_id if first_link else 'new'}"}


def _request(pk):
    return get_object_or_404(
        SelfRegistrationRequest.objects.select_related("account__user", "decided_by"), pk=pk
    )


@staff_member_required
def reconcile(request, pk):
    return _page(request, _request(pk))


@require_POST
@staff_member_required
def authenticate(request, pk):
    self_registration = _request(pk)
    form = AuthenticateForm(request.POST, candidates=selectors.reconcile_candidates(self_registration))
    if form.is_valid():
        patient = get_object_or_404(Patient, pk=form.cleaned_data["patient_id"])
        contact_id = form.cleaned_data["contact_id"]
        try:
            self_registration_authenticate(
                request=self_registration,
                patient=patient,
                contact=get_object_or_404(FamilyContact, pk=contact_id) if contact_id else None,
                new_contact_relationship=None if contact_id else form.cleaned_data["relationship"],
                by=request.user,
                client_address=client_address(request),
            )
        except RegistrationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Authenticated: {patient.full_name} is now on the parent's portal.")
            return redirect("staff:patient-chart", pk=patient.pk)
    return _page(request, self_registration, authenticate_form=form, status=400)


@require_POST
@staff_member_required
def add_to_existing_account(request, pk):
    self_registration = _request(pk)
    patient_id, _colon, contact_id = request.POST.get("match", "").partition(":")
    if not (patient_id.isdigit() and contact_id.isdigit()):
        messages.error(request, "Choose the child and the parent whose account to add the child to.")
        return redirect("staff:reconcile", pk=pk)
    patient = get_object_or_404(Patient, pk=patient_id)
    try:
        access = self_registration_add_to_existing_account(
            request=self_registration,
            patient=patient,
            contact=get_object_or_404(FamilyContact, pk=contact_id),
            by=request.user,
            client_address=client_address(request),
        )
    except RegistrationError as error:
        messages.error(request, str(error))
        return redirect("staff:reconcile", pk=pk)
    messages.success(
        request,
        f"Added {patient.full_name} to {access.account.user.email}, the account that parent already has. "
        "The parent who asked is told on their portal to sign in with it.",
    )
    return redirect("staff:patient-chart", pk=patient.pk)


@require_POST
@staff_member_required
def decline(request, pk):
    """Show what declining will tell the parent; decline only when that page is sent back confirmed."""
    self_registration = _request(pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _page(request, self_registration, decline_form=form, status=400)
    reason, note = form.cleaned_data["reason"], form.cleaned_data["note"].strip()
    if request.POST.get("change"):  # back to the request's page, with the reason and note as chosen
        return _page(
            request, self_registration, decline_form=DeclineForm(initial={"reason": reason, "note": note})
        )
    if request.POST.get("confirmed") != "1":
        if self_registration.status != SelfRegistrationRequest.Status.AWAITING:
            messages.error(request, str(RequestAlreadyDecided()))
            return redirect("staff:reconcile", pk=pk)
        return render(
            request,
            "staff/decline_confirm.html",
            {
                "req": self_registration,
                "reason": reason,
                "reason_label": SelfRegistrationRequest.DeclineReason(reason).label,
                "note": note,
                "language": self_registration.account.preferred_language,
            },
        )
    try:
        self_registration_decline(
            request=self_registration,
            reason=reason,
            note=note,
            by=request.user,
            client_address=client_address(request),
        )
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Declined {self_registration.child_first_name} {self_registration.child_last_name}'s request. "
            "The parent sees the reason on their portal. Reopen it below if this was a mistake.",
        )
    # The request's page, with Reopen at hand: the undo is one click away.
    return redirect("staff:reconcile", pk=pk)


@require_POST
@staff_member_required
def reopen(request, pk):
    self_registration = _request(pk)
    try:
        self_registration_reopen(
            request=self_registration, by=request.user, client_address=client_address(request)
        )
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Reopened: {self_registration.child_first_name} {self_registration.child_last_name}'s request "
            "is back in the queue, waiting. The parent's portal no longer shows the decline.",
        )
    return redirect("staff:reconcile", pk=pk)
