"""How fast the EHR import is: 100,000 patients with two contacts each, against PostgreSQL COPY.

    .venv/bin/python bench/import_speed.py [--patients N] [--server postgres://postgres@127.0.0.1:5432]

Makes a CSV in a temporary folder, creates the scratch database portalreg_import_bench, migrates it,
imports the file twice (the second run finds everything unchanged), COPYs the same rows into a table
of text columns as the floor, prints rows per second, and drops the database.
"""

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "portalreg_import_bench"
FIRST = ["Ava", "Liam", "Maya", "Noah", "Emma", "Leo", "Isla", "Owen", "Zoe", "Eli", "Ruby", "Omar"]
ADULT = ["Elena", "Jorge", "Grace", "Linh", "Sara", "Ali", "Ana", "Tom", "Carmen", "David", "Mei"]
LAST = ["Rivera", "Chen", "Smith", "Nguyen", "Khan", "Lopez", "Diaz", "Patel", "Okafor", "Brown"]
COLUMNS = [
    "mrn",
    "patient_first_name",
    "patient_last_name",
    "date_of_birth",
    "sex",
    "contact_id",
    "contact_first_name",
    "contact_last_name",
    "relationship",
    "email",
    "cell_phone",
    "preferred_language",
]


def write_csv(path: Path, patients: int) -> int:
    rng = random.Random(7)
    rows = 0
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(COLUMNS)
        for n in range(patients):
            last = rng.choice(LAST)
            born = date(2008, 1, 1) + timedelta(days=rng.randrange(6500))
            child = [f"M{n:07d}", rng.choice(FIRST), last, born.isoformat(), rng.choice("FM")]
            mother = rng.choice(ADULT)
            out.writerow(
                [
                    *child,
                    f"C{n:07d}a",
                    mother,
                    last,
                    "mother",
                    f"{mother.lower()}.{n}@example.org",
                    f"(202) 555-{n % 10000:04d}",
                    rng.choice(["en", "es"]),
                ]
            )
            out.writerow(
                [*child, f"C{n:07d}b", rng.choice(ADULT), last, "father", "", f"301555{n % 10000:04d}", ""]
            )
            rows += 2
    return rows


def psql(server: str, sql: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()
    url = f"{args.server}/{DATABASE}"
    psql(args.server, f'DROP DATABASE IF EXISTS "{DATABASE}"')
    psql(args.server, f'CREATE DATABASE "{DATABASE}"')
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "patients.csv"
            rows = write_csv(path, args.patients)
            size = path.stat().st_size / 1e6
            print(f"{args.patients:,} patients, {rows:,} rows ({size:.1f} MB)")
            env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "portalreg.settings.dev"}
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            os.environ.update(env)
            sys.path.insert(0, str(ROOT))
            import django

            django.setup()
            from django.db import connection

            from patients.importing import import_file

            for label in ("first import", "second import (all unchanged)"):
                with path.open("rb") as file:
                    report = import_file(file, name=path.name, dry_run=False)
                print(f"{label}: {report.seconds:.1f} s, {rows / report.seconds:,.0f} rows/s")
                print(report.summary())
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TABLE copy_floor ({', '.join(f'{c} text' for c in COLUMNS)})")
                started = time.monotonic()
                copying = cursor.copy("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)")
                with copying as copy, path.open("rb") as file:
                    while chunk := file.read(1 << 20):
                        copy.write(chunk)
                seconds = time.monotonic() - started
            print(
                f"floor, PostgreSQL COPY of the same rows into text columns: {seconds:.2f} s, "
                f"{rows / seconds:,.0f} rows/s"
            )
            connection.close()
    finally:
        psql(args.server, f'DROP DATABASE IF EXISTS "{DATABASE}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
