"""Tags for the staff site's long tables, where a template's per-row cost adds up.

Django's template language costs ~10 µs per variable and ~0.1 ms per {% url %} or {% include %}: a
busy day's 300 appointments drawn with them took ~80 ms, and with format_html (whose lazy-aware
escaping costs ~10 µs a value) ~25 ms. Rows built here from plain values, each text escaped with the
standard library's html.escape, take a few milliseconds.
"""

from html import escape

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from patients.templatetags.patients import age
from registration.models import PortalStatus
from registration.services import invitation_refusal, patient_invitation_refusal
from registration.services.errors import PatientDeceased, PatientInactive, PatientNotInvitable
from registration.staff.form_tokens import new_form_token

register = template.Library()


def _badge(status: PortalStatus) -> str:
    """The status badge, in the language of this request: made per call, since a label formatted at
    import would keep the language of whichever page first loaded the template libraries."""
    return format_html('<span class="status status-{}">{}</span>', status.value, status.label)


# The EHR's word on a chart that nobody is invited to: shown beside the portal status, in place of
# the buttons that would invite.
_STATE_CSS = {PatientDeceased: "deceased", PatientInactive: "inactive"}


def _state_badge(refusal: PatientNotInvitable) -> str:
    return format_html('<span class="status status-{}">{}</span>', _STATE_CSS[type(refusal)], refusal.state)


_IDS = (2_147_483_647, 2_147_483_646)  # stand for a row's ids in a URL reversed once per table


def _url_pattern(name: str, ids: int = 1) -> str:
    """The URL `name` with "{}" where each id goes: "/staff/patients/{}/"."""
    path = reverse(name, args=_IDS[:ids])
    for placeholder in _IDS[:ids]:
        path = path.replace(str(placeholder), "{}", 1)
    return path


@register.filter
def status_badge(status: str) -> str:
    """A patient's portal status as the coloured badge staff pages show."""
    return _badge(PortalStatus(status))


@register.filter
def not_invitable(patient) -> PatientNotInvitable | None:
    """Why nobody may be invited to this patient's portal (its `state`, and the sentence staff read),
    or None: `{% with refusal=patient|not_invitable %}`."""
    return patient_invitation_refusal(patient)


@register.filter
def ehr_state_badge(patient) -> str:
    """ "Deceased" or "Inactive in the EHR" as a badge; nothing for a patient who may be invited."""
    refusal = patient_invitation_refusal(patient)
    return "" if refusal is None else _state_badge(refusal)


@register.simple_tag
def appointment_rows(appointments, day) -> str:
    """The dashboard's table body, from `selectors.appointment_rows_for_day`: one row per appointment."""
    appointment_url, chart_url, register_url = (
        _url_pattern(name) for name in ("staff:appointment", "staff:patient-chart", "staff:register")
    )
    time_format, rows, today = get_format("TIME_FORMAT"), [], timezone.localdate()
    for a in appointments:
        starts = timezone.localtime(a["starts_at"])
        refusal = invitation_refusal(
            active=a["patient__active"],
            deceased=a["patient__deceased"],
            deceased_on=a["patient__deceased_on"],
        )
        if refusal is not None:  # the state instead of Register: nobody is invited to this portal
            register = _state_badge(refusal)
        elif a["portal_status"] == PortalStatus.REGISTERED:
            register = ""
        elif a["portal_status"] == PortalStatus.PENDING:  # a PIN is out: sending again replaces it
            register = (
                f'<a class="button small" href="{register_url.format(a["patient_id"])}'
                f'?appointment={a["pk"]}">Resend</a> '
                f'<span class="muted nowrap">{_pin_went_out(a, today)}</span>'
            )
        else:
            register = (
                f'<a class="button small" href="{register_url.format(a["patient_id"])}'
                f'?appointment={a["pk"]}">Register</a>'
            )
        rows.append(
            f'<tr><td class="nowrap"><a href="{appointment_url.format(a["pk"])}">'
            f"{dateformat.time_format(starts, time_format)}</a></td>"
            f'<td><a href="{chart_url.format(a["patient_id"])}">'
            f"{escape(a['patient__last_name'])}, {escape(a['patient__first_name'])}</a></td>"
            f'<td class="nowrap">{age(a["patient__date_of_birth"], day)}</td>'
            f"<td>{escape(a['provider'])}</td><td>{escape(a['visit_type'])}</td>"
            f"<td>{_badge(PortalStatus(a['portal_status']))}</td><td>{register}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text value above is escaped, the rest are ids


def _pin_went_out(row: dict, today) -> str:
    """ "sent 10:42 AM" (today) or "sent Nov 28, 2026": when a Pending row's PIN went out, and how."""
    for key, verb in (("pin_sent_at", "sent"), ("pin_queued_at", "queued"), ("pin_given_at", "PIN given")):
        if (at := row.get(key)) is not None:
            at = timezone.localtime(at)
            if at.date() == today:
                return f"{verb} {dateformat.time_format(at, get_format('TIME_FORMAT'))}"
            return f"{verb} {dateformat.format(at, get_format('DATE_FORMAT'))}"
    return ""


_NO_CONTACTS = '<li class="muted">None on the chart</li>'


@register.simple_tag(takes_context=True)
def patient_rows(context, patients, path) -> str:
    """Patient search results: one row per patient, its family contacts with a Generate PIN form each."""
    chart_url, pin_url = _url_pattern("staff:patient-chart"), _url_pattern("staff:pin-generate", ids=2)
    csrf = escape(get_token(context["request"]))
    date_format, rows = get_format("DATE_FORMAT"), []
    for p in patients:
        first, last = escape(p.first_name), escape(p.last_name)
        refusal = patient_invitation_refusal(p)
        state = "" if refusal is None else " " + _state_badge(refusal)
        contacts = []
        for link in p.contact_links.all():
            name = escape(link.contact.full_name)
            form = (
                ""
                if p.portal_status == PortalStatus.REGISTERED or refusal is not None
                else f'<form method="post" action="{pin_url.format(p.pk, link.contact_id)}" class="inline">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                f'<input type="hidden" name="path" value="{escape(path)}">'
                f'<input type="hidden" name="form_token" value="{new_form_token()}">'
                f'<button type="submit" class="small" aria-label="Generate PIN for {name}, '
                f'parent of {first} {last}">Generate PIN</button></form>'
            )
            relationship = escape(str(link.get_relationship_display()))
            contacts.append(f'<li>{name} <span class="muted">{relationship}</span>{form}</li>')
        rows.append(
            f'<tr><td><a href="{chart_url.format(p.pk)}">{last}, {first}</a></td>'
            f'<td class="nowrap">{dateformat.format(p.date_of_birth, date_format)} '
            f'<span class="muted">({age(p.date_of_birth)})</span></td>'
            f'<td class="nowrap">{escape(p.mrn)}</td><td>{_badge(PortalStatus(p.portal_status))}{state}</td>'
            f'<td><ul class="contact-actions">{"".join(contacts) or _NO_CONTACTS}</ul></td></tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text value above is escaped, the rest are ids
