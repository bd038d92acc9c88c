"""The patient's own account (issue 15): the policy, the patient's own email and phone on the chart,
and the patient's choice of what their parents see, told to staff in person."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import staff_member_required
from patients.models import Patient
from portalreg.proxies import client_address
from registration.models import AccessLevel
from registration.selectors.teen_accounts import teen_account_page
from registration.services.access_rules import own_account_check
from registration.services.errors import OwnAccountNotAllowed, RegistrationError
from registration.services.teen_accounts import parent_level_record_in_person, teen_contact_add
from registration.staff.teen_forms import ParentLevelInPersonForm, TeenContactForm


@staff_member_required
def teen_account(request, pk):
    """GET: the policy and the patient's own contact; POST: save the patient's own email and phone."""
    if request.method == "POST":
        patient = get_object_or_404(Patient, pk=pk)
        form = TeenContactForm(request.POST)
        if form.is_valid():
            try:
                teen_contact_add(
                    patient=patient,
                    email=form.cleaned_data["email"],
                    cell_phone=form.cleaned_data["cell_phone"],
                    by=request.user,
                    client_address=client_address(request),
                )
            except RegistrationError as error:
                return _page(request, pk, contact_form=form, refusal=str(error), status=409)
            messages.success(
                request,
                f"{patient.full_name}'s own email and phone are on the chart. Generate PIN for "
                f"{patient.full_name} (The patient) under Family contacts to hand over their own PIN.",
            )
            return redirect("staff:patient-chart", pk)
        return _page(request, pk, contact_form=form, status=400)
    return _page(request, pk)


@require_POST
@staff_member_required
def parent_level_in_person(request, pk):
    """Record what the teen, here in person, chose that their parents see."""
    patient = get_object_or_404(Patient, pk=pk)
    form = ParentLevelInPersonForm(request.POST)
    if not form.is_valid():
        return _page(request, pk, level_form=form, status=400)
    try:
        parent_level_record_in_person(
            patient=patient,
            level=form.cleaned_data["level"],
            by=request.user,
            client_address=client_address(request),
        )
    except RegistrationError as error:
        return _page(request, pk, level_form=form, level_refusal=str(error), status=409)
    messages.success(
        request,
        f"Recorded: {patient.full_name}'s parents now see "
        f"{AccessLevel(form.cleaned_data['level']).label.lower()}.",
    )
    return redirect("staff:teen-account", pk)


def _page(request, pk, *, contact_form=None, level_form=None, status=200, **refusals):
    day = timezone.localdate()
    try:
        page = teen_account_page(pk, day=day)
    except Patient.DoesNotExist:
        raise Http404("No such patient") from None
    try:
        own_account_check(patient=page.patient, day=day)
        not_allowed = ""
    except OwnAccountNotAllowed as error:
        not_allowed = str(error)
    if contact_form is None:
        contact = page.own_link.contact if page.own_link else None
        contact_form = TeenContactForm(
            initial={
                "email": contact.email if contact else "",
                "cell_phone": contact.cell_phone.as_national if contact and contact.cell_phone else "",
            }
        )
    if level_form is None:
        level_form = ParentLevelInPersonForm(
            initial={"level": page.choice.level if page.choice else page.policy.parent_level_for_teens}
        )
    context = {
        "page": page,
        "patient": page.patient,
        "not_allowed": not_allowed,
        "contact_form": contact_form,
        "level_form": level_form,
        **refusals,
    }
    return render(request, "staff/teen_account.html", context, status=status)
