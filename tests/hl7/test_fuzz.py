"""Hostile and broken input through the socket (hypothesis): whatever arrives, the listener answers each
frame with an ACK (AA, AE or AR) or closes the connection cleanly, and goes on answering good messages."""

import logging
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hl7 import messages as m
from tests.hl7.conftest import END, START, FeedClient, ack_read

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT = 4096  # HL7_MAX_MESSAGE_BYTES here: huge segments meet it


def valid_message() -> bytes:
    contacts = (
        m.nk1(1, "López", "María", phones=("^PRN^CP^^1^312^5550123",), email="maria@example.org"),
        m.nk1(2, "Muñoz", "José", "FTH^Father^HL70063"),
    )
    return m.adt("A08", "FUZZ-BASE", mrn="MP-8001", contacts=contacts).encode()


def exchange(port: int, data: bytes) -> bytes:
    """Send `data` as it is, say we are done, and read whatever comes back until the listener closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # closed without reading all we sent: a clean close too
    return received


def acks_in(received: bytes) -> list[str]:
    """The ACK codes of a reply stream, which must be whole MLLP frames of HL7 ACKs and nothing else."""
    codes = []
    while received:
        end = received.find(END)
        assert received.startswith(START) and end != -1, f"not an ACK frame: {received[:200]!r}"
        codes.append(ack_read(received[: end + len(END)]).code)
        received = received[end + len(END) :]
    return codes


def answers_a_good_message(port: int) -> bool:
    control = m.control_id("GOOD")
    with FeedClient(port) as client:
        ack = client.ack(m.adt("A08", control, mrn="MP-8002"))
    return (ack.code, ack.control_id) == ("AA", control)


@st.composite
def mutated(draw) -> bytes:
    """A valid message broken one to three ways: cut, stray bytes (NUL and MLLP's own), a huge
    segment, other encoding characters or a random MSH; then framed, or not."""
    data = valid_message()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "insert", "huge", "encoding", "junk"]))
        if kind == "cut":
            data = data[:at]
        elif kind == "insert":
            stray = draw(st.sampled_from([b"\x00", b"\x1c", b"\x0b", b"\x1c\x0d", b"\r", b"|", b"\xff"]))
            data = data[:at] + stray + data[at:]
        elif kind == "huge":
            size = draw(st.sampled_from([LIMIT - 50, LIMIT, LIMIT + 10, 3 * LIMIT]))
            data = data[:at] + b"\rZZZ|" + b"x" * size + data[at:]
        elif kind == "encoding":
            characters = draw(st.binary(min_size=0, max_size=6))
            data = data[:3] + characters + data[8:]
        else:
            data = data[:at] + draw(st.binary(max_size=40)) + data[at:]
    framing = draw(st.sampled_from(["framed", "framed", "unframed", "no end", "two frames"]))
    if framing == "framed":
        return START + data + END
    if framing == "no end":
        return START + data
    if framing == "two frames":
        return START + data + END + START + valid_message().replace(b"FUZZ-BASE", b"FUZZ-TWO") + END
    return data


@pytest.fixture
def fuzz_port(settings, listen, caplog):
    settings.HL7_MAX_MESSAGE_BYTES = LIMIT
    caplog.set_level(logging.INFO)
    return listen().port


def errors_logged(caplog) -> list[str]:
    """What failed in our code ("could not be applied") or in asyncio ("Unhandled exception in
    client_connected_cb")."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_get_acks_or_a_clean_close(fuzz_port, caplog, data):
    caplog.clear()  # one fixture for every example
    framed = START + data + END

    for sent in (data, framed):
        assert set(acks_in(exchange(fuzz_port, sent))) <= {"AA", "AE", "AR"}
    assert answers_a_good_message(fuzz_port)
    assert errors_logged(caplog) == []


@FUZZ
@given(data=mutated())
def test_broken_messages_get_acks_or_a_clean_close(fuzz_port, caplog, data):
    caplog.clear()
    assert set(acks_in(exchange(fuzz_port, data))) <= {"AA", "AE", "AR"}
    assert answers_a_good_message(fuzz_port)
    assert errors_logged(caplog) == []


def test_an_oversized_message_cut_off_by_the_sender_is_closed_cleanly(fuzz_port, caplog):
    """A sender that goes away in the middle of a message over the limit: no answer, no error."""
    assert exchange(fuzz_port, START + b"MSH|^~\\&|" + b"x" * (3 * LIMIT)) == b""
    assert answers_a_good_message(fuzz_port)
    assert errors_logged(caplog) == []
