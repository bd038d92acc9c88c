"""Paths 1-3: a parent registers with the PIN the practice gave them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from portalreg.proxies import client_address
from ratelimits.refusals import rate_limit_refusal
from registration.portal.forms import PinForm, account_form, new_account
from registration.portal.parents import MADE_HERE, parent_account
from registration.portal.pin_tries import pin_tries_forget, pin_try_failed, tries_left_warning
from registration.services.errors import EmailInUse, PinNotAccepted, RegistrationError
from registration.services.pin_redemption import pin_redeem

# Said only to someone who has just proved they hold a live PIN and the child's date of birth.
EMAIL_IN_USE_WITH_PIN = gettext_lazy(
    "You already have an account with this email. Sign in first, then add your child with this PIN."
)


@never_cache
@sensitive_post_parameters("pin", "account-password")
def pin_start(request):
    """Paths 1-3: the PIN and the child's date of birth, and a new account unless already signed in."""
    account = parent_account(request.user)
    pin_form = PinForm(request.POST or None)
    new_account_form = None if account else account_form(request)
    if (
        request.method == "POST"
        and pin_form.is_valid()
        and (new_account_form is None or new_account_form.is_valid())
    ):
        if refused := rate_limit_refusal(request, "pin_redeem"):
            return refused
        try:
            # A new account's 'confirm your email' goes once the redemption commits.
            access = pin_redeem(
                code=pin_form.cleaned_data["pin"],
                child_birth_date=pin_form.cleaned_data["child_birth_date"],
                account=account,
                new_account=new_account(new_account_form) if new_account_form else None,
                client_address=client_address(request),
            )
        except EmailInUse:
            # Said only to someone who has just proved they hold a live PIN and the child's date of birth.
            pin_try_failed(request.session, pin_form.cleaned_data["pin"])  # it spent one of the PIN's tries
            new_account_form.add_error("email", EMAIL_IN_USE_WITH_PIN)
        except PinNotAccepted as error:
            left = pin_try_failed(request.session, pin_form.cleaned_data["pin"])
            pin_form.add_error(None, f"{error} {tries_left_warning(left)}" if left else str(error))
        except RegistrationError as error:
            pin_form.add_error(None, str(error))
        else:
            pin_tries_forget(request.session, pin_form.cleaned_data["pin"])
            if account is None:
                # Not signed in: the account signs in once its email is confirmed (issue 12).
                request.session[MADE_HERE] = access.account.pk
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
    return render(request, "portal/pin.html", {"pin_form": pin_form, "account_form": new_account_form})
