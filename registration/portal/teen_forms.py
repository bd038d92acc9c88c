"""The teen's choice, on their own account, of what their parents see (drawn by portal/_own_record.html)."""

from django import forms

from registration.models import AccessLevel


class ParentLevelForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    level = forms.ChoiceField(choices=AccessLevel.choices)
