"""Staff insights pages: popularity, activity, sign-ups, moderation load and integrity.

The figures come from polls.insights.figures and the charts' geometry from
polls.insights.charts; these views only check access and read the page's options.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from beebeta import replica
from beebeta.request_types import AuthenticatedHttpRequest
from polls import covoting, integrity
from polls.insights import counting, figures
from polls.insights.charts import HEAT_LEGEND, FunnelChart, HeatmapChart, moderation_charts

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
        counting.flush_if_process_local()
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@staff_only
@replica.lag_tolerant
def insights_popular(request: AuthenticatedHttpRequest) -> HttpResponse:
    rankings = figures.popular_questions(now=timezone.now())
    return render(request, "insights/popular.html", {"rankings": rankings, "section": "popular"})


@require_GET
@staff_only
@replica.lag_tolerant
def insights_activity(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = _activity(_zone(request.GET.get("tz", "")))
    return render(request, "insights/activity.html", context)


@require_GET
@staff_only
@replica.lag_tolerant
def insights_signups(request: AuthenticatedHttpRequest) -> HttpResponse:
    days = _choice(request.GET.get("days", ""), figures.FUNNEL_WINDOWS, DEFAULT_FUNNEL_DAYS)
    return render(request, "insights/signups.html", _signups(days))


@require_GET
@staff_only
@replica.lag_tolerant
def insights_moderation(request: AuthenticatedHttpRequest) -> HttpResponse:
    load = figures.moderation_load(now=timezone.now())
    context = {"load": load, "charts": moderation_charts(load), "section": "moderation"}
    return render(request, "insights/moderation.html", context)


def _activity(zone: ZoneInfo) -> dict[str, Any]:
    heatmap = figures.activity_heatmap(now=timezone.now(), zone=zone)
    return {
        "heatmap": heatmap,
        "charts": [HeatmapChart.of(grid) for grid in heatmap.grids],
        "heat_legend": HEAT_LEGEND,
        "zones": COMMON_ZONES if zone.key in COMMON_ZONES else (*COMMON_ZONES, zone.key),
        "zone": zone.key,
        "hour_labels": [f"{hour:02d}" for hour in range(24)],
        "section": "activity",
    }


def _signups(days: int) -> dict[str, Any]:
    steps = figures.signup_funnel(now=timezone.now(), days=days)
    return {
        "steps": steps,
        "chart": FunnelChart.of(steps),
        "days": days,
        "windows": figures.FUNNEL_WINDOWS,
        "section": "signups",
    }


@require_GET
@staff_only
def insights_integrity(request: HttpRequest) -> HttpResponse:
    """Questions flagged as pushed lately, and the strongest co-voting: two queries, both read
    from what refresh_insights released."""
    now = timezone.now()
    flagged = [
        (check, integrity.integrity_of(check)) for check in integrity.recently_flagged(now=now)
    ]
    context = {
        "flagged": flagged,
        "pairs": list(covoting.strongest_pairs()),
        "recent_hours": int(integrity.RECENT.total_seconds() // 3600),
        "co_voting_minimum": covoting.minimum(),
        "section": "integrity",
    }
    return render(request, "insights/integrity.html", context)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> ZoneInfo:
    """The IANA zone named, or UTC for an empty or unknown name."""
    if name in COMMON_ZONES or name in _known_zones():
        return ZoneInfo(name)
    return ZoneInfo("UTC")


def _choice(value: str, allowed: Sequence[int], default: int) -> int:
    # Compared as text, never converted: "²" passes isdigit() and then fails int(), and
    # thousands of digits would be converted before being refused (both were a 500).
    return next((option for option in allowed if value == str(option)), default)
