"""Parents' forms. Every label, hint and message is translated (English and Spanish)."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from patients.models import FamilyContact
from registration.services.accounts import NewAccount


class DateOfBirthInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})}, format="%Y-%m-%d")


def _not_in_future(value):
    if value > timezone.localdate():
        raise ValidationError(_("A date of birth can't be in the future."))


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("PIN"),
        max_length=40,
        help_text=_("12 letters and numbers, like 7KQF-X82Z-913P. Capitals and dashes don't matter."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autocorrect": "off",
            }
        ),
    )
    child_birth_date = forms.DateField(
        label=_("Your child's date of birth"), widget=DateOfBirthInput(), validators=[_not_in_future]
    )


class NewAccountForm(forms.Form):
    first_name = forms.CharField(
        label=_("Your first name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Your last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("Email"), max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    cell_phone = PhoneNumberField(
        label=_("Cell phone (optional)"),
        required=False,
        region="US",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
        error_messages={"invalid": _("Enter a valid cell phone number, like (202) 555-0143.")},
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        help_text=_("At least 15 characters. A few unrelated words you'll remember make a good one."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language for messages"), choices=FamilyContact.Language.choices
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip()

    def clean(self):
        data = super().clean()
        if data.get("password"):
            probe = get_user_model()(
                username=data.get("email", ""),
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(data["password"], probe)
            except ValidationError as error:
                self.add_error("password", error)
        return data


class ChildForm(forms.Form):
    first_name = forms.CharField(label=_("Child's first name"), max_length=100)
    last_name = forms.CharField(label=_("Child's last name"), max_length=100)
    date_of_birth = forms.DateField(
        label=_("Child's date of birth"), widget=DateOfBirthInput(), validators=[_not_in_future]
    )


class BaseChildFormSet(forms.BaseFormSet):
    def __init__(self, *args, rows: list[dict] | None = None, **kwargs):
        """`rows`: what was typed in each row, shown again after a row was added or removed. They are
        as optional as a new row (not initial forms): an empty one is skipped on submit, not flagged."""
        super().__init__(*args, **kwargs)
        self.rows = rows or []
        if self.rows:
            self.extra = len(self.rows)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index < len(self.rows):
            kwargs["initial"] = self.rows[index]
        return kwargs

    def clean(self):
        super().clean()
        if not any(form.cleaned_data for form in self.forms if form.is_valid()):
            raise ValidationError(_("Name at least one child."))


ChildFormSet = forms.formset_factory(
    ChildForm, formset=BaseChildFormSet, extra=1, max_num=6, validate_max=True
)


class ParentSignInForm(AuthenticationForm):
    """Sign-in for parents: by email. Staff sign in on the staff site."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That email and password don't match an account. Check both, or reset your password below."
        ),
        "unconfirmed": _(
            "Confirm your email first: open the link we sent you when you signed up. "
            "No message? We can send it again."
        ),
    }

    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        account = getattr(user, "portal_account", None)
        if account is None or account.is_disabled:
            # The same words as a wrong password: who has an account is nobody's business.
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        if account.email_verified_at is None:
            # Said only to someone who typed the right password. An unconfirmed account may have been
            # made by anyone with someone else's address: it signs in once its owner confirms it.
            raise ValidationError(self.error_messages["unconfirmed"], code="unconfirmed")


class VerificationResendForm(forms.Form):
    """The address to send the 'confirm your email' link to again."""

    email = forms.EmailField(
        label=_("Email"), max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class EnrollmentCodeForm(forms.Form):
    """The code the practice may have sent to the phone or email it has on file for the parent."""

    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("6 digits, from a text or email sent by the practice."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EmailConfirmForm(forms.Form):
    """Confirm an address from the emailed link. The link's key arrives in the page's #fragment, which
    browsers never send, so it stays out of access logs; a script copies it into `key`. The password is
    asked unless this browser is the one that chose it: a link alone must not hand anyone an account
    somebody else made with their address."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=200)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


# The new-account part of the PIN and sign-up pages.


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
