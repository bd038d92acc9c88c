"""An import's report as the run keeps it (JSON in `ImportRun.report`), and as its page shows it."""

from dataclasses import dataclass, field

from patients.importing import ImportReport, Problem

PROBLEMS_KEPT = 1000  # a file rejected line by line would otherwise store every line; the count is kept
# Row labels of the report's table; a soft hyphen (\u00ad) lets the longest break on a phone.
KIND_LABELS = {
    "patients": "Patients",
    "contacts": "Contacts",
    "links": "Contacts on charts",
    "appointments": "Appoint\u00adments",
}


def report_to_json(report: ImportReport) -> dict:
    warnings = report.warnings
    return {
        "kind": report.kind,
        # Pairs, not an object: PostgreSQL's jsonb keeps an object's keys in an order of its own.
        "counts": [[kind, outcomes] for kind, outcomes in report.counts.items()],
        "seconds": round(report.seconds, 3),
        "problems": [[p.position, p.reason] for p in report.problems[:PROBLEMS_KEPT]],
        "problem_count": len(report.problems),
        "warnings": [[p.position, p.reason] for p in warnings[:PROBLEMS_KEPT]],
        "warning_count": len(warnings),
        "skipped": sorted(report.skipped.items()),
    }


@dataclass(frozen=True)
class StoredReport:
    """What `staff/_import_report.html` draws."""

    kind: str
    dry_run: bool
    counts: dict[str, dict[str, int]]
    seconds: float
    problems: list[Problem]
    problem_count: int
    warnings: list[Problem] = field(default_factory=list)
    warning_count: int = 0
    skipped: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict, *, dry_run: bool) -> "StoredReport":
        return cls(
            kind=data.get("kind", ""),
            dry_run=dry_run,
            counts=dict(data.get("counts", [])),
            seconds=data.get("seconds", 0.0),
            problems=[Problem(position, reason) for position, reason in data.get("problems", [])],
            problem_count=data.get("problem_count", 0),
            warnings=[Problem(position, reason) for position, reason in data.get("warnings", [])],
            warning_count=data.get("warning_count", 0),
            skipped=[(name, count) for name, count in data.get("skipped", [])],
        )

    @property
    def rows(self) -> list[tuple[str, dict[str, int]]]:
        return [(KIND_LABELS.get(kind, kind.capitalize()), counts) for kind, counts in self.counts.items()]

    @property
    def rejected(self) -> int:
        return sum(outcomes.get("rejected", 0) for outcomes in self.counts.values())

    @property
    def changes(self) -> int:
        """Records the import would add or update."""
        return sum(o.get("created", 0) + o.get("updated", 0) for o in self.counts.values())

    @property
    def nothing_to_import(self) -> str:
        """Why importing this file would change nothing, for the preview to say in place of its button;
        "" when it would change something."""
        if self.changes:
            return ""
        unchanged = sum(outcomes.get("unchanged", 0) for outcomes in self.counts.values())
        if unchanged and self.rejected:
            return (
                "Nothing to import: the records that could be read are here already, unchanged, and the "
                "others were rejected (listed below)."
            )
        if unchanged:
            return "Nothing to import: every record in this file is here already, unchanged."
        if self.rejected:
            return (
                "Nothing can be imported: every record in this file was rejected (listed below). Correct "
                "them in the EHR, export again and choose the new file."
            )
        return "Nothing to import: the file holds no patients, parents or appointments."
