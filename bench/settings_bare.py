"""The framework's ceiling: Django with no application, no middleware and one view."""

from __future__ import annotations

from beebeta.env import env_list, env_secret

SECRET_KEY = env_secret("SECRET_KEY", "bench-bare-view-has-no-secrets")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1"])
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.urls_bare"
DATABASES: dict = {}
USE_TZ = True
USE_I18N = False
