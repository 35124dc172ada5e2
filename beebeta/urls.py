from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # Sign-up keeps django-registration's un-namespaced URL names.
    path("accounts/", include("accounts.registration_urls")),
    path("", include("polls.urls")),
]

handler500 = "beebeta.views.server_error"

if settings.SERVE_FILES:
    from beebeta.local_files import url_patterns as local_file_patterns

    urlpatterns += local_file_patterns()

if "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
