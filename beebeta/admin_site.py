"""Beebeta's admin site: Django's, with every list's filters checked before they reach the
database.

Some values in an admin list's address pass Django's own checks and fail later, as a 500: a
year 0 or 99999 in a date drill-down, a number too large for a date. Here every list's query
is built (not run) as soon as its filters are read, and a value it cannot be built from is a
bad filter, which the admin answers as it does any other: back to the list with "?e=1".
Every ModelAdmin registered, Beebeta's and other apps', gets this, so a new one cannot miss it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.http import HttpRequest


class CheckedFilters(ChangeList):
    """A ChangeList whose query is compiled once its filters are applied."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        try:
            # Django's date drill-down turns the year, month and day into dates, and misses
            # some that cannot be (9999 has no next year; a huge number is an OverflowError).
            queryset = super().get_queryset(request, exclude_parameters)
            queryset.query.sql_with_params()
        except EmptyResultSet:
            pass  # a filter that matches nothing: an empty list, not an error
        except (ValueError, TypeError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset


@cache
def checked(change_list: type[ChangeList]) -> type[ChangeList]:
    return type(f"Checked{change_list.__name__}", (CheckedFilters, change_list), {})


class BeebetaAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        super().register(model_or_iterable, admin_class, **options)
        models = (
            model_or_iterable
            if isinstance(model_or_iterable, list | tuple)
            else [model_or_iterable]
        )
        for model in models:
            model_admin = self._registry[model]
            own = model_admin.get_changelist
            # On the instance: whatever ChangeList the ModelAdmin picks is checked.
            setattr(  # noqa: B010
                model_admin,
                "get_changelist",
                lambda request, own=own, **kwargs: checked(own(request, **kwargs)),
            )


class BeebetaAdminConfig(AdminConfig):
    default_site = "beebeta.admin_site.BeebetaAdminSite"
