"""What an import did, and the one error that stops it before it starts."""

import re
from dataclasses import dataclass, field
from enum import StrEnum

KINDS = ("patients", "contacts", "links", "appointments")  # and "restrictions", when a file has Consents
OUTCOMES = ("created", "updated", "unchanged", "rejected")


class ImportFileError(Exception):
    """The file is not one this import reads (wrong kind, not text, missing columns). Nothing was read."""


@dataclass(frozen=True)
class Problem:
    """One rejected row or resource: where it is in the file ("line 14", "entry 3") and why."""

    position: str
    reason: str

    def sort_key(self) -> tuple[int, str]:
        number = re.search(r"\d+", self.position)
        return (int(number.group()) if number else 0, self.position)


class ChangeKind(StrEnum):
    PATIENT_CREATED = "patient_created"
    PATIENT_UPDATED = "patient_updated"
    CONTACT_ADDED = "contact_added"  # a family contact linked to a patient's chart
    CONTACT_UPDATED = "contact_updated"  # a family contact's email or phone changed


@dataclass(frozen=True, slots=True)
class Change:
    """One record the import added or changed that the audit trail keeps.

    Patients added or changed, contacts added to a chart, and contacts whose email or phone changed:
    the ones that decide who may see a chart and where its PINs go. `changed` maps each changed field
    to its [before, after] values, as text.
    """

    kind: ChangeKind
    patient_id: int
    contact_id: int | None = None
    changed: dict[str, list[str]] | None = None


def empty_counts() -> dict[str, dict[str, int]]:
    return {kind: dict.fromkeys(OUTCOMES, 0) for kind in KINDS}


@dataclass
class ImportReport:
    """Counts per record kind and outcome, and every problem with its position."""

    kind: str
    dry_run: bool
    counts: dict[str, dict[str, int]] = field(default_factory=empty_counts)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    # What was left out of records that were still imported (a malformed phone, an unknown relationship).
    warnings: list[Problem] = field(default_factory=list)
    # Resources of types the portal does not use (Encounter, Observation...), by type.
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(outcome["rejected"] for outcome in self.counts.values())

    def summary(self) -> str:
        """Return the report as plain text: a line per kind, then the problems in file order."""
        verb = "Dry run of" if self.dry_run else "Imported"
        lines = [
            f"{verb} {self.kind} in {self.seconds:.1f} s" + (" (nothing was saved)" if self.dry_run else "")
        ]
        width = max(len(kind) for kind in self.counts)
        for kind, c in self.counts.items():
            if any(c.values()):
                lines.append(
                    f"  {kind:<{width}}  {c['created']:>7} created  {c['updated']:>7} updated  "
                    f"{c['unchanged']:>7} unchanged  {c['rejected']:>7} rejected"
                )
        if len(lines) == 1:
            lines.append("  no records the portal uses")
        if self.skipped:
            skipped = ", ".join(f"{n} {name}" for name, n in sorted(self.skipped.items()))
            lines.append(f"  skipped (not used by the portal): {skipped}")
        if self.problems:
            lines.append(f"{len(self.problems)} rejected:")
            lines.extend(f"  {p.position}: {p.reason}" for p in self.problems)
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''} (imported):")
            lines.extend(f"  {p.position}: {p.reason}" for p in self.warnings)
        return "\n".join(lines)
