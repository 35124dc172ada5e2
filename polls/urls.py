from __future__ import annotations

from django.urls import include, path

from beebeta.replica import lag_tolerant
from polls import feeds, views
from polls.whole_responses import cached_whole

app_name = "polls"

urlpatterns = [
    path("", views.home, name="home"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<str:slug>/", views.tag_detail, name="tag"),
    path("tags/<str:slug>/activity/", views.tag_activity, name="tag_activity"),
    path("search/", views.search_view, name="search"),
    path("ask/", views.ask, name="ask"),
    path("ask/pending/", views.ask_pending, name="ask_pending"),
    path("q/<str:slug>/", views.question_detail, name="question"),
    path("q/<str:slug>/activity/", views.question_activity, name="question_activity"),
    # A question as open data; slugs never hold a dot, so these never shadow a question.
    path("q/<str:slug>.json", views.question_json, name="question_json"),
    path("q/<str:slug>.csv", views.question_csv, name="question_csv"),
    path("data/", views.data_page, name="data"),
    path("q/<str:slug>/vote/", views.vote, name="vote"),
    # An anonymous visitor's pick, held until they log in, sign up or give an email address.
    path("q/<str:slug>/almost-there/", views.almost_there, name="almost_there"),
    path("q/<str:slug>/withdraw/", views.withdraw, name="withdraw"),
    path("q/<str:slug>/report/", views.report, name="report"),
    path("q/<str:slug>/shared/", views.link_copied, name="link_copied"),
    # The only page other sites may frame: the question and its result, read-only.
    path("q/<str:slug>/embed/", views.embed, name="embed"),
    path("oembed/", views.oembed, name="oembed"),
    path("share-card.png", views.generic_share_card, name="share_card"),
    path("time-zone/", views.time_zone, name="time_zone"),
    # Atom feeds, kept whole in memcached.
    path("feeds/new/", cached_whole(lag_tolerant(feeds.NewQuestionsFeed())), name="feed_new"),
    path(
        "feeds/closed/", cached_whole(lag_tolerant(feeds.ClosedQuestionsFeed())), name="feed_closed"
    ),
    path("feeds/tags/<str:slug>/", cached_whole(lag_tolerant(feeds.TagFeed())), name="feed_tag"),
    # Staff insights: their own URLconf, with no namespace of its own, so the names stay
    # polls:insights, polls:insights_activity...
    path("insights/", include("polls.insights.urls")),
]
