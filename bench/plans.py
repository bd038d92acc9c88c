"""Which way PostgreSQL reaches the patients for a name search, and whether ANALYZE's sample changes it.

Issue 11: at 100,000 patients the planner walked the (last, first) name index and filtered 78,667 rows
for "smi" when ANALYZE's sample made that look cheap. Search now sorts by `sort_name`, which has no
index, so the trigram index on `search_name` should be the only way in whatever the statistics say.
This re-runs `ANALYZE patients_patient` several times (each takes a new random sample) and prints, for
each name search, the scans of the plan the staff search page runs (`selectors.patient_search(q)`, one
page and one row), through the app's own connection settings (random_page_cost, JIT off), and of the
generic plan a prepared statement may run instead.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portalreg_bench_100k \\
        python bench/plans.py [--analyze 5] [--timed] [q ...]

Exit status 1 if any plan reads patients other than through the trigram index. `bench/measure.py`
uses `scans()` to print the plan beside each name search row.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

TRIGRAM_INDEX = "patients_patient_search_name_trgm"
PATIENTS = "patients_patient"
SEARCHES = ("smi", "s jo")
PAGE = 26  # the search page asks for 25 rows and one more (registration/staff/views/patients.py)


def explain(queryset, *, analyze: bool = False) -> dict:
    """PostgreSQL's plan of `queryset` as JSON (with ANALYZE: run, with times and buffers), made for its
    parameters' values: the plan of a statement's first runs."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}", params)
        (plan,) = cursor.fetchone()
    return _parsed(plan)


def explain_generic(queryset) -> dict:
    """The plan PostgreSQL makes for `queryset` without its parameters' values: what a prepared statement
    may run from its sixth run on (`server_side_binding`, issue 17), if that plan looks no dearer."""
    from django.db import connection, transaction

    sql, params = queryset.query.sql_with_params()
    numbered = iter(range(1, len(params) + 1))
    # Django's placeholders as PREPARE's own: %s in turn becomes $1, $2, ...; %% is a literal %.
    body = re.sub(r"%(s|%)", lambda match: f"${next(numbered)}" if match[1] == "s" else "%", sql)
    values = connection.ops.compose_sql(", ".join(["%s"] * len(params)), params)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE bench_generic AS {body}")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE bench_generic ({values})")
            (plan,) = cursor.fetchone()
        finally:
            cursor.execute("DEALLOCATE bench_generic")
    return _parsed(plan)


def _parsed(plan) -> dict:
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]


def scans(plan: dict) -> list[str]:
    """How the plan reads the patients table: "Seq Scan", "Bitmap Index Scan <index>", ..."""
    found = []

    def walk(node: dict) -> None:
        index = node.get("Index Name", "")
        if node.get("Relation Name") == PATIENTS and not index:
            found.append(node["Node Type"])
        elif index.startswith(PATIENTS):
            found.append(f"{node['Node Type']} {index}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return found


def through_trigram(found: list[str]) -> bool:
    """True when the patients are reached only through the trigram index (plus the MRN `iexact`
    index the search ORs with it, and the heap visits of those bitmaps)."""
    allowed = {"Bitmap Heap Scan", f"Bitmap Index Scan {TRIGRAM_INDEX}"}
    return any(TRIGRAM_INDEX in s for s in found) and all(
        s in allowed or (s.startswith("Bitmap Index Scan") and "mrn" in s) for s in found
    )


def search_queryset(text: str):
    from registration import selectors

    return selectors.patient_search(text)[:PAGE]


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("searches", nargs="*", default=list(SEARCHES))
    parser.add_argument("--analyze", type=int, default=5, help="how many fresh ANALYZE samples (default 5)")
    parser.add_argument(
        "--timed", action="store_true", help="EXPLAIN ANALYZE: run each query, print its time"
    )
    args = parser.parse_args()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient")
        (patients,) = cursor.fetchone()
    print(f"{connection.settings_dict['NAME']}: {patients:,} patients")
    bad = 0
    for n in range(1, args.analyze + 1):
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PATIENTS}")
        for text in args.searches:
            plan = explain(search_queryset(text), analyze=args.timed)
            found, generic = scans(plan), scans(explain_generic(search_queryset(text)))
            ok = through_trigram(found) and through_trigram(generic)
            bad += not ok
            timed = f" {plan['Execution Time']:.1f} ms" if args.timed else ""
            flag = "" if ok else "  <- not the trigram index"
            print(f"  ANALYZE #{n} {text!r:>8}:{timed} {' + '.join(found)}{flag}")
            print(f"  {'generic':>22}: {' + '.join(generic)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
