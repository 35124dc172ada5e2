"""The geometry of the insights' SVG charts: where each bar and cell goes, and its shade.

The templates draw these shapes and give every number as text beside them; nothing here
reads the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from polls.insights.figures import WEEKDAYS, Cell, FunnelStep, GroupGrid, ModerationLoad

HEAT_LEVELS = 5
# What each shade means, for the legend beside every heatmap: a share of its busiest cell.
HEAT_LEGEND = [(0, "none")] + [
    (level, f"up to {100 * level // HEAT_LEVELS}%") for level in range(1, HEAT_LEVELS + 1)
]


def heat_level(value: int, highest: int) -> int:
    """0 for nothing, else 1 to HEAT_LEVELS in proportion to the busiest cell."""
    if value <= 0 or highest <= 0:
        return 0
    return max(1, math.ceil(HEAT_LEVELS * value / highest))


@dataclass(frozen=True)
class HeatCell:
    x: int
    y: int
    level: int
    cell: Cell


@dataclass(frozen=True)
class HeatmapChart:
    """One group's weekday x hour grid, shaded relative to its own busiest hour."""

    CELL = 22
    LEFT = 40
    TOP = 18

    grid: GroupGrid
    cells: list[HeatCell]
    row_labels: list[tuple[int, str]]
    column_labels: list[tuple[int, str]]
    width: int
    height: int

    @classmethod
    def of(cls, grid: GroupGrid) -> HeatmapChart:
        highest = max(cell.activity for cell in grid.cells)
        cells = [
            HeatCell(
                x=cls.LEFT + cell.hour * cls.CELL,
                y=cls.TOP + cell.weekday * cls.CELL,
                level=heat_level(cell.activity, highest),
                cell=cell,
            )
            for cell in grid.cells
        ]
        row_labels = [
            (cls.TOP + weekday * cls.CELL + 15, name[:3]) for weekday, name in enumerate(WEEKDAYS)
        ]
        column_labels = [
            (cls.LEFT + hour * cls.CELL + cls.CELL // 2, f"{hour:02d}") for hour in range(0, 24, 3)
        ]
        return cls(
            grid=grid,
            cells=cells,
            row_labels=row_labels,
            column_labels=column_labels,
            width=cls.LEFT + 24 * cls.CELL,
            height=cls.TOP + 7 * cls.CELL,
        )


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    value: int


@dataclass(frozen=True)
class BarChart:
    """Vertical bars, one per day, for the moderation series."""

    WIDTH = 600
    HEIGHT = 140
    AXIS = 18

    title: str
    bars: list[Bar]
    ticks: list[tuple[int, str]]
    highest: int
    total: int

    @property
    def baseline(self) -> int:
        return self.HEIGHT - self.AXIS

    @classmethod
    def of(cls, title: str, points: list[tuple[date, int]]) -> BarChart:
        highest = max((value for _, value in points), default=0)
        step = cls.WIDTH // max(len(points), 1)
        room = cls.HEIGHT - cls.AXIS - 4
        bars = []
        for i, (day, value) in enumerate(points):
            height = round(room * value / highest) if highest else 0
            if value and not height:
                height = 1
            bars.append(
                Bar(
                    x=i * step + 1,
                    y=cls.HEIGHT - cls.AXIS - height,
                    width=max(step - 2, 1),
                    height=height,
                    label=day.isoformat(),
                    value=value,
                )
            )
        # Weekly labels, month-day, each starting under its bar.
        ticks = [(bar.x, bar.label[5:]) for bar in bars[:: 7 if len(bars) > 7 else 1]]
        return cls(
            title=title,
            bars=bars,
            ticks=ticks,
            highest=highest,
            total=sum(value for _, value in points),
        )


@dataclass(frozen=True)
class FunnelChart:
    """Horizontal bars, one per funnel step, as long as its share of the registered."""

    WIDTH = 600
    ROW = 34
    LABEL = 190
    ROOM = 330

    bars: list[Bar]
    height: int

    @classmethod
    def of(cls, steps: list[FunnelStep]) -> FunnelChart:
        bars = [
            Bar(
                x=cls.LABEL,
                y=i * cls.ROW + 4,
                width=round(cls.ROOM * step.of_registered / 100),
                height=cls.ROW - 10,
                label=step.label,
                value=step.count,
            )
            for i, step in enumerate(steps)
        ]
        return cls(bars=bars, height=len(steps) * cls.ROW)


MODERATION_SERIES = (
    ("held", "Questions held for review"),
    ("reports", "Reports filed"),
    ("resolved", "Reports resolved"),
)


def moderation_charts(load: ModerationLoad) -> list[BarChart]:
    """One bar chart per moderation series, a bar per day."""
    return [
        BarChart.of(title, [(day.day, getattr(day, name)) for day in load.days])
        for name, title in MODERATION_SERIES
    ]
