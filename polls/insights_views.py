"""Staff insights pages: popularity, activity, sign-ups and moderation load.

The figures come from polls.insights; this module only checks access, reads
the page's options and lays out the SVG charts, which the templates draw
with the numbers also given as text.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from polls import activity, insights

COMMON_ZONES = (
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
DEFAULT_FUNNEL_DAYS = 30


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to the login page; signed-in non-staff get the 403 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("Insights are for staff.")
        _flush_if_process_local()
        return view(request, *args, **kwargs)

    return wrapper


def _flush_if_process_local() -> None:
    # With the embedded local-memory cache (`make run`) the view counters live in this
    # process only, where the flush command's timer cannot reach them: fold them in here.
    if isinstance(caches["default"], LocMemCache):
        activity.flush()


@require_GET
@staff_only
def insights_popular(request: HttpRequest) -> HttpResponse:
    rankings = insights.popular_questions(now=timezone.now())
    return render(request, "insights/popular.html", {"rankings": rankings, "section": "popular"})


@require_GET
@staff_only
def insights_activity(request: HttpRequest) -> HttpResponse:
    zone = _zone(request.GET.get("tz", ""))
    heatmap = insights.activity_heatmap(now=timezone.now(), zone=zone)
    zones = COMMON_ZONES if zone.key in COMMON_ZONES else (*COMMON_ZONES, zone.key)
    context = {
        "heatmap": heatmap,
        "charts": [HeatmapChart.of(grid) for grid in heatmap.grids],
        "heat_legend": HEAT_LEGEND,
        "zones": zones,
        "zone": zone.key,
        "hour_labels": [f"{hour:02d}" for hour in range(24)],
        "section": "activity",
    }
    return render(request, "insights/activity.html", context)


@require_GET
@staff_only
def insights_signups(request: HttpRequest) -> HttpResponse:
    days = _choice(request.GET.get("days", ""), insights.FUNNEL_WINDOWS, DEFAULT_FUNNEL_DAYS)
    steps = insights.signup_funnel(now=timezone.now(), days=days)
    context = {
        "steps": steps,
        "chart": FunnelChart.of(steps),
        "days": days,
        "windows": insights.FUNNEL_WINDOWS,
        "section": "signups",
    }
    return render(request, "insights/signups.html", context)


@require_GET
@staff_only
def insights_moderation(request: HttpRequest) -> HttpResponse:
    load = insights.moderation_load(now=timezone.now())
    charts = [
        BarChart.of(title, [(day.day, getattr(day, name)) for day in load.days])
        for name, title in (
            ("held", "Questions held for review"),
            ("reports", "Reports filed"),
            ("resolved", "Reports resolved"),
        )
    ]
    context = {"load": load, "charts": charts, "section": "moderation"}
    return render(request, "insights/moderation.html", context)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> ZoneInfo:
    """The IANA zone named, or UTC for an empty or unknown name."""
    if name in COMMON_ZONES or name in _known_zones():
        return ZoneInfo(name)
    return ZoneInfo("UTC")


def _choice(value: str, allowed: Sequence[int], default: int) -> int:
    return int(value) if value.isdigit() and int(value) in allowed else default


# --- Chart layout ------------------------------------------------------------------------------

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
    cell: insights.Cell


@dataclass(frozen=True)
class HeatmapChart:
    """One group's weekday x hour grid, shaded relative to its own busiest hour."""

    CELL = 22
    LEFT = 40
    TOP = 18

    grid: insights.GroupGrid
    cells: list[HeatCell]
    row_labels: list[tuple[int, str]]
    column_labels: list[tuple[int, str]]
    width: int
    height: int

    @classmethod
    def of(cls, grid: insights.GroupGrid) -> HeatmapChart:
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
            (cls.TOP + weekday * cls.CELL + 15, name[:3])
            for weekday, name in enumerate(insights.WEEKDAYS)
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
    def of(cls, title: str, points: list[tuple]) -> BarChart:
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
    def of(cls, steps: list[insights.FunnelStep]) -> FunnelChart:
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
