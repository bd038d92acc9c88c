"""Admin-only pages: duplicate accounts and the audit trail."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import practice_admin_required
from registration import selectors, services, snapshots
from registration.forms import AuditFilterForm, DisableDuplicateForm
from registration.models import AuditEvent, PortalAccount

from .common import client_address


@practice_admin_required
def duplicate_accounts(request):
    return render(request, "staff/duplicates.html", {"duplicates": snapshots.duplicate_pairs()})


@require_POST
@practice_admin_required
def disable_duplicate(request):
    form = DisableDuplicateForm(request.POST)
    if form.is_valid():
        accounts = PortalAccount.objects.select_related("user")
        keep = get_object_or_404(accounts, pk=form.cleaned_data["keep"])
        duplicate = get_object_or_404(accounts, pk=form.cleaned_data["duplicate"])
        try:
            services.account_disable_duplicate(
                duplicate=duplicate,
                keep=keep,
                by=request.user,
                reason=form.cleaned_data["reason"],
                client_address=client_address(request),
            )
        except services.RegistrationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Disabled {duplicate.user.email}: it can no longer sign in. {keep.user.email} is kept.",
            )
            return redirect("staff:duplicates")
    return render(
        request,
        "staff/duplicates.html",
        {"duplicates": snapshots.duplicate_pairs(), "refused": form},
        status=400,
    )


@practice_admin_required
def audit_trail(request):
    form = AuditFilterForm(request.GET)
    if form.is_valid():
        data = form.cleaned_data
        events = selectors.audit_events(
            patients=data["patient"],
            people=data["email"],
            actor_id=data["actor"].pk if data["actor"] else None,
            action=data["action"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
    else:  # the errors say what to correct; a list of everything would hide them
        events = AuditEvent.objects.none()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "staff/audit.html", {"form": form, "page": page})
