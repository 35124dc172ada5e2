"""sitemap.xml: an index of sitemaps, so it stays valid however many questions there are.

A sitemap may list 50,000 addresses and an index 50,000 sitemaps; questions go PAGE_SIZE to a
sitemap page (``sitemap-questions.xml?p=N``), well under the limit and cheap to build, and the
index lists as many pages as they fill (one COUNT query). Only public questions and the tags
that have one are listed.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap as DjangoSitemap
from django.contrib.sitemaps import views as sitemap_views
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from polls.models import PUBLIC_STATUSES, Question, Tag

PAGE_SIZE = 5000


class Sitemap(DjangoSitemap):
    """Addresses on PUBLIC_ORIGIN when it is set, as canonical links are (beebeta/links.py)."""

    def get_protocol(self, protocol: str | None = None) -> str:
        if settings.PUBLIC_ORIGIN:
            return urlsplit(settings.PUBLIC_ORIGIN).scheme
        return super().get_protocol(protocol)

    def get_domain(self, site=None) -> str:  # noqa: ANN001  (Django's own signature)
        if settings.PUBLIC_ORIGIN:
            return urlsplit(settings.PUBLIC_ORIGIN).netloc
        return super().get_domain(site)


class QuestionSitemap(Sitemap):
    limit = PAGE_SIZE

    def items(self):
        # Ordered by id: a page holds the same questions however many are added after it.
        return Question.objects.public().order_by("pk").only("slug")

    def location(self, item: Question) -> str:
        return item.get_absolute_url()


class TagSitemap(Sitemap):
    limit = PAGE_SIZE

    def items(self):
        return (
            Tag.objects.filter(questions__status__in=PUBLIC_STATUSES)
            .distinct()
            .order_by("pk")
            .only("slug")
        )

    def location(self, item: Tag) -> str:
        return item.get_absolute_url()


class PageSitemap(Sitemap):
    """The pages that are not a question or a tag."""

    def items(self) -> list[str]:
        return ["polls:home", "polls:tags", "polls:data", "about", "privacy"]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS = {"pages": PageSitemap, "tags": TagSitemap, "questions": QuestionSitemap}


def index(request: HttpRequest, **kwargs) -> TemplateResponse:
    """Django's sitemap index, with each sitemap's address on PUBLIC_ORIGIN when it is set (its
    own view names them on the host the request came to)."""
    response = sitemap_views.index(request, **kwargs)
    if settings.PUBLIC_ORIGIN and response.context_data is not None:
        here = f"{request.scheme}://{request.get_host()}"
        response.context_data["sitemaps"] = [
            replace(item, location=settings.PUBLIC_ORIGIN + item.location.removeprefix(here))
            for item in response.context_data["sitemaps"]
        ]
    return response
