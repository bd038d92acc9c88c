"""Filters for the pages that show one patient: the portal status badge and the EHR's state badge, for
templates/staff/_status_badge.html, and why nobody may be invited. The long tables get theirs from
registration/staff/rows.py."""

from django import template

from registration.services.errors import PatientNotInvitable
from registration.services.invitation_rules import patient_invitation_refusal
from registration.staff.rows import Badge, ehr_state_badge, portal_badge

register = template.Library()


@register.filter(name="portal_badge")
def portal_badge_filter(status: str) -> Badge:
    """A patient's portal status as the badge staff pages show: `{% include ... with badge=... %}`."""
    return portal_badge(status)


@register.filter(name="ehr_state_badge")
def ehr_state_badge_filter(patient) -> Badge | None:
    """ "Deceased" or "Inactive in the EHR" as a badge; None for a patient who may be invited."""
    return ehr_state_badge(patient_invitation_refusal(patient))


@register.filter
def not_invitable(patient) -> PatientNotInvitable | None:
    """Why nobody may be invited to this patient's portal (its `state`, and the sentence staff read),
    or None: `{% with refusal=patient|not_invitable %}`."""
    return patient_invitation_refusal(patient)
