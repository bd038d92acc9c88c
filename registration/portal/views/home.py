"""The portal's front door, and a parent's home: the children on the account."""

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from registration import selectors
from registration.portal.forms import EnrollmentCodeForm
from registration.portal.parents import parent_account, parent_required


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
