"""The new-account part of the PIN and sign-up pages."""

from django.utils.translation import get_language

from registration.portal.forms import NewAccountForm
from registration.services.accounts import NewAccount


def account_form(request) -> NewAccountForm:
    # Messages in the language the parent is reading in, unless they choose otherwise.
    language = (get_language() or "en")[:2]
    form = NewAccountForm(request.POST or None, prefix="account", initial={"preferred_language": language})
    keep_password(form)
    return form


def keep_password(form: NewAccountForm) -> None:
    """Show the password typed back to the browser that typed it, after an error or a row added or removed:
    the page is never cached, and the value goes only to the browser that sent it."""
    form.fields["password"].widget.render_value = True


def new_account(form: NewAccountForm) -> NewAccount:
    data = form.cleaned_data
    return NewAccount(
        email=data["email"],
        password=data["password"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        cell_phone=data["cell_phone"].as_e164 if data["cell_phone"] else "",
        preferred_language=data["preferred_language"],
    )
