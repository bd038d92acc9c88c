"""A running MLLP listener on 127.0.0.1 and a real socket client, as an interface engine connects.

The listener applies messages in its own threads, each with its own database connection: tests that
use it are transactional (`django_db(transaction=True)`), and each listener is stopped at the end of
its test so that those connections close.
"""

import socket
import ssl
from dataclasses import dataclass

import hl7
import pytest
from hl7.client import MLLPClient

from registration.hl7_feed.listener import RunningListener

START, END = b"\x0b", b"\x1c\x0d"


@dataclass(frozen=True)
class Ack:
    """What an ACK says: MSA-1 (AA, AE, AR), MSA-2 (the control id acknowledged), MSA-3, its ERRs."""

    code: str
    control_id: str
    text: str
    errors: list[str]
    raw: str

    @property
    def error_codes(self) -> set[str]:
        """The table 0357 codes of the ERR segments (ERR-3.1 from 2.5 on, ERR-1.4 before)."""
        codes = set()
        for err in self.errors:
            fields = err.split("|")
            if len(fields) > 3 and fields[3]:
                codes.add(fields[3].split("^")[0])
            elif len(fields) > 1:
                codes.add(fields[1].split("^")[3].split("&")[0])
        return codes


def ack_read(data: bytes) -> Ack:
    """An ACK frame as received, checked to be one whole MLLP frame of HL7 v2."""
    assert data.startswith(START) and data.endswith(END), f"not an MLLP frame: {data!r}"
    text = data[1 : -len(END)].decode("utf-8")
    message = hl7.parse(text)
    msh, msa = message.segment("MSH"), message.segment("MSA")
    assert str(msh[9]).startswith("ACK")
    segments = [str(segment) for segment in message]
    return Ack(
        code=str(msa[1]),
        control_id=str(msa[2]),
        text=str(msa[3]) if len(msa) > 3 else "",
        errors=[s for s in segments if s.startswith("ERR|")],
        raw=text,
    )


class FeedClient(MLLPClient):
    """The `hl7` library's MLLP client, reading the whole ACK frame (its own `send` takes whatever
    the first recv gives) and with a timeout, so a listener that never answers fails the test."""

    def __init__(self, port: int, *, tls: ssl.SSLContext | None = None, timeout: float = 15):
        super().__init__("127.0.0.1", port)
        self.socket.settimeout(timeout)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_hostname="localhost")

    def send(self, data: bytes) -> bytes:
        self.socket.sendall(data)
        return self.receive()

    def receive(self) -> bytes:
        """One ACK frame, or what came before the listener closed the connection (b"" if nothing)."""
        data = b""
        while not data.endswith(END):
            chunk = self.socket.recv(65536)
            if not chunk:
                return data
            data += chunk
        return data

    def ack(self, message: str | bytes) -> Ack:
        return ack_read(self.send_message(message))


@pytest.fixture
def listen(transactional_db):
    """Start a listener (settings read now and at each connection); every one is stopped afterwards."""
    started: list[RunningListener] = []

    def start(*, tls: ssl.SSLContext | None = None) -> RunningListener:
        started.append(RunningListener("127.0.0.1", 0, tls=tls))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def connect(listen):
    """Open a client connection to a listener's port; every one is closed before the listeners stop."""
    clients: list[FeedClient] = []

    def open_client(port: int, **kwargs) -> FeedClient:
        clients.append(FeedClient(port, **kwargs))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def feed(listen, connect) -> FeedClient:
    """A client connected to a fresh listener with the default settings."""
    return connect(listen().port)


def closed_at_once(sock: socket.socket) -> bool:
    """Whether the other side closed the connection without a word (reset counts as closed)."""
    try:
        return sock.recv(65536) == b""
    except (ConnectionError, ssl.SSLError):
        return True
