"""The parent portal: register with a PIN, sign up without one, sign in, and see your children."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.hashers import make_password
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portalreg.languages import language_chosen, language_cookie_set
from portalreg.proxies import client_address
from ratelimits.refusals import SignInRateLimits, rate_limit_refusal
from registration import selectors, services
from registration.models import ParentAccountEmail, PortalAccount
from registration.portal.forms import (
    ChildFormSet,
    EmailConfirmForm,
    EnrollmentCodeForm,
    NewAccountForm,
    ParentSignInForm,
    PinForm,
    VerificationResendForm,
)
from registration.portal.pin_tries import pin_tries_forget, pin_try_failed, tries_left_warning
from registration.portal.tokens import email_verification_token
from registration.services.errors import EmailInUse, PinNotAccepted

MODEL_BACKEND = "accounts.backends.RolesModelBackend"
# Said only to someone who has just proved they hold a live PIN and the child's date of birth.
EMAIL_IN_USE_WITH_PIN = gettext_lazy(
    "You already have an account with this email. Sign in first, then add your child with this PIN."
)


# The account this browser made (and chose the password of), not yet confirmed: it may enter a code
# sent to the contact on file, and confirm its email without typing the password again.
MADE_HERE = "portal_account_made_here"


def parent_account(user):
    """The signed-in user's portal account, or None for anyone else (staff, anonymous, disabled, or an
    account whose email is not confirmed: anyone could have made it with someone else's address)."""
    if not user.is_authenticated or not user.is_active:
        return None
    account = getattr(user, "portal_account", None)
    if account is None or account.is_disabled or account.email_verified_at is None:
        return None
    return account


def _account_made_here(request):
    """The unconfirmed account this browser made, if any."""
    account_id = request.session.get(MADE_HERE)
    if account_id is None:
        return None
    return (
        PortalAccount.objects.select_related("user")
        .filter(pk=account_id, disabled_at__isnull=True, email_verified_at__isnull=True)
        .first()
    )


def parent_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse_lazy('portal:sign-in')}?next={request.get_full_path()}")
        account = parent_account(request.user)
        unconfirmed = getattr(request.user, "portal_account", None)
        if account is None and unconfirmed is not None and unconfirmed.email_verified_at is None:
            return redirect("portal:sign-up-sent")  # a session from before accounts had to confirm
        if account is None:
            raise PermissionDenied
        return view(request, account, *args, **kwargs)

    return wrapped


def _account_form(request) -> NewAccountForm:
    # Messages in the language the parent is reading in, unless they choose otherwise.
    language = (get_language() or "en")[:2]
    form = NewAccountForm(request.POST or None, prefix="account", initial={"preferred_language": language})
    _keep_password(form)
    return form


def _keep_password(form: NewAccountForm) -> None:
    """Show the password typed back to the browser that typed it, after an error or a row added or removed:
    the page is never cached, and the value goes only to the browser that sent it."""
    form.fields["password"].widget.render_value = True


