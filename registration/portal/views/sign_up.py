"""Path 4: a parent signs up without a PIN, naming the children; the practice verifies each request."""

from django.contrib import messages
from django.contrib.auth.hashers import make_password
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portalreg.proxies import client_address
from ratelimits.refusals import rate_limit_refusal
from registration import selectors
from registration.messaging.account_email_requests import parent_email_sign_up_with_existing
from registration.portal.forms import (
    ChildFormSet,
    EnrollmentCodeForm,
    NewAccountForm,
    VerificationResendForm,
    account_form,
    keep_password,
    new_account,
)
from registration.portal.parents import MADE_HERE, account_made_here, parent_account
from registration.services.enrollment_codes import enrollment_code_prove
from registration.services.errors import EmailInUse, RegistrationError
from registration.services.self_registration import ChildDetails, self_registration_submit


@never_cache
@sensitive_post_parameters("account-password")
def sign_up(request):
    """Path 4: an account without a PIN, naming the children. The practice verifies each request.

    A signed-in parent uses the same page to ask for another child.
    """
    account = parent_account(request.user)
    if request.method == "POST" and ("add_child" in request.POST or "remove_child" in request.POST):
        return _sign_up_rows_changed(request, account)
    new_account_form = None if account else account_form(request)
    children = ChildFormSet(request.POST or None, prefix="child")
    error = None
    if (
        request.method == "POST"
        and children.is_valid()
        and (new_account_form is None or new_account_form.is_valid())
    ):
        if refused := rate_limit_refusal(request, "sign_up"):
            return refused
        named = [
            ChildDetails(c["first_name"], c["last_name"], c["date_of_birth"])
            for c in children.cleaned_data
            if c
        ]
        try:
            # A new account's 'confirm your email' goes once the requests are committed.
            requests = self_registration_submit(
                children=named,
                account=account,
                new_account=new_account(new_account_form) if new_account_form else None,
                client_address=client_address(request),
            )
        except EmailInUse:
            # Answer as if the account were new; tell the owner by email instead of telling this browser.
            make_password(new_account_form.cleaned_data["password"])  # the same work as making an account
            parent_email_sign_up_with_existing(email=new_account_form.cleaned_data["email"])
            return redirect("portal:sign-up-sent")
        except RegistrationError as refusal:
            error = str(refusal)
        else:
            if account is not None:
                messages.success(request, _("Thank you. The practice will verify your request."))
                return redirect("portal:home")
            request.session[MADE_HERE] = requests[0].account.pk
            return redirect("portal:sign-up-sent")
    return render(
        request,
        "portal/sign_up.html",
        {"account_form": new_account_form, "children": children, "error": error},
    )


def _sign_up_rows_changed(request, account):
    """A child's row added or removed, keeping what was typed, without flagging an empty row as an error."""
    rows = _typed_rows(request.POST, "child", ChildFormSet.form)
    removed = request.POST.get("remove_child", "")
    if removed.isascii() and removed.isdigit() and 0 < int(removed) < len(rows):
        del rows[int(removed)]
    elif "add_child" in request.POST and len(rows) < ChildFormSet.max_num:
        rows.append({})
    children = ChildFormSet(prefix="child", rows=rows)
    typed_account_form = None
    if account is None:
        typed_account_form = NewAccountForm(
            prefix="account", initial=_typed(request.POST, "account", NewAccountForm)
        )
        keep_password(typed_account_form)
    return render(request, "portal/sign_up.html", {"account_form": typed_account_form, "children": children})


def _typed(data, prefix: str, form_class) -> dict:
    return {name: data.get(f"{prefix}-{name}", "") for name in form_class.base_fields}


def _typed_rows(data, prefix: str, form_class) -> list[dict]:
    total = data.get(f"{prefix}-TOTAL_FORMS", "1")
    # ASCII digits, and few: "²".isdigit() too, and int() refuses over 4,300 digits.
    count = int(total) if total.isascii() and total.isdigit() and len(total) <= 3 else 1
    count = min(max(count, 1), ChildFormSet.max_num)
    return [_typed(data, f"{prefix}-{i}", form_class) for i in range(count)]


def sign_up_sent(request, *, code_form=None, status=200):
    """Check your email; the code from the contact on file, for the browser that signed up; and, for a
    parent who got nothing, the form to send the link again."""
    made_here = account_made_here(request)
    context = {
        "resend_form": VerificationResendForm(),
        # A PIN already linked the child: only the email is left to confirm.
        "linked_by_pin": made_here is not None and made_here.accesses.exists(),
    }
    if made_here is not None and selectors.enrollment_code_wanted(made_here):
        context["code_form"] = code_form or EnrollmentCodeForm()
    return render(request, "portal/sign_up_sent.html", context, status=status)


@never_cache
@require_POST
@sensitive_post_parameters("code")
def enrollment_code(request):
    """A code the practice sent to the phone or email it has on file for the parent: proof for staff
    that the sign-up is the contact's own. The same answer whether or not a code was ever sent."""
    account = parent_account(request.user) or account_made_here(request)
    if account is None:
        return redirect("portal:sign-in")
    form = EnrollmentCodeForm(request.POST)
    if form.is_valid():
        if refused := rate_limit_refusal(request, "enrollment_code", account=str(account.pk)):
            return refused
        try:
            enrollment_code_prove(
                account=account, code=form.cleaned_data["code"], client_address=client_address(request)
            )
        except RegistrationError as error:
            form.add_error("code", str(error))
            form.fields["code"].widget.attrs["autofocus"] = True  # the browser scrolls the error into view
        else:
            messages.success(request, _("Thank you: the practice will see that the code reached you."))
            return redirect("portal:home" if parent_account(request.user) else "portal:sign-up-sent")
    if parent_account(request.user):
        return render(
            request, "portal/home.html", {**selectors.portal_home(account), "code_form": form}, status=400
        )
    return sign_up_sent(request, code_form=form, status=400)
