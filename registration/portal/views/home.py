"""The portal's front door, and an account's home: the children on it, or the teen's own record."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from patients.models import Patient
from portalreg.proxies import client_address
from registration import selectors
from registration.portal.forms import EnrollmentCodeForm
from registration.portal.parents import parent_account, parent_required
from registration.portal.teen_forms import ParentLevelForm
from registration.services.errors import RegistrationError
from registration.services.teen_accounts import parent_level_choose


def start(request):
    if parent_account(request.user):
        return redirect("portal:home")
    return render(request, "portal/start.html")


@never_cache
@parent_required
def home(request, account):
    context = selectors.portal_home(account)
    if selectors.enrollment_code_wanted(account):
        context["code_form"] = EnrollmentCodeForm()
    return render(request, "portal/home.html", context)


@require_POST
@parent_required
def parent_level(request, account):
    """The teen, on their own account, chooses what their parents see."""
    form = ParentLevelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what your parents can see"))
        return redirect("portal:home")
    patient = get_object_or_404(Patient, pk=form.cleaned_data["patient"])
    try:
        parent_level_choose(
            account=account,
            patient=patient,
            level=form.cleaned_data["level"],
            client_address=client_address(request),
        )
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Saved. Your parents' portal shows what you chose from now on."))
    return redirect("portal:home")
