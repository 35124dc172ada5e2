from __future__ import annotations

from django.urls import include, path

from polls import views

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
    path("time-zone/", views.time_zone, name="time_zone"),
    # Staff insights: their own URLconf, with no namespace of its own, so the names stay
    # polls:insights, polls:insights_activity...
    path("insights/", include("polls.insights.urls")),
]
