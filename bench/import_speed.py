"""How fast the EHR import is: 100,000 patients with two contacts each, against PostgreSQL COPY.

    .venv/bin/python bench/import_speed.py [--patients N] [--format csv fhir] [--path command page]
                                           [--server postgres://...]

For each format it makes an export in a temporary folder (a CSV, or a FHIR bulk export: Patient.ndjson
and RelatedPerson.ndjson in Epic's and Cerner's shapes) and COPYs the same rows or resources into a
table of text columns as the floor. Then, for each path, on the scratch database
portalreg_import_bench, made anew and migrated:
- command: imports the export twice with `import_ehr` (the second run finds everything unchanged);
- page: the staff Import page, as an admin uses it, with the task worker of the Procfile
  (`bench/import_page.py`): each file uploaded, previewed (a dry run), confirmed and imported.
It prints seconds, rows or resources per second, and the fraction of COPY's rate; then drops the database.
"""

import argparse
import csv
import json
import os
import random
import statistics
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
DIGITS = "{area}{exchange}{line}"  # a number as some exports write it: 3012301234
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


def phone_of(area: int, n: int, written: str = "({area}) {exchange}-{line}") -> str:
    """Patient n's parent's number, distinct for each of the first 700,000 patients. The import keeps the
    numbers it has checked (a parent of siblings comes again); numbers repeating every 10,000 patients
    were found there almost every time, and flattered the figures by about 2.6 s of reading."""
    return written.format(area=area, exchange=230 + n // 10_000 % 70, line=f"{n % 10_000:04d}")


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
                    phone_of(202, n),
                    rng.choice(["en", "es"]),
                ]
            )
            out.writerow(
                [*child, f"C{n:07d}b", rng.choice(ADULT), last, "father", "", phone_of(301, n, DIGITS), ""]
            )
            rows += 2
    return rows


