from __future__ import annotations

from django.urls import path

from polls import views
from polls.insights_views import (
    insights_activity,
    insights_moderation,
    insights_popular,
    insights_signups,
)

app_name = "polls"

urlpatterns = [
    path("", views.home, name="home"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<str:slug>/", views.tag_detail, name="tag"),
    path("search/", views.search_view, name="search"),
    path("ask/", views.ask, name="ask"),
    path("ask/pending/", views.ask_pending, name="ask_pending"),
    path("q/<str:slug>/", views.question_detail, name="question"),
    path("q/<str:slug>/vote/", views.vote, name="vote"),
    path("q/<str:slug>/report/", views.report, name="report"),
    path("q/<str:slug>/shared/", views.link_copied, name="link_copied"),
]

# Staff insights.
urlpatterns += [
    path("insights/", insights_popular, name="insights"),
    path("insights/activity/", insights_activity, name="insights_activity"),
    path("insights/signups/", insights_signups, name="insights_signups"),
    path("insights/moderation/", insights_moderation, name="insights_moderation"),
]
