"""Staff forms. They check the shape of input; the services decide whether a change is allowed."""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, User
from accounts.roles import is_staff_member
from patients.models import PatientContact
from registration import selectors
from registration.models import AuditEvent, PortalStatus, SelfRegistrationRequest, WelcomeMessage
from registration.selectors import PIN_EXPIRED, RequestStage
from registration.services.errors import DeclineNoteRequired, DisableReasonRequired
from registration.services.invitation_rules import patient_invitation_refusal
from registration.services.self_registration import self_registration_decline_check
from registration.staff.widgets import InlineSelect
from registration.welcome_addresses import AddressInvalid, welcome_address_chosen


class StaffAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not is_staff_member(user):
            # The same words as a wrong password: the staff site does not say who has a parent account.
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


# Days a person can mean. Pages reach a day either side of the one typed, which for 9999-12-31 or
# 0001-01-01 is no date at all (OverflowError).
SENSIBLE_DAYS = [
    MinValueValidator(dt.date(1900, 1, 1), "Enter a date from 1900 on."),
    MaxValueValidator(dt.date(2999, 12, 31), "Enter a date before 3000."),
]


class DayForm(forms.Form):
    day = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=SENSIBLE_DAYS
    )


def chosen_day(request) -> dt.date:
    """The day the appointment list (and its Register all) shows: `day` from the form or the address,
    else today in the practice's time zone."""
    form = DayForm(request.POST if request.method == "POST" else request.GET)
    day = form.cleaned_data.get("day") if form.is_valid() else None
    return day or timezone.localdate()


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text=(
            "The start of each name, in any order, accents and apostrophes optional (“smi jo” finds "
            "Jordan Smith, “lopez” finds López), an MRN, a date of birth, or a parent's email or cell phone"
        ),
    )
    status = forms.ChoiceField(
        label="Portal status",
        required=False,
        widget=InlineSelect,
        choices=[
            ("", "Any"),
            (PortalStatus.NOT_REGISTERED, PortalStatus.NOT_REGISTERED.label),
            (PIN_EXPIRED, "PIN expired"),
            (PortalStatus.PENDING, PortalStatus.PENDING.label),
            (PortalStatus.REGISTERED, PortalStatus.REGISTERED.label),
        ],
    )


class RequestStageForm(forms.Form):
    stage = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[*RequestStage.choices, ("", "All requests")],
    )


