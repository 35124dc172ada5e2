from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import URLPattern, URLResolver, include, path

from beebeta import site_pages
from polls import sitemaps
from polls.sitemaps import SITEMAPS
from polls.whole_responses import cached_whole

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # Sign-up keeps django-registration's un-namespaced URL names.
    path("accounts/", include("accounts.registration_urls")),
    path("", include("polls.urls")),
    path("about/", site_pages.about, name="about"),
    path("privacy/", site_pages.privacy, name="privacy"),
    path("robots.txt", site_pages.robots_txt, name="robots_txt"),
    path("favicon.ico", site_pages.favicon, name="favicon"),
    # An index of sitemaps, each page of one kept whole in memcached.
    path(
        "sitemap.xml",
        cached_whole(sitemaps.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap_index",
    ),
    path(
        "sitemap-<section>.xml",
        cached_whole(sitemap_views.sitemap, params=("p",)),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
]

handler500 = "beebeta.views.server_error"

if settings.SERVE_FILES:
    from beebeta.local_files import url_patterns as local_file_patterns

    urlpatterns += local_file_patterns()

if "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
