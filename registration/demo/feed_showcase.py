"""The EHR feed, in the visible demo: a few HL7 v2 messages as an EHR sends them, received through the
same service as the listener, so the admins' EHR feed page has something to show: an update of a
demo chart that changes nothing (applied), a lab result (not used), and a new registration with a
partial birth date (refused, with its reason). None adds a record: the demo's counts stay its own.

The control ids are fixed, so a second run is answered as a repeat and applies nothing.
"""

from collections import Counter
from datetime import date

from patients.models import Patient
from registration.hl7_feed.services import message_receive

MSH = "MSH|^~\\&|EPIC|MAPLE|PORTALREG|MAPLE|{stamp}||{kind}|{control}|P|2.5.1|||AL|NE||UNICODE UTF-8"


def feed_showcase(*, today: date) -> Counter:
    """Receive the demo's messages; count the new ones by outcome (none on a second run)."""
    chart = Patient.objects.filter(active=True, merged_into=None).order_by("mrn").first()
    if chart is None:
        return Counter()
    stamp = today.strftime("%Y%m%d") + "0815"
    name, born = f"{chart.last_name}^{chart.first_name}", f"{chart.date_of_birth:%Y%m%d}"
    pid = f"PID|1||{chart.mrn}^^^MAPLE^MR||{name}||{born}|{chart.sex}"
    messages = [
        ("ADT^A08^ADT_A01", "DEMO-FEED-1", [f"EVN|A08|{stamp}", pid]),
        ("ORU^R01^ORU_R01", "DEMO-FEED-2", [pid, "OBX|1|NM|8302-2^Height||101|cm"]),
        (
            "ADT^A04^ADT_A01",
            "DEMO-FEED-3",
            [f"EVN|A04|{stamp}", "PID|1||F9002^^^MAPLE^MR||Ortiz^Leo||201806|M"],
        ),
    ]
    made: Counter = Counter()
    for kind, control, segments in messages:
        text = "\r".join([MSH.format(stamp=stamp, kind=kind, control=control), *segments]) + "\r"
        receipt = message_receive(text.encode(), peer="demo")
        if not receipt.duplicate:
            made[f"feed messages {receipt.outcome}"] += 1
    return made
