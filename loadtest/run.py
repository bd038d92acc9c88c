"""A bounded load test on 127.0.0.1, printing the figures docs/security.md quotes.

    python loadtest/run.py --seconds 60 --users 20        (or: make loadtest)

It makes a fresh PostgreSQL database (psql on 127.0.0.1, user postgres), migrates it, seeds the demo
practice (`seed_demo --patients 2000`), issues a pool of PINs through the services, and starts:
gunicorn with 2 workers (production settings over plain http: loadtest/settings.py), one task worker
(`manage.py db_worker`, the database queue), and a fake Postmark on 127.0.0.1 that anymail's real
Postmark backend sends to, which refuses every email (503) for the first third of the run. Locust then
drives staff page views and welcome emails, PIN redemptions and self-registrations (loadtest/
locustfile.py). After the run it waits for the worker to drain the queue and prints requests per
second, median and 95th-percentile latency, errors, and what became of each welcome message and each
email about a parent's account.

Retries of welcome messages, and of parent account emails with them, back off from 1 s here
(WELCOME_RETRY_BASE_SECONDS=1; production: 60 s) so that the outage's retries finish within the run.
The PIN pool and the staff password live in a temporary folder that is deleted at the end, with the
database and every process it started, on Ctrl-C too. Not part of `make test`. Exit status 1 if a
target is missed: any server error, a welcome message lost or sent twice, or a parent account email
lost.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qtAc"]

from loadtest.fake_provider import TOKEN, FakePostmark  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long locust runs (default 60)")
    parser.add_argument("--users", type=int, default=20, help="concurrent locust users (default 20)")
    parser.add_argument("--patients", type=int, default=2000, help="seed_demo --patients (default 2000)")
    parser.add_argument("--drain", type=int, default=90, help="seconds to wait for the queue to empty")
    args = parser.parse_args()
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: a background job ignores it
        signal.signal(stop, _interrupt)

    run = Run(args)
    try:
        return run.execute()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", flush=True)
        return 130
    finally:
        run.cleanup()


class Run:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="portalreg-loadtest-"))  # 0700: it holds the PIN pool
        self.db = f"portalreg_loadtest_{os.getpid()}"
        self.db_made = False
        self.port = _free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.provider = FakePostmark()
        self.provider_started = False
        self.staff_password = secrets.token_urlsafe(18)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "loadtest.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            # Each locust visitor sends its own X-Forwarded-For, as a proxy would add it, from 127.0.0.1,
            # our "proxy": without this every visitor would be one address, and the per-address rate
            # limits would refuse most.
            "TRUSTED_PROXIES": "127.0.0.1",
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "MAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "MAIL_OPTIONS": "{}",
            "ANYMAIL": json.dumps({"POSTMARK_SERVER_TOKEN": TOKEN, "POSTMARK_API_URL": self.provider.url}),
            "WELCOME_RETRY_BASE_SECONDS": "1",
            "OUTBOX_DIR": str(self.tmp / "outbox"),
            "PORTAL_BASE_URL": f"http://127.0.0.1:{self.port}",
            "LOADTEST_STATIC_ROOT": str(self.tmp / "static"),
            "LOADTEST_DATA": str(self.tmp / "data.json"),
            "LOADTEST_RESULTS": str(self.tmp / "results.json"),
            "LOADTEST_STARTED": str(self.tmp / "started"),
            "LOG_LEVEL": "WARNING",
        }

    # ---------------------------------------------------------------- the run
    def execute(self) -> int:
        a = self.args
        started = time.monotonic()
        load = os.getloadavg()[0]
        self.step(f"database {self.db}", self.make_database)
        static = self.spawn(
            "collectstatic", [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
        )
        self.step("migrate", lambda: self.manage("migrate", "--noinput", "-v0"))
        self.step(
            f"seed_demo --patients {a.patients}",
            lambda: self.manage(
                "seed_demo", "--patients", str(a.patients), "--password", self.staff_password
            ),
        )
        self.step(
            "collectstatic (alongside)",
            lambda: static.wait() == 0 or _fail("collectstatic", self.log("collectstatic")),
        )
        os.environ.update(self.env)
        import django

        django.setup()
        self.provider.start()
        self.provider_started = True
        self.start_servers()  # they start while the PIN pool is made
        baseline = self.step("PIN pool and staff targets, through the services", self.prepare)
        self.step("gunicorn (2 workers) and the task worker up, both web workers warmed", self.wait_ready)
        hash_ms = _argon2_ms()
        self.warm_up_lines = len((self.tmp / "access.log").read_text().splitlines())

        self.provider.outage_until = float("inf")  # until locust starts; then a third of the run
        print(
            f"locust: {a.users} users for {a.seconds} s; the email provider refuses everything "
            f"for the first {a.seconds / 3:.0f} s",
            flush=True,
        )
        self.locust()
        load = (load, os.getloadavg()[0])
        drained = self.step("drain the task queue", lambda: self.drain(baseline["WelcomeMessage"]))
        return self.report(baseline, drained, load, hash_ms, time.monotonic() - started)

    def step(self, what: str, action):
        print(f"{what} ...", end=" ", flush=True)
        began = time.monotonic()
        result = action()
        print(f"{time.monotonic() - began:.1f} s", flush=True)
        return result

    def make_database(self) -> None:
        subprocess.run([*PSQL, f'CREATE DATABASE "{self.db}"'], check=True)  # noqa: S603
        self.db_made = True

    def manage(self, *args: str) -> None:
        log = self.tmp / "manage.log"
        with log.open("a") as out:
            done = subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if done.returncode:
            _fail(f"manage.py {args[0]}", log.read_text())

    def prepare(self) -> dict:
        """Issue the PIN pool through the services and write what locust needs; return where the
        database stood before the run, to count what the run added."""
        import random
        from concurrent.futures import ThreadPoolExecutor

        from django.db import connection
        from django.db.models import Max

        from accounts.models import User
        from patients.models import Patient, PatientContact
        from registration.models import (
            PortalAccess,
            RegistrationPath,
            SelfRegistrationRequest,
            WelcomeMessage,
        )
        from registration.selectors import self_registration_requests_matching
        from registration.services.errors import RegistrationError
        from registration.services.pins import pin_issue

        rng = random.Random(5)  # noqa: S311 (picks demo rows, nothing secret)
        front_desk = User.objects.get(username="frontdesk")
        registered = set(PortalAccess.objects.values_list("patient_id", flat=True))
        links = {}
        for link in PatientContact.objects.exclude(patient_id__in=registered).select_related(
            "patient", "contact"
        ):
            links.setdefault(link.patient_id, link)  # one contact per patient
        patients = sorted(links.values(), key=lambda link: link.pk)
        rng.shuffle(patients)
        wanted = min(len(patients) // 2, max(100, self.args.users * self.args.seconds // 5))
        to_pin, to_register = patients[:wanted], patients[wanted:]

        def issue(link):
            try:
                return pin_issue(
                    patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk
                ), link
            except RegistrationError:  # e.g. a waiting self-registration may be this parent
                return None, link
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # Argon2 lets go of the GIL
            issued = [(done, link) for done, link in pool.map(issue, to_pin) if done is not None]
        pins = [{"code": done.code, "born": link.patient.date_of_birth.isoformat()} for done, link in issued]
        self.pool = [done.pin.pk for done, _ in issued]
        charts = list(Patient.objects.values_list("pk", flat=True))
        names = sorted(set(Patient.objects.values_list("last_name", flat=True)))
        data = {
            "staff_username": front_desk.username,
            "staff_password": self.staff_password,
            "pins": pins,
            "register": [
                {"patient": link.patient_id, "link": link.pk}
                for link in to_register[:1000]
                # Not one a waiting sign-up may be from: staff would have to give a reason first.
                if not self_registration_requests_matching(
                    patient=link.patient, contacts=[link.contact]
                ).exists()
            ],
            "charts": rng.sample(charts, min(500, len(charts))),
            "searches": [n[:3] for n in rng.sample(names, min(50, len(names)))]
            + rng.sample(names, min(50, len(names))),
        }
        path = Path(self.env["LOADTEST_DATA"])
        path.touch(mode=0o600)
        path.write_text(json.dumps(data))
        print(f"({len(pins)} PINs, {len(data['register'])} patients to send welcome emails for)", end=" ")
        return {
            model.__name__: model.objects.aggregate(last=Max("pk"))["last"] or 0
            for model in (WelcomeMessage, SelfRegistrationRequest)
        }

    def start_servers(self) -> None:
        gunicorn = [str(BIN / "gunicorn"), "portalreg.wsgi:application", "--workers", "2"]
        gunicorn += ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        # The time each request spent in the app, to tell it from time spent waiting for a free worker.
        gunicorn += ["--access-logfile", str(self.tmp / "access.log"), "--access-logformat", "%(D)s %(s)s"]
        self.spawn("gunicorn", gunicorn)
        self.spawn("worker", [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2"])

    def wait_ready(self) -> None:
        """Wait for gunicorn, then send each page kind a few times at once, so that both workers have
        loaded everything before the measured run (a cold worker's first request takes seconds)."""
        from concurrent.futures import ThreadPoolExecutor

        def get(path: str) -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as answer:
                    return answer.status
            except OSError:
                return 0

        deadline = time.monotonic() + 90
        while get("/portal/") != 200:
            if time.monotonic() > deadline or self.processes["gunicorn"].poll() is not None:
                _fail("gunicorn", self.log("gunicorn"))
            time.sleep(0.2)
        pages = ["/portal/", "/portal/pin/", "/portal/sign-up/", "/staff/sign-in/"] * 4
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = Counter(pool.map(get, pages))
        if answers != {200: len(pages)}:
            _fail(f"warming up ({dict(answers)})", self.log("gunicorn"))

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        out = (self.tmp / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.processes[name]

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def locust(self) -> None:
        a = self.args
        self.spawn(
            "locust",
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "loadtest" / "locustfile.py"),
                "--headless",
                "--users",
                str(a.users),
                "--spawn-rate",
                str(max(1, a.users // 2)),
                "--run-time",
                f"{a.seconds}s",
                "--host",
                f"http://127.0.0.1:{self.port}",
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",
                "0",
                "--stop-timeout",
                "10",
            ],
        )
        locust = self.processes["locust"]
        started = Path(self.env["LOADTEST_STARTED"])
        while not started.exists() and locust.poll() is None:
            time.sleep(0.05)
        self.provider.outage_until = time.monotonic() + a.seconds / 3
        if locust.wait(timeout=a.seconds + 60) != 0 or not Path(self.env["LOADTEST_RESULTS"]).exists():
            raise SystemExit("locust failed:\n" + self.log("locust")[-3000:])

    def drain(self, baseline: int) -> float:
        """Wait until no welcome message or parent account email is waiting or being sent and the queue is
        empty."""
        from django_tasks_db.models import DBTaskResult

        from registration.models import ParentAccountEmail, WelcomeMessage

        began = time.monotonic()
        pending = (
            WelcomeMessage.Status.QUEUED,
            WelcomeMessage.Status.SENDING,
            WelcomeMessage.Status.RETRYING,
        )
        while time.monotonic() - began < self.args.drain:
            waiting = WelcomeMessage.objects.filter(pk__gt=baseline, status__in=pending).exists()
            waiting |= ParentAccountEmail.objects.filter(status__in=pending).exists()
            queued = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()
            if not waiting and not queued:
                break
            time.sleep(0.5)
        return time.monotonic() - began

    # ---------------------------------------------------------------- the figures
    def report(self, baseline: dict, drained: float, load: tuple, hash_ms: float, total: float) -> int:
        from django.db.models import Count

        from registration.models import ParentAccountEmail, Pin, SelfRegistrationRequest, WelcomeMessage

        a = self.args
        results = json.loads(Path(self.env["LOADTEST_RESULTS"]).read_text())
        seconds = results["stop"] - results["start"]
        everything = sorted(t for times in results["timings"].values() for t in times)
        statuses = Counter({int(k): v for k, v in results["statuses"].items()})
        server_errors = sum(v for k, v in statuses.items() if k >= 500)
        no_answer = statuses.get(0, 0)
        failures = Counter(results["failures"])

        Status = WelcomeMessage.Status
        messages = WelcomeMessage.objects.filter(pk__gt=baseline["WelcomeMessage"])
        by_status = Counter(
            dict(messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        )
        accepted = self.provider.accepted_per_address()
        addresses = {address.lower() for address in messages.values_list("address", flat=True)}
        sent_statuses = {Status.SENT, Status.DELIVERED}
        never_reached = [
            m for m in messages.filter(status__in=sent_statuses) if accepted[m.address.lower()] == 0
        ]
        lost = by_status[Status.QUEUED] + by_status[Status.SENDING] + len(never_reached)
        duplicated = sum(1 for address in addresses if accepted[address] > 1)
        account_emails = Counter(ParentAccountEmail.objects.values_list("status", flat=True))
        account_emails_retried = ParentAccountEmail.objects.filter(attempts__gt=1).count()
        cancelled_kinds = Counter(
            ParentAccountEmail.objects.filter(status=ParentAccountEmail.Status.CANCELLED).values_list(
                "kind", flat=True
            )
        )
        redeemed = Pin.objects.filter(pk__in=self.pool, redeemed_at__isnull=False).count()
        requests_made = SelfRegistrationRequest.objects.filter(
            pk__gt=baseline["SelfRegistrationRequest"]
        ).count()
        app_errors = self.log("gunicorn").count("Internal Server Error")

        print("\n================ load test figures ================")
        print(
            f"setup: PostgreSQL, {a.patients} patients, gunicorn 2 sync workers, 1 db_worker, "
            f"{os.cpu_count()} CPUs; load average {load[0]:.1f} before the run, {load[1]:.1f} at its end"
        )
        print(
            f"run: {a.users} users for {seconds:.1f} s; "
            f"email provider refusing (503) for the first {a.seconds / 3:.0f} s"
        )
        print(
            f"requests: {len(everything)} = {len(everything) / seconds:.1f} req/s; "
            f"median {statistics.median(everything):.0f} ms, p95 {_p95(everything):.0f} ms"
        )
        print(
            f"errors: {sum(failures.values())} failed requests, of which server errors (5xx) "
            f"{server_errors}, "
            f"no answer {no_answer}; status codes {dict(sorted(statuses.items()))}"
        )
        for reason, count in failures.most_common(8):
            print(f"  failure x{count}: {reason}")
        in_app = _in_app_ms(self.tmp / "access.log", self.warm_up_lines)
        print(
            f"time inside gunicorn's workers: median {statistics.median(in_app):.0f} ms, "
            f"p95 {_p95(in_app):.0f} ms (the rest is waiting for one of the 2 workers); Argon2 with "
            f"Django's parameters took {hash_ms:.0f} ms a hash here before the run"
        )
        print(f"{'request':48} {'count':>6} {'median':>7} {'p95':>7}")
        for name, times in sorted(results["timings"].items(), key=lambda item: -len(item[1])):
            print(
                f"  {name:46} {len(times):6} {statistics.median(times):5.0f}ms {_p95(sorted(times)):5.0f}ms"
            )
        print(
            f"registrations: {redeemed} PINs redeemed (of {len(self.pool)} issued), "
            f"{requests_made} self-registration requests"
        )
        print(
            f"welcome messages: queued {len(addresses)}, sent {sum(by_status[s] for s in sent_statuses)}, "
            f"failed {by_status[Status.FAILED]}, cancelled {by_status[Status.CANCELLED]}, "
            f"still retrying {by_status[Status.RETRYING]}, lost {lost}, duplicated {duplicated}; "
            f"{messages.filter(attempts__gt=1).count()} of them sent only after a retry"
        )
        print(
            f"email provider: refused {self.provider.refused} (outage), accepted {sum(accepted.values())}; "
            f"queue drained {drained:.1f} s after the run"
        )
        Email = ParentAccountEmail.Status
        emails_lost = account_emails[Email.QUEUED] + account_emails[Email.SENDING]
        print(
            f"parent account emails (confirm / already-registered / password reset): queued "
            f"{account_emails.total()}, sent {account_emails[Email.SENT]}, "
            f"failed {account_emails[Email.FAILED]}, cancelled {account_emails[Email.CANCELLED]} "
            f"(no longer wanted: {dict(cancelled_kinds)}), still retrying {account_emails[Email.RETRYING]}, "
            f"lost {emails_lost}; "
            f"{account_emails_retried} of them sent only after a retry"
        )
        print(f"gunicorn log: {app_errors} 'Internal Server Error' entries; total time {total:.0f} s")
        return 1 if server_errors or no_answer or lost or duplicated or emails_lost else 0

    # ---------------------------------------------------------------- cleaning up
    def cleanup(self) -> None:
        for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not cut this short
            signal.signal(stop, signal.SIG_IGN)
        for process in reversed(self.processes.values()):  # each in a session of its own: its group
            _signal_group(process, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
        if self.provider_started:
            self.provider.stop()
        if "django" in sys.modules:
            from django.db import connections

            for connection in connections.all(initialized_only=True):
                if hasattr(connection, "close_pool"):
                    connection.close_pool()
                connection.close()
        if self.db_made:
            subprocess.run([*PSQL, f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'], check=False)  # noqa: S603
        shutil.rmtree(self.tmp, ignore_errors=True)  # the PIN pool and staff password with it
        print(f"cleaned up: processes stopped, database {self.db} dropped, {self.tmp} deleted", flush=True)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group this run started `process` in (gunicorn's workers are in it too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _argon2_ms() -> float:
    """The median of three password hashes with the settings' hasher (Argon2, Django's parameters)."""
    from django.contrib.auth.hashers import make_password

    times = []
    for _ in range(3):
        began = time.perf_counter()
        make_password(secrets.token_urlsafe(16))
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _in_app_ms(log: Path, skip: int) -> list[float]:
    """Milliseconds each request spent in a gunicorn worker (access log lines "<microseconds> <status>"),
    leaving out the first `skip` lines: the warm-up."""
    lines = log.read_text().splitlines()[skip:]
    return sorted(int(line.split()[0]) / 1000 for line in lines if line.strip()) or [0.0]


def _fail(what: str, log: str):
    raise SystemExit(f"{what} failed:\n{log[-3000:]}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
