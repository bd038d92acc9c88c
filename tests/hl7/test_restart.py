"""`manage.py hl7_listen` killed (SIGKILL) in the middle of a stream and started again: the sender, like an
interface engine, sends again whatever it has no ACK for, and every message is applied exactly once."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from patients.models import FamilyContact, Patient, PatientContact
from registration.models import AuditEvent, FeedMessage
from tests.hl7 import messages as m
from tests.hl7.conftest import END, START, Ack, FeedClient, ack_read

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
MESSAGES = 300


class Listeners:
    """`manage.py hl7_listen` processes on this test's database, each stopped at the end."""

    def __init__(self, log: Path):
        db = connection.settings_dict
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portalreg.settings.test",
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        }
        self.log = log.open("a")
        self.processes: list[subprocess.Popen] = []
        self.port = 0

    def start(self, workers: int = 1) -> subprocess.Popen:
        """Start a listener (on the first one's port, once there is one) and wait until it listens."""
        command = ["manage.py", "hl7_listen", "--host", "127.0.0.1", "--port", str(self.port)]
        process = subprocess.Popen(  # noqa: S603 (our own command)
            [sys.executable, *command, "--workers", str(workers)],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log,  # its per-message log lines, never read: a pipe would fill up and block it
            text=True,
        )
        self.processes.append(process)
        line = process.stdout.readline()
        assert line.startswith("HL7 feed listening on 127.0.0.1:"), f"the listener said {line!r}"
        self.port = int(line.split(":")[1].split()[0])
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        self.log.close()


@pytest.fixture
def listeners(tmp_path):
    running = Listeners(tmp_path / "hl7_listen.log")
    yield running
    running.stop_all()


class InterfaceEngine:
    """Sends messages in order, each until it is acknowledged: after a closed connection, a reset or
    a timeout it connects again and sends the same message again."""

    def __init__(self, listeners: Listeners):
        self.listeners = listeners
        self.client: FeedClient | None = None
        self.resent = 0

    def deliver(self, message: str, *, in_flight=None) -> Ack:
        """Send until acknowledged; `in_flight()` runs once, after the message is sent, before its ACK."""
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client is None:
                    self.client = FeedClient(self.listeners.port, timeout=10)
                self.client.socket.sendall(START + message.encode() + END)
                if in_flight is not None:
                    in_flight()
                    in_flight = None
                data = self.client.receive()
                if data.endswith(END):
                    return ack_read(data)
            except OSError:
                pass  # refused, reset or timed out: as good as no ACK
            self.close()
            self.resent += 1
            assert time.monotonic() < deadline, "a message was never acknowledged"
            time.sleep(0.05)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def registration(number: int) -> tuple[str, str]:
    control = f"KILL{number:05d}"
    mrn = f"MP-K{number:04d}"
    mother = m.nk1(1, "López", f"María {number}", phones=(f"^PRN^CP^^1^312^555{number % 10000:04d}",))
    return control, m.adt("A04", control, mrn=mrn, last="Muñoz", first=f"Sofía {number}", contacts=(mother,))


def test_killed_and_restarted_mid_stream_nothing_is_lost_or_applied_twice(listeners):
    first = listeners.start()
    engine = InterfaceEngine(listeners)
    pauses = random.Random(16)  # how long after the send each kill comes: 0 to 20 ms
    running = {"process": first}

    def kill_and_restart() -> None:
        # The first at once (the message unread or being applied); later ones may come after the ACK.
        time.sleep(pauses.uniform(0, 0.02) if len(listeners.processes) > 1 else 0)
        running["process"].send_signal(signal.SIGKILL)
        running["process"].wait(10)
        running["process"] = listeners.start()

    kills = {75, 150, 151, 240}  # 151: killed again right after a restart
    try:
        for number in range(MESSAGES):
            control, message = registration(number)
            ack = engine.deliver(message, in_flight=kill_and_restart if number in kills else None)
            assert (ack.code, ack.control_id) == ("AA", control)
    finally:
        engine.close()

    assert len(listeners.processes) == 1 + len(kills)
    assert engine.resent >= 1  # a message the killed listener did not answer was sent again
    assert Patient.objects.filter(mrn__startswith="MP-K").count() == MESSAGES
    assert FamilyContact.objects.count() == PatientContact.objects.count() == MESSAGES
    controls = list(FeedMessage.objects.values_list("control_id", flat=True))
    assert sorted(controls) == [f"KILL{n:05d}" for n in range(MESSAGES)]
    assert set(FeedMessage.objects.values_list("outcome", flat=True)) == {"applied"}
    for action in (AuditEvent.Action.PATIENT_CREATED_BY_IMPORT, AuditEvent.Action.CONTACT_ADDED_BY_IMPORT):
        events = AuditEvent.objects.filter(action=action)
        assert events.count() == MESSAGES
        assert len(set(events.values_list("details__hl7", flat=True))) == MESSAGES


def test_sigterm_stops_the_listener_after_its_answers(listeners):
    process = listeners.start()
    client = FeedClient(listeners.port)
    control = m.control_id()
    assert client.ack(m.adt("A08", control, mrn="MP-K9001")).code == "AA"

    process.send_signal(signal.SIGTERM)

    assert process.wait(30) == 0
    assert process.stdout.read().strip() == "HL7 feed stopped"
    assert client.receive() == b""  # its idle connection was closed
    client.close()
    assert FeedMessage.objects.get(control_id=control).outcome == "applied"


def _workers(listener: subprocess.Popen) -> list[int]:
    path = Path(f"/proc/{listener.pid}/task/{listener.pid}/children")
    return sorted(int(pid) for pid in path.read_text().split())


def test_a_worker_process_killed_mid_stream_is_replaced_and_nothing_is_lost_or_applied_twice(listeners):
    listener = listeners.start(workers=2)
    deadline = time.monotonic() + 10
    while len(_workers(listener)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    engine = InterfaceEngine(listeners)
    killed: list[int] = []

    def kill_a_worker() -> None:  # each worker in turn, so the one applying our messages is among them
        victim = next(pid for pid in _workers(listener) if pid not in killed)
        killed.append(victim)
        os.kill(victim, signal.SIGKILL)

    try:
        for number in range(120):
            control, message = registration(number)
            ack = engine.deliver(message, in_flight=kill_a_worker if number in (30, 60, 90) else None)
            assert (ack.code, ack.control_id) == ("AA", control)
    finally:
        engine.close()

    assert len(_workers(listener)) == 2 and not set(killed) & set(_workers(listener))  # replaced
    assert Patient.objects.filter(mrn__startswith="MP-K").count() == 120
    assert FeedMessage.objects.count() == 120
    created = AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_CREATED_BY_IMPORT)
    assert len(set(created.values_list("details__hl7", flat=True))) == created.count() == 120
    listener.send_signal(signal.SIGTERM)
    assert listener.wait(30) == 0
