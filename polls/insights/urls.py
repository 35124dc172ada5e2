"""The staff insights pages, included under /insights/ in the polls namespace."""

from __future__ import annotations

from django.urls import path

from polls.insights import views

urlpatterns = [
    path("", views.insights_popular, name="insights"),
    path("activity/", views.insights_activity, name="insights_activity"),
    path("signups/", views.insights_signups, name="insights_signups"),
    path("moderation/", views.insights_moderation, name="insights_moderation"),
    path("integrity/", views.insights_integrity, name="insights_integrity"),
]
