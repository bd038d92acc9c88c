"""Forms of the chart's Access panel: a restriction recorded or lifted, a parent's access kept past majority.

They check the shape of input; `registration.services.restrictions` and `.access_changes` decide."""

from collections.abc import Iterable
from dataclasses import dataclass

from django import forms
from django.utils import timezone

from patients.models import PatientContact
from registration.models import AccessRestriction
from registration.selectors.access_panel import AccessLine, AccessPanel, RestrictionLine
from registration.selectors.patients import ContactRow
from registration.services.access_changes import BASES_PAST_MAJORITY
from registration.staff.forms import SENSIBLE_DAYS


def _day(label: str, *, required: bool = False, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=SENSIBLE_DAYS,
    )


class RestrictionForm(forms.Form):
    """A restriction of one contact, whom the URL names (the form is drawn once per contact)."""

    basis = forms.ChoiceField(label="Basis", choices=AccessRestriction.Basis.choices)
    starts_on = _day("First day", required=True)
    ends_on = _day("Last day (optional)", help_text="Empty: until lifted.")
    review_on = _day("Review on (optional)")
    note = forms.CharField(
        label="Note for staff (never shown to the family)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    document = forms.FileField(
        label="The order (optional: PDF or picture, at most 10 MB)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.tif,.tiff,.heic"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"starts_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class RestrictionLiftForm(forms.Form):
    reason = forms.CharField(
        label="Why it is lifted",
        max_length=500,
        error_messages={
            "required": "Say why the restriction is lifted (for example, the order was vacated)."
        },
    )


class AccessBasisForm(forms.Form):
    """A parent's live access kept past the patient's majority."""

    basis = forms.ChoiceField(
        label="Keep after majority because",
        choices=[(basis.value, basis.label) for basis in BASES_PAST_MAJORITY],
    )
    note = forms.CharField(
        label="Note (how consent was given, or the order appointing the guardian)",
        max_length=500,
        error_messages={
            "required": "Add a note: how the consent was given, or which order appoints the guardian."
        },
    )


@dataclass(frozen=True)
class AccessPanelRows:
    """The Access panel's lines, each with its admin's form (None for other staff, or where nothing may
    be done), and a restriction form per contact who may be restricted."""

    accesses: list[tuple[AccessLine, AccessBasisForm | None]]
    restrictions: list[tuple[RestrictionLine, RestrictionLiftForm | None]]
    restrict: list[tuple[ContactRow, RestrictionForm]]


def access_panel_rows(panel: AccessPanel, contacts: Iterable[ContactRow], *, admin: bool) -> AccessPanelRows:
    """The panel's lines and, for an admin, their forms, each prefixed with its row's id so that the ids
    of their fields are unique on the chart."""
    return AccessPanelRows(
        accesses=[
            (
                line,
                AccessBasisForm(prefix=f"basis-{line.access.pk}")
                if admin and line.basis_changeable
                else None,
            )
            for line in panel.accesses
        ],
        restrictions=[
            (
                line,
                RestrictionLiftForm(prefix=f"lift-{line.restriction.pk}")
                if admin and line.restriction.lifted_at is None
                else None,
            )
            for line in panel.restrictions
        ],
        restrict=[
            (row, RestrictionForm(prefix=f"restrict-{row.contact.pk}"))
            for row in contacts
            if admin and row.restriction is None and row.link.relationship != PatientContact.Relationship.SELF
        ]
        if admin
        else [],
    )
