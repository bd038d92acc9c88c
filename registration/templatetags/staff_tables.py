"""Tags for the staff site's long tables, where a template's per-row cost adds up.

Django's template language costs ~10 µs per variable and ~0.1 ms per {% url %} or {% include %}: a
busy day's 300 appointments drawn with them took ~80 ms, and with format_html (whose lazy-aware
escaping costs ~10 µs a value) ~25 ms. Rows built here from plain values, each text escaped with the
standard library's html.escape, take a few milliseconds.
"""

from html import escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from patients.templatetags.patients import age
from registration.models import PortalStatus

register = template.Library()

_BADGES = {
    status: format_html('<span class="status status-{}">{}</span>', status.value, status.label)
    for status in PortalStatus
}
_ID = 2_147_483_647  # stands for the row's id in a URL reversed once per table


@register.filter
def status_badge(status: str) -> str:
    """A patient's portal status as the coloured badge staff pages show."""
    return _BADGES[PortalStatus(status)]


@register.simple_tag
def appointment_rows(appointments, day) -> str:
    """The dashboard's table body, from `selectors.appointment_rows_for_day`: one row per appointment."""
    appointment_url, chart_url, register_url = (
        reverse(name, args=[_ID]).replace(str(_ID), "{}")
        for name in ("staff:appointment", "staff:patient-chart", "staff:register")
    )
    rows = []
    for a in appointments:
        starts = timezone.localtime(a["starts_at"])
        register = (
            ""
            if a["portal_status"] == PortalStatus.REGISTERED
            else f'<a class="button small" href="{register_url.format(a["patient_id"])}'
            f'?appointment={a["pk"]}">Register</a>'
        )
        rows.append(
            f'<tr><td class="nowrap"><a href="{appointment_url.format(a["pk"])}">'
            f"{starts.hour % 12 or 12}:{starts.minute:02d} {'AM' if starts.hour < 12 else 'PM'}</a></td>"
            f'<td><a href="{chart_url.format(a["patient_id"])}">'
            f"{escape(a['patient__last_name'])}, {escape(a['patient__first_name'])}</a></td>"
            f'<td class="nowrap">{age(a["patient__date_of_birth"], day)}</td>'
            f"<td>{escape(a['provider'])}</td><td>{escape(a['visit_type'])}</td>"
            f"<td>{_BADGES[PortalStatus(a['portal_status'])]}</td><td>{register}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text value above is escaped, the rest are ids
