"""A message the sender repeats (same sender and MSH-10, because it never saw our ACK) gets the first
answer again and is applied once: on the same connection, on a new one, or on two at the same moment."""

import threading

import pytest

from patients.models import Patient
from registration.models import AuditEvent, FeedMessage
from tests.hl7 import messages as m
from tests.hl7.conftest import FeedClient
from tests.hl7.records import row_counts

pytestmark = pytest.mark.django_db(transaction=True)


def chart_with_mother(control: str, mrn: str = "MP-3001", cell: str = "^PRN^CP^^1^312^5550123") -> str:
    return m.adt("A08", control, mrn=mrn, contacts=(m.nk1(1, "López", "María", phones=(cell,)),))


def test_the_same_message_twice_on_one_connection_is_applied_once(feed):
    control = m.control_id()
    first = feed.ack(chart_with_mother(control))
    after_first = row_counts()

    again = feed.ack(chart_with_mother(control))

    assert (first.code, again.code) == ("AA", "AA")
    assert again.control_id == control
    assert row_counts() == after_first
    assert AuditEvent.objects.filter(details__hl7=control).count() == 2  # the chart and the mother, once


def test_a_repeat_on_a_new_connection_gets_the_first_answer(listen, connect):
    port = listen().port
    control = m.control_id()
    first = connect(port).ack(chart_with_mother(control))
    after_first = row_counts()

    again = connect(port).ack(chart_with_mother(control))

    assert (first.code, again.code, again.control_id) == ("AA", "AA", control)
    assert row_counts() == after_first


def test_a_repeated_control_id_is_not_applied_again_even_with_other_content(feed):
    """The control id names the message: a second body under it is the sender's mistake, not news."""
    control = m.control_id()
    feed.ack(chart_with_mother(control))

    again = feed.ack(chart_with_mother(control, cell="^PRN^CP^^1^312^5550199"))

    assert again.code == "AA"
    assert str(Patient.objects.get().contact_links.get().contact.cell_phone) == "+13125550123"


def test_a_refused_message_sent_again_is_refused_again_with_the_same_reason(feed):
    control = m.control_id()
    first = feed.ack(m.adt("A04", control, mrn="MP-3002", born="201903"))
    after_first = row_counts()

    again = feed.ack(m.adt("A04", control, mrn="MP-3002", born="201903"))

    assert (first.code, again.code) == ("AE", "AE")
    assert again.control_id == control
    assert "not a whole date" in first.text and "not a whole date" in again.text
    assert row_counts() == after_first
    assert not Patient.objects.exists()


def test_two_senders_may_use_the_same_control_id(feed):
    """Control ids are unique per sending application and facility, not across senders."""
    control = m.control_id()
    feed.ack(chart_with_mother(control, mrn="MP-3003"))
    other = chart_with_mother(control, mrn="MP-3004").replace("|EPIC|MAPLEPEDS|", "|CERNER|NORTHPEDS|", 1)

    assert feed.ack(other).code == "AA"
    assert set(Patient.objects.values_list("mrn", flat=True)) == {"MP-3003", "MP-3004"}
    assert FeedMessage.objects.filter(control_id=control).count() == 2


def _at_once(port: int, messages: list[str]) -> list[str]:
    """Send each message on its own connection, all released at the same moment; the ACK codes."""
    clients = [FeedClient(port) for _ in messages]
    gate = threading.Barrier(len(messages))
    codes: list[str] = [""] * len(messages)

    def send(number: int) -> None:
        gate.wait()
        codes[number] = clients[number].ack(messages[number]).code

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for client in clients:
        client.close()
    return codes


@pytest.mark.postgres
def test_the_same_message_on_two_connections_at_once_is_applied_once(listen):
    port = listen().port
    for round_ in range(8):
        control = m.control_id()
        message = chart_with_mother(control, mrn=f"MP-31{round_:02d}")

        assert _at_once(port, [message, message]) == ["AA", "AA"]

        assert FeedMessage.objects.filter(control_id=control).count() == 1
        assert Patient.objects.filter(mrn=f"MP-31{round_:02d}").count() == 1
        assert AuditEvent.objects.filter(details__hl7=control).count() == 2


@pytest.mark.postgres
def test_two_messages_adding_the_same_new_family_at_once_make_one_chart(listen):
    """Two messages (two control ids) for one new child and parent: one chart, one mother; each AA."""
    port = listen().port
    for round_ in range(8):
        mrn = f"MP-32{round_:02d}"
        messages = [chart_with_mother(m.control_id(), mrn=mrn), chart_with_mother(m.control_id(), mrn=mrn)]

        assert _at_once(port, messages) == ["AA", "AA"]

        patient = Patient.objects.get(mrn=mrn)
        assert patient.contact_links.count() == 1
