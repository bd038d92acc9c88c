"""Admin-only pages: duplicate accounts and the audit trail."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from accounts.roles import practice_admin_required
from portalreg.proxies import client_address
from registration import selectors
from registration.models import AuditEvent, PortalAccount
from registration.services.accounts import (
    account_disable_duplicate,
    account_disable_duplicate_plan,
    account_reenable,
)
from registration.services.errors import RegistrationError
from registration.staff.forms import AuditFilterForm, DisableDuplicateForm
from registration.statistics import snapshots


@practice_admin_required
def duplicate_accounts(request):
    return _duplicates_page(request)


def _duplicates_page(request, *, refused=None, status=200):
    return render(
        request,
        "staff/duplicates.html",
        {
            "duplicates": snapshots.duplicate_pairs(),
            "recently_disabled": selectors.accounts_recently_disabled(),
            "refused": refused,
        },
        status=status,
    )


@require_POST
@practice_admin_required
def disable_duplicate(request):
    """Show what disabling will do; disable only when that page is sent back confirmed."""
    form = DisableDuplicateForm(request.POST)
    if form.is_valid():
        accounts = PortalAccount.objects.select_related("user")
        keep = get_object_or_404(accounts, pk=form.cleaned_data["keep"])
        duplicate = get_object_or_404(accounts, pk=form.cleaned_data["duplicate"])
        try:
            if request.POST.get("confirmed") != "1":
                plan = account_disable_duplicate_plan(duplicate=duplicate, keep=keep)
                return render(
                    request,
                    "staff/disable_duplicate_confirm.html",
                    {"plan": plan, "form": form, "reason": form.cleaned_data["reason"].strip()},
                )
            account_disable_duplicate(
                duplicate=duplicate,
                keep=keep,
                by=request.user,
                reason=form.cleaned_data["reason"],
                client_address=client_address(request),
            )
        except RegistrationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Disabled {duplicate.user.email}: it can no longer sign in. {keep.user.email} is kept. "
                "If this was a mistake, enable it again under Recently disabled.",
            )
            return redirect("staff:duplicates")
    return _duplicates_page(request, refused=form, status=400)


@require_POST
@practice_admin_required
def reenable_account(request, pk):
    account = get_object_or_404(PortalAccount.objects.select_related("user"), pk=pk)
    try:
        done = account_reenable(account=account, by=request.user, client_address=client_address(request))
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        moved_back = [a.patient.full_name for a in done.returned]
        if done.returned_request_ids:
            n = len(done.returned_request_ids)
            moved_back.append(f"{n} waiting request{pluralize(n)}")
        messages.success(
            request,
            f"Enabled {account.user.email} again: it can sign in."
            + (
                f" Moved back to it from {done.kept.user.email}: {', '.join(moved_back)}."
                if moved_back
                else ""
            ),
        )
    return redirect("staff:duplicates")


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
