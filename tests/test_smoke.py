import datetime as dt

from registration import services
from registration.models import PortalStatus
from registration.selectors import patient_portal_status


def test_pin_path_end_to_end(chart, staff):
    issued = services.pin_issue(patient=chart.patient, contact=chart.contact, path="chart", by=staff)
    assert patient_portal_status(chart.patient) == PortalStatus.PENDING
    access = services.pin_redeem(
        code=issued.code.lower().replace("-", " "),
        child_birth_date=chart.patient.date_of_birth,
        new_account=services.NewAccount(
            email="Mum@Example.org", password="a long enough pass phrase", first_name="A", last_name="B"
        ),
    )
    assert access.patient == chart.patient
    assert patient_portal_status(chart.patient) == PortalStatus.REGISTERED
    assert dt.date.today()
