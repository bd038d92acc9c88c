"""The staff site's long tables as rows of plain values, for templates to draw: the dashboard's
appointments and the patient search's results, their URLs, times and labels worked out here; and the
one rule for when Register and Generate PIN are offered, which the chart's contacts follow too.

Rows are typed dicts: a template finds a dict's key at its first try, where an object's attribute
costs it a caught exception (300 rows of 12 values: ~3 ms). Their URLs are reversed once a table and
only the ids formatted in (`_UrlOf`), and a value many rows share (a badge, a time) is made once.
Rows are made per request, never at import: a label formatted at import would keep the language of
whichever request first imported this module (a Spanish parent's page left "Pendiente" on staff pages).
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import TypedDict

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeString

from patients.models import Patient
from patients.templatetags.patients import age
from registration.models import PortalStatus
from registration.selectors.patients import ContactRow, link_restriction
from registration.services.errors import PatientDeceased, PatientInactive, PatientNotInvitable
from registration.services.invitation_rules import invitation_refusal, patient_invitation_refusal
from registration.staff.labels import choice_label


class Badge(TypedDict):
    """A coloured status badge, as templates/staff/_status_badge.html draws it."""

    css: str  # the badge's colour: class "status status-<css>"
    label: str


def portal_badge(status: str) -> Badge:
    """The badge of a portal status ("pending"): "Pending" on yellow, in the request's language."""
    status = PortalStatus(status)
    return Badge(css=status.value, label=str(status.label))


class _Badges:
    """Badges as templates/staff/_status_badge.html draws them, each one drawn once a table: an include
    in each of 300 rows cost the dashboard ~2 ms."""

    def __init__(self):
        self._drawn: dict[tuple[str, str], SafeString] = {}
        self._portal: dict[str, SafeString] = {}

    def __call__(self, badge: Badge | None) -> SafeString:
        """The badge drawn; "" for no badge, so that `{% if %}` can tell."""
        if badge is None:
            return SafeString("")
        key = (badge["css"], badge["label"])
        if (html := self._drawn.get(key)) is None:
            html = self._drawn[key] = render_to_string("staff/_status_badge.html", {"badge": badge})
        return html

    def portal(self, status: str) -> SafeString:
        if (html := self._portal.get(status)) is None:
            html = self._portal[status] = self(portal_badge(status))
        return html


class _UrlOf:
    """`reverse(name, args=ids)` for a table's rows: reversed once, then the ids formatted in (a
    reverse() costs ~25 µs, and the dashboard made 900 of them)."""

    _PLACEHOLDER = 987654320  # ids no row has, each replaced by its place in the format

    def __init__(self, name: str, arity: int = 1):
        ids = [self._PLACEHOLDER + n for n in range(arity)]
        path = reverse(name, args=ids).replace("{", "{{").replace("}", "}}")
        for n, placeholder in enumerate(ids):
            path = path.replace(str(placeholder), f"{{{n}}}")
        self._format = path.format

    def __call__(self, *ids: int) -> str:
        return self._format(*(int(pk) for pk in ids))


# The EHR's word on a chart that nobody is invited to: shown beside the portal status, in place of
# the buttons that would invite.
_EHR_STATE_CSS = {PatientDeceased: "deceased", PatientInactive: "inactive"}


def ehr_state_badge(refusal: PatientNotInvitable | None) -> Badge | None:
    """ "Deceased" or "Inactive in the EHR" as a badge; None for a patient who may be invited."""
    return None if refusal is None else Badge(css=_EHR_STATE_CSS[type(refusal)], label=refusal.state)


# ---------------------------------------------------------------- what may be offered


def welcome_offered(refusal: PatientNotInvitable | None, status: str) -> bool:
    """Offer Register (a welcome email or text with a new PIN) for a child who may be invited and
    whom no parent sees on the portal yet."""
    return refusal is None and status != PortalStatus.REGISTERED


class PinButton(TypedDict):
    """One family contact's Generate PIN, as templates/staff/_pin_button.html draws it."""

    action: str  # where the form posts
    label: str  # the button's accessible name: whose PIN it makes


def pin_button(
    patient_id: int,
    contact_id: int,
    *,
    refusal: PatientNotInvitable | None,
    contact_registered: bool,
    label: str,
    action: _UrlOf | None = None,
) -> PinButton | None:
    """Generate PIN for a contact who does not yet see the child on the portal, for a child who may be
    invited; None otherwise (`pin_issue` would refuse both). `action`: a table's `_pin_action()`."""
    if refusal is not None or contact_registered:
        return None
    return PinButton(action=(action or _pin_action())(patient_id, contact_id), label=label)


def _pin_action() -> _UrlOf:
    return _UrlOf("staff:pin-generate", arity=2)


class ChartContact(TypedDict):
    """A family contact on the chart (or the appointment window) and their Generate PIN, if offered."""

    row: ContactRow
    badge: SafeString  # where the contact stands on the portal for this child, drawn
    pin: PinButton | None
    restricted: str  # in place of Generate PIN: "Restricted by court order since 3/2/2026"; "" if not


def chart_contacts(patient: Patient, contacts: Iterable[ContactRow]) -> list[ChartContact]:
    """The chart's family contacts: each one's portal state and Generate PIN, or why a restricted
    contact gets none (`pin_issue` would refuse it)."""
    refusal, badges, action = patient_invitation_refusal(patient), _Badges(), _pin_action()
    return [
        ChartContact(
            row=row,
            badge=badges.portal(row.status),
            pin=None
            if row.restriction
            else pin_button(
                patient.pk,
                row.contact.pk,
                refusal=refusal,
                contact_registered=bool(row.registered_as),
                label=f"Generate PIN for {row.contact.full_name}",
                action=action,
            ),
            restricted=row.restriction.reason if row.restriction else "",
        )
        for row in contacts
    ]


