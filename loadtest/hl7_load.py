"""Load the HL7 feed: 10,000 mixed messages over 4 MLLP connections, and print what it sustained.

    python loadtest/hl7_load.py [--messages 10000] [--connections 4] [--kill]     (or: make hl7-load)

It makes a fresh PostgreSQL database (psql on 127.0.0.1, user postgres), migrates it, and starts
`manage.py hl7_listen` on it (DEBUG off). Each connection plays an interface engine: it sends its
messages in order, waits for each ACK, and on a broken connection or a missing ACK connects again
and sends the same message again. The messages, written here, are what a practice's EHR sends in a
day: patients registered (A04, two parents each) and updated (A08), visits booked (S12), changed
(S14), cancelled (S15) or missed (S26), charts merged (A40), and results the portal ignores (ORU).
Each patient's messages go through one connection, in order, as an engine keeps them.

With `--kill`, at a third of the run one worker process is killed (SIGKILL) in the middle of its
messages (the listener starts another), and at two thirds the whole listener is killed and started
again; with `--restart-database`, PostgreSQL is restarted half way. At the end it prints messages per
second (first send to last ACK), ACK latency (median, 95th percentile, max), and checks against the
database that nothing was lost or applied twice: one stored message per control id, every message
answered as expected, one patient and one appointment per message that adds one, one "patient added"
audit event per patient. Targets (issue 16): at least 200 messages/s, ACK p95 at most 50 ms, 0 lost, 0
applied twice. Exit status 1 on a miss.
"""

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qtAc"]
START, END = b"\x0b", b"\x1c\x0d"
MSH_TAIL = "|||AL|NE||UNICODE UTF-8"  # MSH-15 to MSH-18: ACKs always, UTF-8
FIRST = ["José", "María", "Zoë", "Liam", "Sofía", "Noah", "Ana", "Mateo", "Chloé", "Ethan", "Amélie", "Iker"]
LAST = ["López", "Muñoz", "Nguyen", "O'Brien", "García", "Smith", "Pérez", "Kowalski", "Núñez", "Okafor"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--workers", type=int, default=2, help="hl7_listen --workers (default 2: one per core)"
    )
    parser.add_argument("--kill", action="store_true", help="kill and restart the listener twice mid-run")
    parser.add_argument(
        "--restart-database",
        action="store_true",
        help="restart PostgreSQL (pg_ctlcluster, this machine's cluster) half way through the run",
    )
    args = parser.parse_args()
    db = f"portalreg_hl7load_{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portalreg.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([*PSQL, f"CREATE DATABASE {db}"], check=True)
    listener = None
    try:
        subprocess.run(
            [BIN / "python", "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        port = _free_port()
        listener = _listen(env, port, args.workers)
        plan = Plan(args.messages, args.connections)
        print(
            f"{len(plan.all)} messages over {args.connections} connections to 127.0.0.1:{port} "
            f"(hl7_listen --workers {args.workers})",
            flush=True,
        )
        engines = [Engine(port, queue) for queue in plan.queues]
        threads = [threading.Thread(target=engine.run) for engine in engines]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        kills = [len(plan.all) // 3, 2 * len(plan.all) // 3] if args.kill else []
        restart_at = len(plan.all) // 2 if args.restart_database else None
        while any(t.is_alive() for t in threads):
            time.sleep(0.05)
            if restart_at is not None and sum(e.done for e in engines) >= restart_at:
                restart_at = None
                print(f"  restarting PostgreSQL after {sum(e.done for e in engines)} ACKs", flush=True)
                _database_restart()
            if kills and sum(e.done for e in engines) >= kills[0]:
                kills.pop(0)
                done = sum(e.done for e in engines)
                workers = _children(listener.pid)
                if len(kills) == 1 and workers:  # the first time, a worker applying messages
                    os.kill(workers[0], signal.SIGKILL)
                    print(
                        f"  killed a worker process after {done} ACKs; the listener starts another",
                        flush=True,
                    )
                else:  # then the whole listener, all its processes at once
                    os.killpg(listener.pid, signal.SIGKILL)
                    listener.wait()
                    print(f"  killed the listener after {done} ACKs; starting it again", flush=True)
                    listener = _listen(env, port, args.workers)
        seconds = time.monotonic() - started
        return report(plan, engines, seconds, env)
    finally:
        if listener is not None:
            listener.send_signal(signal.SIGTERM)
            listener.wait(30)
        subprocess.run([*PSQL, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)


class Plan:
    """The messages, each with the ACK code it must get, split into one ordered queue per connection."""

    def __init__(self, total: int, connections: int):
        rng = random.Random(16)
        self.queues: list[list[tuple[str, str, str]]] = [[] for _ in range(connections)]
        self.new_patients = self.new_appointments = self.merges = 0
        patient = 0
        count = 0
        while count < total:
            lane = self.queues[patient % connections]
            mrn = f"L{patient:07d}"
            first, last = rng.choice(FIRST), rng.choice(LAST)
            steps = [self.adt("A04", mrn, first, last, rng), self.adt("A08", mrn, first, last, rng)]
            steps += [self.siu("S12", mrn, first, last, patient, rng)]
            steps += [self.siu(rng.choice(["S14", "S15", "S26"]), mrn, first, last, patient, rng)]
            if patient % 25 == 24:
                steps.append(self.oru(mrn))
            if patient % 50 == 49 and patient >= connections:  # merge the chart of the same lane before it
                steps.append(self.a40(mrn, f"L{patient - connections:07d}", first, last))
                self.merges += 1
            steps = steps[: total - count]
            lane.extend(steps)
            count += len(steps)
            self.new_patients += any(s[0].startswith("A04") for s in steps)
            self.new_appointments += any(s[0].startswith("S12") for s in steps)
            patient += 1
        self.all = [m for lane in self.queues for m in lane]

    def _msh(self, kind: str, control: str) -> str:
        return f"MSH|^~\\&|EPIC|MAPLE|PORTALREG|MAPLE|20261201090000||{kind}|{control}|P|2.5.1" + MSH_TAIL

    def adt(self, event: str, mrn: str, first: str, last: str, rng) -> tuple[str, str, str]:
        control = f"{event}{mrn}"
        cell = f"312555{rng.randrange(1000, 9999)}"
        text = "\r".join(
            [
                self._msh(f"ADT^{event}^ADT_A01", control),
                f"EVN|{event}|20261201090000",
                f"PID|1||{mrn}^^^MAPLE^MR||{last}^{first}||2019{rng.randrange(1, 13):02d}15|F"
                "|||||||SPA^Spanish^ISO639",
                f"NK1|1|{last}^Ana^^^^^L|MTH^Mother^HL70063||^PRN^CP^^1^{cell[:3]}^{cell[3:]}"
                f"~^NET^Internet^ana.{mrn}@example.org",
                f"NK1|2|{last}^Luis|FTH^Father^HL70063||^PRN^PH^^1^312^5550100",
                "PV1|1|O",
            ]
        )
        return (f"{event}:{mrn}", control, text + "\r")

    def siu(self, event: str, mrn: str, first: str, last: str, number: int, rng) -> tuple[str, str, str]:
        control = f"{event}{mrn}"
        day = 2 + number % 20
        status = {"S15": "Cancelled", "S26": "Noshow"}.get(event, "Booked")
        starts = f"202612{day:02d}{9 + number % 8:02d}3000"
        text = "\r".join(
            [
                self._msh(f"SIU^{event}^SIU_S12", control),
                f"SCH|P{number}|F{number}^EPIC|||||WCC^Well child|WELL^Well visit|20|MIN|^^20^{starts}"
                f"||||||||||||||{status}",
                f"PID|1||{mrn}^^^MAPLE^MR||{last}^{first}||20190115|F",
                f"AIS|1||99393^Well child visit|{starts}",
                "AIP|1||1234^Patel^Ana^^^Dr.",
            ]
        )
        return (f"{event}:{mrn}", control, text + "\r")

    def oru(self, mrn: str) -> tuple[str, str, str]:
        control = f"R01{mrn}"
        text = (
            self._msh("ORU^R01", control)
            + f"\rPID|1||{mrn}^^^MAPLE^MR||X^Y||20190115|F\rOBX|1|NM|8302-2^Height||100|cm\r"
        )
        return (f"R01:{mrn}", control, text)

    def a40(self, mrn: str, prior: str, first: str, last: str) -> tuple[str, str, str]:
        control = f"A40{mrn}"
        text = "\r".join(
            [
                self._msh("ADT^A40^ADT_A39", control),
                f"PID|1||{mrn}^^^MAPLE^MR||{last}^{first}||20190115|F",
                f"MRG|{prior}^^^MAPLE^MR",
            ]
        )
        return (f"A40:{mrn}", control, text + "\r")


class Engine:
    """One connection of an interface engine: in order, each message until it is acknowledged."""

    def __init__(self, port: int, queue: list):
        self.port, self.queue = port, queue
        self.done = 0
        self.latencies: list[float] = []
        self.acks: dict[str, str] = {}
        self.resent = 0

    def run(self) -> None:
        sock = None
        for _, control, text in self.queue:
            while True:
                try:
                    sock = sock or socket.create_connection(("127.0.0.1", self.port), timeout=30)
                    sent = time.monotonic()
                    sock.sendall(START + text.encode() + END)
                    ack = _read_ack(sock)
                    self.latencies.append(time.monotonic() - sent)
                    break
                except OSError:
                    if sock is not None:
                        sock.close()
                    sock = None
                    self.resent += 1
                    time.sleep(0.2)
            self.acks[control] = ack.split(b"MSA|", 1)[1][:2].decode()
            self.done += 1
        if sock is not None:
            sock.close()


def _read_ack(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(END):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed before the ACK")
        data += chunk
    return data


def report(plan: Plan, engines: list[Engine], seconds: float, env: dict) -> int:
    latencies = sorted(x for e in engines for x in e.latencies)
    acks = {k: v for e in engines for k, v in e.acks.items()}
    sent = len(plan.all)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    rate = sent / seconds
    wrong = [control for kind, control, _ in plan.all if acks.get(control) != "AA"]
    query = (
        "select (select count(*) from registration_feedmessage), "
        "(select count(distinct (sender, control_id)) from registration_feedmessage), "
        "(select count(*) from patients_patient), (select count(*) from patients_appointment), "
        "(select count(*) from registration_auditevent where action = 'patient_created_by_import'), "
        "(select count(*) from registration_auditevent where action = 'patient_merged'), "
        "(select count(*) from patients_patient where merged_into_id is not null)"
    )
    db = env["DATABASE_URL"].rsplit("/", 1)[1]
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qtAc", query],
        capture_output=True,
        text=True,
    )
    stored, distinct, patients, appointments, created, merge_events, merged = map(
        int, out.stdout.strip().split("|")
    )
    lost = sent - stored
    twice = (stored - distinct) + (created - plan.new_patients) + (merge_events - 2 * merged)
    print(f"sent {sent} messages in {seconds:.1f} s: {rate:.0f} messages/s applied end to end")
    print(
        f"ACK latency: median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms; sent again after a broken connection: "
        f"{sum(e.resent for e in engines)}"
    )
    print(
        f"stored {stored} (distinct {distinct}); patients {patients} of {plan.new_patients} added; "
        f"appointments {appointments} of {plan.new_appointments}; merges {merged} of {plan.merges}; "
        f"answered other than AA: {len(wrong)}"
    )
    print(f"lost: {lost}; applied twice: {twice}")
    missed = []
    if rate < 200:
        missed.append(f"{rate:.0f} messages/s < 200")
    if p95 > 50:
        missed.append(f"ACK p95 {p95:.1f} ms > 50 ms")
    if lost or twice or wrong or patients != plan.new_patients or appointments != plan.new_appointments:
        missed.append("messages lost, applied twice or refused")
    print("targets met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed else 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _database_restart() -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)


def _listen(env: dict, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [BIN / "python", "manage.py", "hl7_listen", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so that the whole listener can be killed
    )
    line = process.stdout.readline()
    if "listening" not in line:
        raise SystemExit(f"the listener did not start: {line!r}")
    return process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
