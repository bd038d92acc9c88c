"""`make bench-server`: the staff pages under a real server, side by side with the floor.

Starts gunicorn (2 sync workers, pooled PostgreSQL connections, wsgi.py's gc.freeze) on 127.0.0.1
against the benchmark database `make bench` prepared, signs a front-desk user in, and drives each URL
with wrk for `--seconds` seconds (8 connections, 2 threads), one URL at a time. Prints requests per
second and wrk's latency figures; any answer other than 200 is counted and fails the run.

    python bench/serve.py [--patients 100000] [--seconds 10]
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
URLS = {
    "floor": "/bench/floor/",
    "dashboard (busy day)": "/staff/",
    "search: name fragment": "/staff/patients/?q=smi",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's run per URL (default 10)")
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk; `make bench-server` does it)")

    env = {
        **os.environ,
        "DATABASE_URL": f"{args.server}/portalreg_bench_{args.patients // 1000}k",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }
    os.environ.update(env)
    cookie = _staff_session_cookie()
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [BIN / "gunicorn", "portalreg.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(port)
        print(f"gunicorn, 2 workers, {args.patients:,} patients; wrk -t2 -c8 -d{args.seconds}s per URL\n")
        print(f"{'page':<24} {'req/s':>8} {'latency avg':>12} {'max':>10} {'not 200':>8}")
        failed = 0
        for name, path in URLS.items():
            figures = _wrk(f"http://127.0.0.1:{port}{path}", cookie, args.seconds)
            failed += figures["not_ok"]
            print(
                f"{name:<24} {figures['rps']:>8.0f} {figures['avg']:>12} {figures['max']:>10} "
                f"{figures['not_ok']:>8}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 1 if failed else 0


def _staff_session_cookie() -> str:
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="frontdesk"))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def _wrk(url: str, cookie: str, seconds: int) -> dict:
    out = subprocess.run(  # noqa: S603
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}", url],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    latency = re.search(r"Latency\s+(\S+)\s+\S+\s+(\S+)", out)
    not_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "avg": latency.group(1),
        "max": latency.group(2),
        "not_ok": int(not_ok.group(1)) if not_ok else 0,
    }


if __name__ == "__main__":
    sys.exit(main())