def _new_account(form: NewAccountForm) -> services.NewAccount:
    data = form.cleaned_data
    return services.NewAccount(
        email=data["email"],
        password=data["password"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        cell_phone=data["cell_phone"].as_e164 if data["cell_phone"] else "",
        preferred_language=data["preferred_language"],
    )


def start(request):
    if parent_account(request.user):
        return redirect("portal:home")
    return render(request, "portal/start.html")


@never_cache
@sensitive_post_parameters("pin", "account-password")
def pin_start(request):
    """Paths 1-3: the PIN and the child's date of birth, and a new account unless already signed in."""
    account = parent_account(request.user)
    pin_form = PinForm(request.POST or None)
    account_form = None if account else _account_form(request)
    if request.method == "POST" and pin_form.is_valid() and (account_form is None or account_form.is_valid()):
        if refused := rate_limit_refusal(request, "pin_redeem"):
            return refused
        try:
            access = services.pin_redeem(
                code=pin_form.cleaned_data["pin"],
                child_birth_date=pin_form.cleaned_data["child_birth_date"],
                account=account,
                new_account=_new_account(account_form) if account_form else None,
                client_address=client_address(request),
            )
        except EmailInUse:
            # Said only to someone who has just proved they hold a live PIN and the child's date of birth.
            pin_try_failed(request.session, pin_form.cleaned_data["pin"])  # it spent one of the PIN's tries
            account_form.add_error("email", EMAIL_IN_USE_WITH_PIN)
        except PinNotAccepted as error:
            left = pin_try_failed(request.session, pin_form.cleaned_data["pin"])
            pin_form.add_error(None, f"{error} {tries_left_warning(left)}" if left else str(error))
        except services.RegistrationError as error:
            pin_form.add_error(None, str(error))
        else:
            pin_tries_forget(request.session, pin_form.cleaned_data["pin"])
            if account is None:
                # Not signed in: the account signs in once its email is confirmed (issue 12).
                request.session[MADE_HERE] = access.account.pk
                services.parent_email_queue(account=access.account, kind=ParentAccountEmail.Kind.VERIFY)
                messages.success(
                    request,
                    _("%(name)s is linked to your new account. Confirm your email to see them.")
                    % {"name": access.patient.first_name},
                )
                return redirect("portal:sign-up-sent")
            messages.success(
                request, _("%(name)s is now on your portal.") % {"name": access.patient.first_name}
            )
            return redirect("portal:home")
    return render(request, "portal/pin.html", {"pin_form": pin_form, "account_form": account_form})


@never_cache
@sensitive_post_parameters("account-password")
def sign_up(request):
    """Path 4: an account without a PIN, naming the children. The practice verifies each request.

    A signed-in parent uses the same page to ask for another child.
    """
    account = parent_account(request.user)
    if request.method == "POST" and ("add_child" in request.POST or "remove_child" in request.POST):
        return _sign_up_rows_changed(request, account)
    account_form = None if account else _account_form(request)
    children = ChildFormSet(request.POST or None, prefix="child")
    error = None
    if request.method == "POST" and children.is_valid() and (account_form is None or account_form.is_valid()):
        if refused := rate_limit_refusal(request, "sign_up"):
            return refused
        named = [
            services.ChildDetails(c["first_name"], c["last_name"], c["date_of_birth"])
            for c in children.cleaned_data
            if c
        ]
        try:
            requests = services.self_registration_submit(
                children=named,
                account=account,
                new_account=_new_account(account_form) if account_form else None,
                client_address=client_address(request),
            )
        except EmailInUse:
            # Answer as if the account were new; tell the owner by email instead of telling this browser.
            make_password(account_form.cleaned_data["password"])  # the same work as making an account
            services.parent_email_sign_up_with_existing(email=account_form.cleaned_data["email"])
            return redirect("portal:sign-up-sent")
        except services.RegistrationError as refusal:
            error = str(refusal)
        else:
            if account is not None:
                messages.success(request, _("Thank you. The practice will verify your request."))
                return redirect("portal:home")
            request.session[MADE_HERE] = requests[0].account.pk
            services.parent_email_queue(account=requests[0].account, kind=ParentAccountEmail.Kind.VERIFY)
            return redirect("portal:sign-up-sent")
    return render(
        request, "portal/sign_up.html", {"account_form": account_form, "children": children, "error": error}
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
    account_form = None
    if account is None:
        account_form = NewAccountForm(
            prefix="account", initial=_typed(request.POST, "account", NewAccountForm)
        )
        _keep_password(account_form)
    return render(request, "portal/sign_up.html", {"account_form": account_form, "children": children})


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
    made_here = _account_made_here(request)
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
    account = parent_account(request.user) or _account_made_here(request)
    if account is None:
        return redirect("portal:sign-in")
    form = EnrollmentCodeForm(request.POST)
    if form.is_valid():
        if refused := rate_limit_refusal(request, "enrollment_code", account=str(account.pk)):
            return refused
        try:
            services.enrollment_code_prove(
                account=account, code=form.cleaned_data["code"], client_address=client_address(request)
            )
        except services.RegistrationError as error:
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
    services.parent_email_verification_resend(email=email)
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
    services.portal_account_verify_email(account=user.portal_account, client_address=client_address(request))
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


@never_cache
@parent_required
def home(request, account):
    context = selectors.portal_home(account)
    if selectors.enrollment_code_wanted(account):
        context["code_form"] = EnrollmentCodeForm()
    return render(request, "portal/home.html", context)


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
        services.parent_email_password_reset(email=email)
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
            services.portal_account_verify_email(account=account, client_address=client_address(self.request))
        return response
