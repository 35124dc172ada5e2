"""The question page's trend chart: each choice's share of the voters at the end of each day.

Geometry only: where each line and label goes in a fixed viewBox, which the template draws as
SVG with the same numbers in a table beside it. Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from polls.history import DayResult
from polls.models import Choice
from polls.results import Share, percent_text

# Lines drawn at most; the table has every choice.
MAX_LINES = 6
# A viewBox drawn about 1:1 on a wide screen and at half size on a phone: labels are large.
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 20, 36
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class TrendLine:
    choice: Choice
    # One "x,y x,y ..." per run of days with voters (a gap in the snapshots breaks the line).
    segments: tuple[str, ...]
    # Its style (colour and dash pattern, beebeta.css: .trend-line-N), 1 to MAX_LINES.
    style: int
    last: str


@dataclass(frozen=True)
class DayRow:
    day: DayResult
    x: float
    # (choice, share) in the order of the table's columns.
    shares: tuple[tuple[Choice, Share], ...]


@dataclass(frozen=True)
class TrendChart:
    lines: tuple[TrendLine, ...]
    # (x, label, text-anchor)
    x_labels: tuple[tuple[float, str, str], ...]
    # (y of the grid line, y of its label, label)
    y_labels: tuple[tuple[float, float, str], ...]
    # How far the reconstructed days reach from the left of the plot (0: none were).
    reconstructed_width: float
    rows: tuple[DayRow, ...]
    more_choices: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = TOP + PLOT_HEIGHT
    plot_height: int = PLOT_HEIGHT
    axis_label_x: int = LEFT - 8
    axis_label_y: int = HEIGHT - 8
    note_x: int = LEFT + 6
    note_y: int = TOP + 20


def trend_chart(days: Sequence[DayResult], choices: Sequence[Choice]) -> TrendChart | None:
    """The chart of ``days`` (oldest first) with the choices most voted on the last day first;
    None with fewer than two days that had voters."""
    counted = [day for day in days if day.voters > 0]
    if len(counted) < 2:
        return None
    last = counted[-1]
    ordered = sorted(choices, key=lambda choice: -last.votes_for(choice.pk))
    first_day, last_day = counted[0].day, last.day
    span = max((last_day - first_day).days, 1)

    def x(day: date) -> float:
        return round(LEFT + PLOT_WIDTH * (day - first_day).days / span, 1)

    def y(percent: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - percent / 100), 1)

    rows = tuple(
        DayRow(
            day=day,
            x=x(day.day),
            shares=tuple((c, Share.of(day.votes_for(c.pk), day.voters)) for c in ordered),
        )
        for day in counted
    )
    lines = []
    for style, choice in enumerate(ordered[:MAX_LINES], start=1):
        segments: list[list[str]] = []
        previous: date | None = None
        for row in rows:
            share = dict(row.shares)[choice]
            point = f"{x(row.day.day)},{y(share.percent)}"
            if previous is None or (row.day.day - previous).days > 1:
                segments.append([])
            segments[-1].append(point)
            previous = row.day.day
        lines.append(
            TrendLine(
                choice=choice,
                segments=tuple(" ".join(points) for points in segments),
                style=style,
                last=percent_text(dict(rows[-1].shares)[choice].percent),
            )
        )
    reconstructed = [row.x for row in rows if row.day.reconstructed]
    middle = first_day + (last_day - first_day) // 2
    x_days = sorted({first_day, middle, last_day})
    anchors = {first_day: "start", last_day: "end"}
    return TrendChart(
        lines=tuple(lines),
        x_labels=tuple(
            (x(day), f"{day.day} {day:%b}", anchors.get(day, "middle")) for day in x_days
        ),
        y_labels=tuple((y(level), y(level) + 6, f"{level}%") for level in (0, 25, 50, 75, 100)),
        reconstructed_width=round(max(reconstructed) - LEFT, 1) if reconstructed else 0,
        rows=rows,
        more_choices=max(0, len(ordered) - MAX_LINES),
    )