# ---------------------------------------------------------------- the dashboard


class AppointmentRow(TypedDict):
    """One line of the dashboard's appointment list."""

    time: str  # "9:05 AM"
    appointment_url: str
    patient: str  # "O'Keefe, Ben"
    chart_url: str
    age: str
    provider: str
    visit_type: str
    badge: SafeString  # drawn, as each badge below
    ehr_state: SafeString  # in place of Register: nobody is invited to this portal ("" if invited)
    register_url: str  # "" when Register is not offered
    resend: bool  # a PIN is out: sending again replaces it
    pin_went_out: str  # a Pending row's "sent 10:42 AM"


def appointment_rows(appointments: Iterable[dict], day: date) -> list[AppointmentRow]:
    """The dashboard's rows, from `selectors.appointment_rows_for_day`."""
    time_format, date_format, today = (
        get_format("TIME_FORMAT"),
        get_format("DATE_FORMAT"),
        timezone.localdate(),
    )
    appointment_url, chart_url = _UrlOf("staff:appointment"), _UrlOf("staff:patient-chart")
    register_url, badges = _UrlOf("staff:welcome-send"), _Badges()
    times: dict[datetime, str] = {}  # a busy day has many appointments at each time
    rows = []
    for a in appointments:
        refusal = invitation_refusal(
            active=a["patient__active"],
            deceased=a["patient__deceased"],
            deceased_on=a["patient__deceased_on"],
        )
        status = a["portal_status"]
        offered = welcome_offered(refusal, status)
        pending = offered and status == PortalStatus.PENDING
        if (time := times.get(a["starts_at"])) is None:
            time = times[a["starts_at"]] = dateformat.time_format(
                timezone.localtime(a["starts_at"]), time_format
            )
        rows.append(
            AppointmentRow(
                time=time,
                appointment_url=appointment_url(a["pk"]),
                patient=f"{a['patient__last_name']}, {a['patient__first_name']}",
                chart_url=chart_url(a["patient_id"]),
                age=age(a["patient__date_of_birth"], day),
                provider=a["provider"],
                visit_type=a["visit_type"],
                badge=badges.portal(status),
                ehr_state=badges(ehr_state_badge(refusal)),
                register_url=f"{register_url(a['patient_id'])}?appointment={a['pk']}" if offered else "",
                resend=pending,
                pin_went_out=_pin_went_out(a, today, time_format, date_format) if pending else "",
            )
        )
    return rows


# When a Pending row's PIN went out, by the latest news of it: its message sent, queued, or the PIN given.
_PIN_NEWS = (("pin_sent_at", "sent"), ("pin_queued_at", "queued"), ("pin_given_at", "PIN given"))


def _pin_went_out(row: dict, today: date, time_format: str, date_format: str) -> str:
    """ "sent 10:42 AM" (today) or "sent Nov 28, 2026"."""
    for key, verb in _PIN_NEWS:
        if (at := row.get(key)) is not None:
            at = timezone.localtime(at)
            if at.date() == today:
                return f"{verb} {dateformat.time_format(at, time_format)}"
            return f"{verb} {dateformat.format(at, date_format)}"
    return ""


# ---------------------------------------------------------------- patient search


class ContactLine(TypedDict):
    """A family contact in a search result's Family contacts cell."""

    name: str
    relationship: str
    pin: PinButton | None
    restricted: str  # in place of Generate PIN: the restriction's reason; "" if none


class PatientRow(TypedDict):
    """One patient found by the search."""

    patient: str  # "O'Keefe, Ben"
    chart_url: str
    born: str  # "Apr 17, 2019"
    age: str
    mrn: str
    badge: SafeString  # drawn, as each badge below
    ehr_state: SafeString
    contacts: list[ContactLine]


def patient_rows(patients: Iterable[Patient]) -> list[PatientRow]:
    """Patient search results, from `selectors.patient_search` with `contact_links_with_access`
    prefetched: one row per patient, its family contacts with a Generate PIN each where offered."""
    date_format, today = get_format("DATE_FORMAT"), timezone.localdate()
    chart_url, pin_action, badges = _UrlOf("staff:patient-chart"), _pin_action(), _Badges()
    rows = []
    for p in patients:
        refusal = patient_invitation_refusal(p)
        child = f"{p.first_name} {p.last_name}"
        contacts = []
        for link in p.contacts_with_access:
            restriction = link_restriction(link)
            contacts.append(
                ContactLine(
                    name=link.contact.full_name,
                    relationship=choice_label(link, "relationship"),
                    pin=None
                    if restriction
                    else pin_button(
                        p.pk,
                        link.contact_id,
                        refusal=refusal,
                        contact_registered=bool(link.access_email),
                        label=f"Generate PIN for {link.contact.full_name}, parent of {child}",
                        action=pin_action,
                    ),
                    restricted=restriction.reason if restriction else "",
                )
            )
        rows.append(
            PatientRow(
                patient=f"{p.last_name}, {p.first_name}",
                chart_url=chart_url(p.pk),
                born=dateformat.format(p.date_of_birth, date_format),
                age=age(p.date_of_birth, today),
                mrn=p.mrn,
                badge=badges.portal(p.portal_status),
                ehr_state=badges(ehr_state_badge(refusal)),
                contacts=contacts,
            )
        )
    return rows
