"""Geometry for the dashboard's weekly registrations chart, drawn as inline SVG by the template."""

from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format

from registration.models import RegistrationPath

# One colour per path, distinguishable for common colour blindness (Okabe-Ito palette).
PATH_COLOURS = {
    RegistrationPath.CHART: "#0072B2",
    RegistrationPath.APPOINTMENT_WINDOW: "#56B4E9",
    RegistrationPath.APPOINTMENT_LIST: "#E69F00",
    RegistrationPath.PATIENT_ADMIN: "#009E73",
    RegistrationPath.SELF_REGISTRATION: "#CC79A7",
}
# Drawn about 350 px wide on the dashboard: small chart units keep the labels readable.
WIDTH, HEIGHT, TOP, BOTTOM, LEFT, RIGHT = 360, 160, 12, 24, 26, 16


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class BarChart:
    segments: list[Segment]
    labels: list[tuple[float, str]]  # x, text under each bar
    peak: int
    legend: list[tuple[str, str]]  # colour, path label
    width: int = WIDTH
    height: int = HEIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    left: int = LEFT


def weekly_bars(weeks: list[tuple[date, dict[str, int]]]) -> BarChart:
    """Stack each week's registrations by path."""
    peak = max((sum(counts.values()) for _, counts in weeks), default=0) or 1
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    scale = (HEIGHT - TOP - BOTTOM) / peak
    segments, labels = [], []
    for i, (week, counts) in enumerate(weeks):
        x = LEFT + i * slot + slot * 0.15
        y = HEIGHT - BOTTOM
        for path, colour in PATH_COLOURS.items():
            n = counts.get(path, 0)
            if n:
                y -= n * scale
                title = f"Week of {date_format(week, 'MONTH_DAY_FORMAT')}: {n} by {path.label.lower()}"
                segments.append(
                    Segment(x, round(y, 1), round(slot * 0.7, 1), round(n * scale, 1), colour, title)
                )
        if (len(weeks) - 1 - i) % 2 == 0:  # every other week, ending with this one
            labels.append((round(x + slot * 0.35, 1), date_format(week, "MONTH_DAY_FORMAT")))
    return BarChart(
        segments=segments,
        labels=labels,
        peak=peak,
        legend=[(colour, path.label) for path, colour in PATH_COLOURS.items()],
    )
