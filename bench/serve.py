"""`make bench-server`: the staff pages under a real server, each against the floor and a bare view.

Holds the bench's lock (bench/lock.py), asks bench/measure.py for the pages `make bench` times (their
URLs and session cookies) on the database `make bench` prepared, starts gunicorn (2 sync workers, pooled
PostgreSQL connections; bench/wsgi.py: the site as portalreg/wsgi.py serves it, and the bare view without
middleware) on 127.0.0.1, and drives each URL with wrk (8 connections, 2 threads) for `--seconds` a
round, `--rounds` rounds, each round in a new order. Prints requests per second, wrk's latency, each
page's cost in floors (the floor's requests a second over its own) against its in-process target, and
the floor's share of the bare view's requests a second (target: at least 1/4). Exit status 1 if a
target is missed or any answer is not 200.

    python bench/serve.py [--patients 100000] [--seconds 5] [--rounds 2]
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lock import bench_lock  # noqa: E402
from bench.targets import BARE, FLOOR, SERVER_FLOOR_SHARE, judge_server, round_orders  # noqa: E402

BIN = Path(sys.executable).parent
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's run per URL and round (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over every URL (default 2)")
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
    with bench_lock(f"{args.server}/postgres"):
        pages = {page["name"]: page for page in _pages(env, args.patients)}
        port = _free_port()
        server = subprocess.Popen(
            [BIN / "gunicorn", "bench.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(port)
            figures = _drive(port, pages, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return _report(figures, args)


def _pages(env: dict, patients: int) -> list[dict]:
    """The GET pages bench/measure.py times, each with its URL and session cookie."""
    listed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "measure.py"), "--patients", str(patients), "--urls"],
        env=env,
        capture_output=True,
        text=True,
    )
    if listed.returncode:
        sys.exit(f"bench/measure.py --urls failed:\n{listed.stderr}")
    return json.loads(listed.stdout)


def _drive(port: int, pages: dict[str, dict], args) -> dict[str, dict]:
    for page in pages.values():  # every worker's first requests load templates and connect
        _check(port, page)
        _wrk(port, page, 1)
    runs: dict[str, list[dict]] = {name: [] for name in pages}
    seed = random.randrange(2**31)  # noqa: S311 - an order, not a secret
    for number, order in enumerate(round_orders(list(pages), args.rounds, seed), start=1):
        print(f"round {number} of {args.rounds} …", flush=True)
        for name in order:
            runs[name].append(_wrk(port, pages[name], args.seconds))
            _check(port, pages[name])  # still signed in: wrk counts a redirect to sign-in as success
    return {
        name: {
            "rps": sum(run["rps"] for run in done) / len(done),
            "avg_ms": sum(run["avg_ms"] for run in done) / len(done),
            "max_ms": max(run["max_ms"] for run in done),
            "not_ok": sum(run["not_ok"] for run in done),
        }
        for name, done in runs.items()
    }


def _report(figures: dict[str, dict], args) -> int:
    rows, failures = judge_server({name: figure["rps"] for name, figure in figures.items()})
    print(
        f"\ngunicorn, 2 workers, {args.patients:,} patients;"
        f" wrk -t2 -c8, {args.rounds} x {args.seconds} s per URL\n"
    )
    header = (
        f"{'page':<28} {'req/s':>8} {'avg ms':>8} {'max ms':>8} {'not 200':>7} {'x floor':>7} {'target':>7}"
    )
    print(header + "\n" + "-" * len(header))
    for row in rows:
        figure = figures[row["name"]]
        if row["name"] == BARE:
            target = f">={SERVER_FLOOR_SHARE:g}x"
        else:
            target = f"{row['target']}x" if row["target"] else "-"
        flag = "" if row["ok"] and not figure["not_ok"] else "  <-"
        print(
            f"{row['name']:<28} {row['rps']:>8.0f} {figure['avg_ms']:>8.2f} {figure['max_ms']:>8.1f}"
            f" {figure['not_ok']:>7} {_ratio(row['x_floor']):>6}x {target:>7}{flag}"
        )
        if figure["not_ok"]:
            failures.append(f"{row['name']}: {figure['not_ok']} answers other than 200")
    floor, bare = figures[FLOOR]["rps"], figures[BARE]["rps"]
    verdict = "met" if floor >= SERVER_FLOOR_SHARE * bare else "MISSED"
    print(
        f"\nfloor / bare view: {floor:.0f} / {bare:.0f} req/s = {floor / bare:.2f}"
        f" (target >= {SERVER_FLOOR_SHARE:g}: {verdict}); the bare view serves {bare / floor:.1f}x as many"
    )
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nEvery target met: the floor against the bare view, each page against the floor.")
    return 0


def _ratio(x: float) -> str:
    return f"{x:.2f}" if x < 1 else f"{x:.1f}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def _check(port: int, page: dict) -> None:
    """Refuse a page that does not answer 200 itself (a redirect to sign-in would time the sign-in page)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", page["url"], headers={"Cookie": page["cookie"]} if page["cookie"] else {})
    status = connection.getresponse().status
    if status != 200:
        sys.exit(f"{page['name']}: {page['url']} answered {status}, expected 200")


def _wrk(port: int, page: dict, seconds: int) -> dict:
    cookie = ["-H", f"Cookie: {page['cookie']}"] if page["cookie"] else []
    url = f"http://127.0.0.1:{port}{page['url']}"
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", *cookie, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    latency = re.search(r"Latency\s+(\S+)\s+\S+\s+(\S+)", out)
    not_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "avg_ms": _ms(latency.group(1)),
        "max_ms": _ms(latency.group(2)),
        "not_ok": int(not_ok.group(1)) if not_ok else 0,
    }


def _ms(figure: str) -> float:
    """wrk's "812.33us", "4.21ms" or "1.02s", in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", figure).groups()
    return float(number) * UNITS_MS[unit]


if __name__ == "__main__":
    sys.exit(main())