class PinChoicesForm(forms.Form):
    """What staff answered when a PIN would duplicate or replace another: for Generate PIN and Register."""

    override_label = "Reason to issue a PIN anyway"

    duplicate_override_reason = forms.CharField(
        label="",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Set by the page that asked "Send a new PIN?": a PIN of the pair still valid may be replaced.
    replace_outstanding = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Which PIN the page asked about: another one still valid by then is asked about again.
    replaces_pin = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duplicate_override_reason"].label = self.override_label

    def pin_choices(self) -> dict:
        """The answers, as the PIN services take them."""
        return {
            "duplicate_override_reason": self.cleaned_data["duplicate_override_reason"],
            "replace_outstanding": self.cleaned_data["replace_outstanding"],
            "replacing_pin_id": self.cleaned_data["replaces_pin"],
        }


class GeneratePinForm(PinChoicesForm):
    path = forms.ChoiceField(
        choices=[
            ("chart", "chart"),
            ("appointment_window", "appointment"),
            ("patient_admin", "patient administration"),
        ],
        widget=forms.HiddenInput,
    )
    appointment = forms.IntegerField(required=False, widget=forms.HiddenInput)
    form_token = forms.CharField(max_length=64, widget=forms.HiddenInput)


class WelcomeForm(PinChoicesForm):
    """Path 2: which contact, email or text, and the address to send to (saved back to the contact)."""

    override_label = "Reason to send anyway"
    field_order = ["contact", "channel", "address"]  # the error summary lists them as the page shows them

    contact = forms.ModelChoiceField(
        queryset=PatientContact.objects.none(), widget=forms.RadioSelect, empty_label=None, label="Send to"
    )
    channel = forms.ChoiceField(choices=WelcomeMessage.Channel.choices, widget=forms.RadioSelect, label="How")
    address = forms.CharField(
        label="Email address or cell phone",
        required=False,
        max_length=254,
        help_text="Leave empty to use what is on the chart; a corrected address is saved to the chart.",
    )

    def __init__(self, *args, links, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = links
        self.fields["contact"].label_from_instance = _contact_label

    def clean(self):
        data = super().clean()
        link, channel = data.get("contact"), data.get("channel")
        if link is None or channel is None:
            return data
        try:
            data["address"] = welcome_address_chosen(link.contact, channel, data.get("address") or "")
        except AddressInvalid as error:
            raise ValidationError({"address": str(error)}) from None
        return data


def _contact_label(link: PatientContact) -> str:
    contact = link.contact
    on_file = ", ".join(filter(None, [contact.email, contact.cell_phone and contact.cell_phone.as_national]))
    return (
        f"{contact.full_name} ({link.get_relationship_display()}) — {on_file or 'no email or phone on file'}"
    )


class ResendForm(PinChoicesForm):
    """Send a welcome message again; a reason is needed when the parent may have signed up already."""

    override_label = "Reason to send anyway"


class AuthenticateForm(forms.Form):
    """Path 4: the patient and contact a self-registration request is for."""

    match = forms.ChoiceField(label="This request is for", widget=forms.RadioSelect)
    relationship = forms.ChoiceField(
        label="The parent's relationship to the child (when adding them to the chart)",
        required=False,
        choices=[("", "—"), *PatientContact.Relationship.choices],
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        for candidate in candidates:
            patient = candidate.patient
            # Still listed, so staff see why the request matches; authenticating it is refused.
            refusal = patient_invitation_refusal(patient)
            state = "" if refusal is None else f" [{refusal.state}: cannot be authenticated]"
            for link in patient.contact_links.all():
                if link.contact_id in candidate.restricted:  # the page says why, beside the choices
                    continue
                account = candidate.accounts_of_contacts.get(link.contact_id)
                second = (
                    f" [already has a portal account, {account}: authenticating makes a second one; "
                    "add the child to that account instead, below]"
                    if account
                    else ""
                )
                choices.append(
                    (
                        f"{patient.pk}:{link.contact_id}",
                        f"{patient.full_name} ({date_format(patient.date_of_birth)}, {patient.mrn}) "
                        f"as {link.contact.full_name}, {link.get_relationship_display()}{state}{second}",
                    )
                )
            choices.append(
                (
                    f"{patient.pk}:new",
                    f"{patient.full_name} ({date_format(patient.date_of_birth)}, "
                    f"{patient.mrn}), adding the parent to the chart{state}",
                )
            )
        self.fields["match"].choices = choices

    def clean(self):
        data = super().clean()
        match = data.get("match")
        if match:
            patient_id, contact = match.split(":")
            data["patient_id"] = int(patient_id)
            data["contact_id"] = None if contact == "new" else int(contact)
            if contact == "new" and not data.get("relationship"):
                self.add_error("relationship", "Choose how the parent is related to the child.")
        return data


class DeclineForm(forms.Form):
    """A canned reason the parent reads in their language, and a note in staff's own words."""

    reason = forms.ChoiceField(
        choices=SelfRegistrationRequest.DeclineReason.choices,
        error_messages={"required": "Choose a reason: the parent will be told it."},
        label="Reason (the parent will see it, in their language)",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note to the parent (shown as written, as the practice's note; needed with “Another reason”)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if data.get("reason"):
            try:
                self_registration_decline_check(reason=data["reason"], note=data.get("note", ""))
            except DeclineNoteRequired as error:
                self.add_error("note", str(error))
        return data


class DisableDuplicateForm(forms.Form):
    """One suspected pair: which account to keep. The other is the duplicate to disable."""

    first = forms.IntegerField(widget=forms.HiddenInput)
    second = forms.IntegerField(widget=forms.HiddenInput)
    keep = forms.IntegerField(error_messages={"required": "Choose the account to keep."})
    reason = forms.CharField(
        error_messages={"required": DisableReasonRequired.message},
        label="Reason (kept in the audit trail)",
        max_length=500,
    )

    def clean(self):
        data = super().clean()
        pair = [data.get("first"), data.get("second")]
        if data.get("keep") is not None and (data["keep"] not in pair or pair[0] == pair[1]):
            raise ValidationError("Choose one of the two accounts to keep.")
        if "keep" in data:
            data["duplicate"] = pair[1] if data["keep"] == pair[0] else pair[0]
        return data


class AuditFilterForm(forms.Form):
    """The audit trail's filters. A patient and an email are looked up as they are cleaned: a patient
    box that names nobody, or too many, is an error to correct, not an empty or endless list."""

    patient = forms.CharField(
        label="Patient",
        required=False,
        max_length=200,
        help_text="Name, MRN or date of birth",
    )
    email = forms.CharField(
        label="Email",
        required=False,
        max_length=254,
        help_text="A parent's, a contact's or staff's",
    )
    actor = forms.ModelChoiceField(
        label="Staff user",
        required=False,
        empty_label="Anyone",
        widget=InlineSelect,
        queryset=User.objects.filter(groups__name__in=[FRONT_DESK_GROUP, ADMIN_GROUP])
        .distinct()
        .order_by("username"),
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices], widget=InlineSelect
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=SENSIBLE_DAYS
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=SENSIBLE_DAYS
    )

    def clean_patient(self) -> list | None:
        text = self.cleaned_data["patient"].strip()
        if not text:
            return None
        patients = selectors.audit_patients_named(text)
        if not patients:
            raise ValidationError("No patient has that name, MRN or date of birth.")
        if len(patients) > selectors.AUDIT_PATIENTS_AT_MOST:
            raise ValidationError(
                f"More than {selectors.AUDIT_PATIENTS_AT_MOST} patients match: add a first name, "
                "or type the MRN or the date of birth."
            )
        return patients

    def clean_email(self) -> "selectors.AuditPeople | None":
        email = self.cleaned_data["email"].strip()
        if not email:
            return None
        people = selectors.audit_people_with_email(email)
        if not people:
            raise ValidationError("No account, family contact or staff member has that email.")
        return people


class ImportUploadForm(forms.Form):
    """An export from the EHR: patients with their family contacts, or appointments (docs/import.md)."""

    file = forms.FileField(
        label="Export file",
        help_text="A CSV export, a FHIR R4 Bundle (.json) or FHIR bulk data (.ndjson).",
        error_messages={
            "required": "Choose the file to import first.",
            "empty": "The file chosen is empty: export it from the EHR again.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,.ndjson"}),
    )

    @property
    def max_megabytes(self) -> int:
        return settings.IMPORT_MAX_UPLOAD_BYTES // 1_000_000

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.IMPORT_MAX_UPLOAD_BYTES // 1_000_000} MB: split it into "
                "smaller files, or ask whoever looks after the server to import it there."
            )
        if not upload.name.lower().endswith((".csv", ".json", ".ndjson")):
            raise forms.ValidationError("Choose a .csv, .json or .ndjson file.")
        return upload
