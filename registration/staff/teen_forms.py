"""The forms of a patient's own account page: the patient's own email and phone, and their choice of
their parents' level told to staff in person. They check shape; the teen account services decide."""

from django import forms

from registration.models import AccessLevel

# Staff pages are in English: the level's words as the front desk says them to the teen.
STAFF_LEVELS = [
    (AccessLevel.FULL.value, "Full: everything in the record"),
    (AccessLevel.LIMITED.value, "Limited: appointments, messages and billing, no clinical record"),
    (AccessLevel.NONE.value, "None: nothing on the portal"),
]


class TeenContactForm(forms.Form):
    email = forms.CharField(label="The patient's own email", max_length=254, required=False)
    cell_phone = forms.CharField(label="The patient's own cell phone", max_length=30, required=False)


class ParentLevelInPersonForm(forms.Form):
    level = forms.ChoiceField(
        label="What the patient's parents may see", choices=STAFF_LEVELS, widget=forms.RadioSelect
    )