def write_fhir(folder: Path, patients: int) -> int:
    """A bulk export: a Patient per child (Epic-style identifiers), two RelatedPersons per child."""
    rng = random.Random(7)
    with (
        (folder / "Patient.ndjson").open("w") as out_patients,
        (folder / "RelatedPerson.ndjson").open("w") as out_related,
    ):
        for n in range(patients):
            last = rng.choice(LAST)
            born = date(2008, 1, 1) + timedelta(days=rng.randrange(6500))
            patient = {
                "resourceType": "Patient",
                "id": f"e{n:07d}",
                "identifier": [
                    {"type": {"text": "CEID"}, "system": "urn:oid:1.2.840.114350.1.1", "value": f"C{n}"},
                    {"type": {"text": "MRN"}, "system": "urn:oid:1.2.840.114350.1.14", "value": f"M{n:07d}"},
                    {
                        "system": "http://hl7.org/fhir/sid/us-ssn",
                        "value": f"999-{n % 100:02d}-{n % 10000:04d}",
                    },
                ],
                "active": True,
                "name": [{"use": "official", "family": last, "given": [rng.choice(FIRST)]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": born.isoformat(),
                "communication": [{"language": {"coding": [{"code": rng.choice(["en", "es"])}]}}],
            }
            out_patients.write(json.dumps(patient) + "\n")
            for k, (code, display) in enumerate([("MTH", "Mother"), ("FTH", "Father")]):
                adult = rng.choice(ADULT)
                related = {
                    "resourceType": "RelatedPerson",
                    "id": f"r{n:07d}-{k}",
                    "identifier": [
                        {"type": {"text": "Person"}, "system": "urn:oid:2.16.1", "value": f"P{n}-{k}"}
                    ],
                    "patient": {"reference": f"Patient/e{n:07d}"},
                    "relationship": [
                        {
                            "coding": [
                                {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code}
                            ],
                            "text": display,
                        }
                    ],
                    "name": [{"family": last, "given": [adult]}],
                    "telecom": [
                        {"system": "phone", "value": phone_of(202 + k, n), "use": "mobile"},
                        {"system": "phone", "value": phone_of(301 + k, n, DIGITS), "use": "home"},
                        {"system": "email", "value": f"{adult.lower()}.{n}.{k}@example.org"},
                    ],
                }
                out_related.write(json.dumps(related) + "\n")
    return patients * 3


def psql(server: str, sql: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--format", nargs="+", choices=["csv", "fhir"], default=["csv", "fhir"])
    parser.add_argument("--path", nargs="+", choices=["command", "page"], default=["command", "page"])
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
    )
    args = parser.parse_args()
    for kind in args.format:
        measure(kind, args.patients, args.server, args.path)
    return 0


def measure(kind: str, patients: int, server: str, paths: list[str]) -> None:
    url = f"{server}/{DATABASE}"
    # Without debug, as production runs: debug keeps every query's SQL, each composed with its values.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "portalreg.settings.dev",
        "DEBUG": "0",
    }
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            if kind == "csv":
                rows, unit = write_csv(folder / "patients.csv", patients), "rows"
            else:
                rows, unit = write_fhir(folder, patients), "resources"
            size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
            print(f"\n{kind.upper()}: {patients:,} patients, {rows:,} {unit} ({size:.1f} MB)", flush=True)
            database_new(server, env)
            floor = rows / copy_floor(url, folder, kind)
            print(f"floor, PostgreSQL COPY of the same {unit} into text columns: {floor:,.0f} {unit}/s")

            def say(label: str, seconds: float) -> None:
                rate = rows / seconds
                print(
                    f"{label}: {seconds:.1f} s, {rate:,.0f} {unit}/s, 1/{floor / rate:.0f} of COPY",
                    flush=True,
                )

            if "command" in paths:
                database_new(server, env)
                for label in ("command, first import", "command, second import (all unchanged)"):
                    seconds, output = command_import(folder, env)
                    say(label, seconds)
                    print("\n".join("  " + line for line in output.splitlines() if line.startswith("  ")))
            if "page" in paths:
                database_new(server, env)
                figures = page_import(folder, env)
                say("Import page, preview (upload to the dry run finished)", figures["preview"])
                say("Import page, import (confirmation to the run finished)", figures["import"])
    finally:
        psql(server, f'DROP DATABASE IF EXISTS "{DATABASE}"')


def database_new(server: str, env: dict) -> None:
    psql(server, f'DROP DATABASE IF EXISTS "{DATABASE}"')
    psql(server, f'CREATE DATABASE "{DATABASE}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def command_import(folder: Path, env: dict) -> tuple[float, str]:
    """Seconds `import_ehr` took on the export, start-up included, and what it printed."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "import_ehr", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode:
        sys.exit(f"import_ehr failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout


def page_import(folder: Path, env: dict) -> dict[str, float]:
    """Seconds the Import page's runs took for the export's files, summed: {"preview": s, "import": s}."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_page.py"), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = done.stdout.splitlines()
    print("\n".join(lines[:-1]))
    if done.returncode:
        sys.exit(f"bench/import_page.py failed ({done.returncode})")
    return json.loads(lines[-1])


def copy_floor(url: str, folder: Path, kind: str) -> float:
    """Seconds to COPY the export's lines into a table of text columns (a resource a row, for FHIR):
    the median of three loads, the table emptied before each."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        if kind == "csv":
            cursor.execute(f"CREATE TABLE copy_floor ({', '.join(f'{c} text' for c in COLUMNS)})")
            sql = "COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)"
        else:
            cursor.execute("CREATE TABLE copy_floor (resource text)")
            sql = "COPY copy_floor FROM STDIN WITH (FORMAT text)"
        times = []
        for _ in range(3):
            cursor.execute("TRUNCATE copy_floor")
            started = time.monotonic()
            for path in sorted(folder.iterdir()):
                with cursor.copy(sql) as copy, path.open("rb") as file:
                    for line in file if kind == "fhir" else iter(lambda: file.read(1 << 20), b""):
                        copy.write(line.replace(b"\\", b"\\\\") if kind == "fhir" else line)
            times.append(time.monotonic() - started)
        return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
