"""Two benchmark runs cannot collide: the second waits for the first's lock (bench/lock.py)."""

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from bench.lock import bench_lock

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres


@pytest.fixture
def dsn(django_db_setup) -> str:
    """The test database, on the server the tests use: its lock is apart from a real run's."""
    db = connection.settings_dict
    return make_conninfo(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
    )


def _until(condition, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_second_run_waits_for_the_first_then_runs(dsn):
    heard, order = [], []

    def second_run():
        with bench_lock(dsn, on_wait=heard.append):
            order.append("second")

    with bench_lock(dsn, on_wait=heard.append):
        order.append("first")
        second = threading.Thread(target=second_run)
        second.start()
        assert _until(lambda: heard), "the second run never said it was waiting"
        assert order == ["first"]
        order.append("first done")
    second.join(timeout=30)

    assert order == ["first", "first done", "second"]
    assert len(heard) == 1
    assert heard[0].startswith("another benchmark holds the lock (portalreg bench (pid ")


def test_one_run_after_another_never_waits(dsn):
    heard = []
    for _ in range(2):
        with bench_lock(dsn, on_wait=heard.append):
            pass

    assert heard == []


def test_a_run_killed_midway_leaves_no_lock_behind(dsn):
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
        [
            sys.executable,
            "-c",
            "import sys, time; from bench.lock import bench_lock\n"
            "with bench_lock(sys.argv[1], on_wait=print):\n print('held', flush=True); time.sleep(60)",
            dsn,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()

    acquired = threading.Event()

    def next_run():
        with bench_lock(dsn, on_wait=lambda _: None):
            acquired.set()

    runner = threading.Thread(target=next_run, daemon=True)
    runner.start()
    assert _until(acquired.is_set), "the killed run's lock outlived it"
