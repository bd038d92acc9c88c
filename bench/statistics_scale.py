"""What keeping the registration counts costs, and what it saves, at each bench size (issue 17).

    DATABASE_URL=... .venv/bin/python bench/statistics_scale.py [--repeat 30]
    or: make bench-statistics  (both bench databases, which `make bench` seeds and migrates)

On one bench database: the periodic full recount (`tallies_recount`, the daily check) once, then the
counts read from the kept counters (`tallied_counts`, what the snapshot task reads every minute) and a
whole snapshot task, each `--repeat` times, with their queries. Prints one JSON line. Run at 10,000 and
100,000 patients, the recount grows with the patients holding a PIN or an access; the kept read must not.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from patients.models import Patient  # noqa: E402
from registration.models import StatusMark, StatusTally  # noqa: E402
from registration.statistics.snapshots import statistics_snapshot_take  # noqa: E402
from registration.statistics.tallies import tallied_counts, tallies_compact, tallies_recount  # noqa: E402


def _timed(call, repeat: int) -> tuple[float, int]:
    """Median milliseconds of `repeat` calls, and the queries of one."""
    with CaptureQueriesContext(connection) as captured:
        call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2), len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    now = timezone.now()
    start = time.perf_counter()
    wrong = tallies_recount(now)
    recount_ms = (time.perf_counter() - start) * 1000
    tallies_compact(now)
    kept_ms, kept_queries = _timed(lambda: tallied_counts(timezone.now()), args.repeat)
    task_ms, task_queries = _timed(lambda: statistics_snapshot_take(), max(3, args.repeat // 10))
    print(
        json.dumps(
            {
                "patients": Patient.objects.count(),
                "status_marks": StatusMark.objects.count(),
                "tally_rows": StatusTally.objects.count(),
                "recount_ms": round(recount_ms, 1),
                "recount_found_wrong": wrong,
                "kept_counts_ms": kept_ms,
                "kept_counts_queries": kept_queries,
                "snapshot_task_ms": task_ms,
                "snapshot_task_queries": task_queries,
            }
        )
    )


if __name__ == "__main__":
    main()
