"""A parent's account: confirming its email, signing in and out, and choosing a new password."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portalreg.languages import language_chosen, language_cookie_set
from portalreg.proxies import client_address
from ratelimits.refusals import SignInRateLimits, rate_limit_refusal
from registration.messaging.account_email_requests import (
    parent_email_password_reset,
    parent_email_verification_resend,
)
from registration.portal.forms import EmailConfirmForm, ParentSignInForm, VerificationResendForm
from registration.portal.parents import MADE_HERE
from registration.portal.tokens import email_verification_token
from registration.services.accounts import portal_account_verify_email

MODEL_BACKEND = "accounts.backends.RolesModelBackend"


@require_POST
def verify_resend(request):
    """Send the 'confirm your email' link again. The answer is the same whether or not the address has
    an account waiting to be confirmed."""
    form = VerificationResendForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/sign_up_sent.html", {"resend_form": form})
    email = form.cleaned_data["email"]
    if refused := rate_limit_refusal(request, "verify_resend", account=email):
        return refused
    parent_email_verification_resend(email=email)
    messages.success(
        request, _("If that address has an account waiting to be confirmed, we have sent the link again.")
    )
    return redirect("portal:sign-up-sent")


def verify_link_old(request, uidb64, token):
    """A link in the form sent before the key moved into the #fragment: its key went through access
    logs, so it is not accepted; the parent asks for a new one."""
    return render(request, "portal/verify_failed.html", status=400)


@never_cache
@sensitive_post_parameters("password", "key")
def verify_email(request):
    """Confirm an address from the emailed link, and sign in.

    The browser that made the account confirms with the link alone; any other asks for the account's
    password too, so a parent opening a link for an account someone else made with her address does
    not confirm it, nor get signed in to it.
    """
    form = EmailConfirmForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "portal/verify_email.html", {"form": form})
    user = _user_from_key(form.cleaned_data["key"])
    if user is None:
        return render(request, "portal/verify_failed.html", status=400)
    made_here = request.session.get(MADE_HERE) == user.portal_account.pk
    if not made_here:
        if refused := rate_limit_refusal(request, "sign_in", account=user.email):
            return refused
        if not user.check_password(form.cleaned_data["password"]):
            form.add_error(
                "password",
                _("That isn't this account's password. Type the one you chose when you signed up."),
            )
            return render(
                request, "portal/verify_email.html", {"form": form, "ask_password": True}, status=400
            )
    portal_account_verify_email(account=user.portal_account, client_address=client_address(request))
    request.session.pop(MADE_HERE, None)
    login(request, user, backend=MODEL_BACKEND)
    messages.success(request, _("Thank you: your email address is confirmed."))
    return redirect("portal:home")


def _user_from_key(key: str):
    """The enabled parent whose 'confirm your email' link carried `key` ("uid.token"), or None."""
    uidb64, _dot, token = key.partition(".")
    try:
        user = (
            get_user_model()
            .objects.select_related("portal_account")
            .get(pk=force_str(urlsafe_base64_decode(uidb64)))
        )
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        return None
    account = getattr(user, "portal_account", None)
    if not user.is_active or account is None or account.is_disabled:
        return None
    return user if email_verification_token.check_token(user, token) else None


class ParentSignInView(SignInRateLimits, auth_views.LoginView):
    template_name = "portal/sign_in.html"
    authentication_form = ParentSignInForm
    next_page = "portal:home"

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.context_data["unconfirmed"] = form.has_error(NON_FIELD_ERRORS, "unconfirmed")
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        # The portal in the language the parent chose for their messages, unless they picked one in
        # this browser before signing in (login keeps the session's data). The account stays as it is.
        if not language_chosen(self.request):
            language_cookie_set(response, form.get_user().portal_account.preferred_language)
        return response


class ParentSignOutView(auth_views.LogoutView):
    next_page = "portal:start"


class ParentPasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/password_reset.html"
    success_url = reverse_lazy("portal:password-reset-sent")

    def form_valid(self, form):
        """Queue the email rather than send it here (Django's way): no provider call in the request, so
        the answer takes as long whether or not the address has an account, and an outage loses nothing.
        Parents only: staff reset their passwords with an admin."""
        email = form.cleaned_data["email"]
        if refused := rate_limit_refusal(self.request, "password_reset", account=email):
            return refused
        parent_email_password_reset(email=email)
        return redirect(self.get_success_url())


class ParentPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-done")

    def form_valid(self, form):
        """The link reached the address, and its reader chose the password: the address is confirmed.
        An account a stranger made with this address is the address owner's from now on."""
        response = super().form_valid(form)
        account = getattr(form.user, "portal_account", None)
        if account is not None and account.email_verified_at is None:
            portal_account_verify_email(account=account, client_address=client_address(self.request))
        return response
