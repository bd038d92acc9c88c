"""`make bench`: staff pages at 10,000 and 100,000 patients on PostgreSQL, against the targets of issues 6
and 17 (bench/targets.py).

It holds an advisory lock on the server for the whole run, so a second run waits for the first. For each
size it prepares a database if absent (migrate, then `seed_demo --patients N --busy-day 300`, so both
sizes show the same 300-appointment day and only the data around it grows), tops it up for today, runs
`VACUUM ANALYZE` on it (as production's autovacuum would; this machine runs without), runs
bench/measure.py on it, then prints one table and writes bench/results.json: the rows, the seconds each
seed took, the commit measured and whether its tree had changes. Exit status 1 if a target is missed.

    python bench/run.py [--sizes 10000 100000] [--requests 60] [--fresh] [--seed N]
                        [--server postgres://postgres@127.0.0.1:5432]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lock import bench_lock  # noqa: E402
from bench.targets import BARE, FLOOR, FLOOR_TO_BARE, MAX_GROWTH, judge  # noqa: E402

PYTHON = sys.executable
BUSY_DAY = 300
DEMO_PASSWORD = "portal demo pass phrase"  # noqa: S105 - the demo's published password


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=80, help="rounds of timed requests (default 80)")
    parser.add_argument("--fresh", action="store_true", help="drop the databases and seed them anew")
    parser.add_argument("--seed", type=int, help="the shuffled orders' seed (default: a new one, recorded)")
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()
    # One seed for every size: the same orders at each, so growth compares like with like.
    seed = random.randrange(2**31) if args.seed is None else args.seed  # noqa: S311 - an order, not a secret
    measured = _commit()  # before the run: the code it starts with

    rows, seeding = [], {}
    with bench_lock(f"{args.server}/postgres"):
        for size in args.sizes:
            url = f"{args.server}/portalreg_bench_{size // 1000}k"
            seeding[size] = _prepare(url, size, fresh=args.fresh)
            print(f"measuring {size:,} patients ({args.requests} requests a page, seed {seed}) …", flush=True)
            rows += _measure(url, size, args.requests, seed)

    failures = judge(rows, min(args.sizes), max(args.sizes))
    _print(rows, args.sizes)
    results = {
        **measured,
        "sizes": args.sizes,
        "requests": args.requests,
        "order_seed": seed,
        "seeded": {size: how for size, (how, _, _) in seeding.items()},
        "seed_seconds": {size: seconds for size, (_, seconds, _) in seeding.items()},
        "vacuum_analyze_seconds": {size: seconds for size, (_, _, seconds) in seeding.items()},
        "rows": rows,
        "failures": failures,
    }
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    dirty = " (with uncommitted changes)" if results["dirty"] else ""
    print(f"\nwrote bench/results.json ({len(rows)} rows, commit {results['commit']}{dirty})")
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nEvery target met: ratios to the floor and to the bare view, query counts, growth.")
    return 0


def _measure(url: str, size: int, requests: int, seed: int) -> list[dict]:
    measured = subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench" / "measure.py"),
            *("--patients", str(size), "--requests", str(requests), "--seed", str(seed)),
        ],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if measured.returncode:
        sys.exit(f"bench/measure.py failed:\n{measured.stderr}")
    return json.loads(measured.stdout)


def _commit() -> dict:
    """The commit measured, and whether the tree differed from it (a figure of uncommitted code)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return {"commit": None, "dirty": None}
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True)
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _prepare(url: str, size: int, *, fresh: bool) -> tuple[str, float, float]:
    """Create and seed the database once; later runs only add today's appointments (seconds). Then
    VACUUM ANALYZE, as production's autovacuum would. Return how it was seeded ("fresh" or "topped up"),
    the seconds seed_demo took and the seconds VACUUM ANALYZE took."""
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    if fresh:
        subprocess.run(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    exists = subprocess.run(
        ["psql", server, "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    started = time.perf_counter()
    what = "seeding" if not exists else "topping up"
    print(f"{what} {name}: seed_demo --patients {size} --busy-day {BUSY_DAY} …", flush=True)
    subprocess.run(
        [
            *manage,
            "seed_demo",
            "--patients",
            str(size),
            "--busy-day",
            str(BUSY_DAY),
            "--password",
            DEMO_PASSWORD,
        ],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    # What production's autovacuum would have done after such a load: fresh statistics for the planner,
    # index pending lists flushed, visibility maps set. This machine's PostgreSQL runs without
    # autovacuum; without it the bench measures plans production would not choose.
    seeded = time.perf_counter()
    subprocess.run(["psql", url, "-qc", "VACUUM ANALYZE"], check=True)
    vacuumed = time.perf_counter()
    how = "topped up" if exists else "fresh"
    print(
        f"  {name} {how}: seed_demo {seeded - started:.1f} s, VACUUM ANALYZE {vacuumed - seeded:.1f} s",
        flush=True,
    )
    return how, round(seeded - started, 1), round(vacuumed - seeded, 1)


def _print(rows: list[dict], sizes: list[int]) -> None:
    header = (
        f"{'page':<28} {'patients':>9} {'queries':>7} {'median ms':>9} {'p95 ms':>8} "
        f"{'x floor':>7} {'target':>6} {'growth':>6}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for size in sizes:
        for row in (r for r in rows if r["patients"] == size):
            target = f"{row['ratio_target']}x" if row["ratio_target"] else "-"
            if row["name"] == BARE:  # its cost at least 1/10 of the floor's: the floor at most 10x it
                target = f">={1 / FLOOR_TO_BARE:g}x"
            ratio = (
                f"{row['ratio_to_floor']:.2f}"
                if row["ratio_to_floor"] < 1
                else f"{row['ratio_to_floor']:.1f}"
            )
            growth = f"{row['growth']}x" if "growth" in row else ""
            flag = (
                ""
                if row["ratio_ok"]
                and row["queries_ok"]
                and row.get("growth", 0) <= MAX_GROWTH
                and row.get("plan_ok", True)
                else "  <-"
            )
            print(
                f"{row['name']:<28} {row['patients']:>9,} {row['queries']:>7} {row['median_ms']:>9.2f} "
                f"{row['p95_ms']:>8.2f} {ratio:>6}x {target:>6} {growth:>6}{flag}"
            )
        bare = next((r for r in rows if r["patients"] == size and r["name"] == BARE), None)
        if bare:
            floor = next(r for r in rows if r["patients"] == size and r["name"] == FLOOR)
            verdict = "met" if bare["ratio_ok"] else "MISSED"
            print(
                f"floor / bare view at {size:,}: {bare['floor_to_bare']}x ({floor['median_ms']:.2f} ms"
                f" / {bare['median_ms']:.2f} ms; target <= {FLOOR_TO_BARE}x: {verdict})"
            )
        print()
    print("How name searches reach the patients (EXPLAIN after VACUUM ANALYZE; bench/plans.py re-samples):")
    for row in rows:
        if "plan" in row:
            print(f"  {row['name']:<26} {row['patients']:>9,}  {' + '.join(row['plan'])}")
            print(f"  {'  prepared, generic':<26} {'':>9}  {' + '.join(row['generic_plan'])}")


if __name__ == "__main__":
    sys.exit(main())
