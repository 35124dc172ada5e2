"""The peers' settings (bench/peer/): a project as `startproject` makes it, on MySQL.

The same environment as Beebeta's app servers in the benchmark: its database (the peer's tables
beside Beebeta's), its secret key (so Beebeta's sessions are valid here) and its HTTPS behind
nginx, with the CSRF checks that brings. What a deployer would add to the tutorial's settings
and no more: persistent database connections, as Beebeta has.
"""

from __future__ import annotations

import environ

from beebeta.env import env_list, env_secret, env_str

SECRET_KEY = env_secret("SECRET_KEY", "bench-peer-has-no-secrets")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Beebeta's cookie names under HTTPS (beebeta/settings.py), so the same session and CSRF cookies
# sign a visitor in to either app; with Django's default names the peers' CSRF check refuses
# every vote the benchmark sends.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "bench.peer",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.peer.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
_database = environ.Env.db_url_config(env_str("DATABASE_URL", "sqlite:///:memory:"))
_database["CONN_MAX_AGE"] = 60
_database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
USE_TZ = True
TIME_ZONE = "UTC"
# The tutorial's vote; bench.settings_dedupe turns on the vote row per user and question.
PEER_NAME = "tutorial"
PEER_ONE_VOTE_PER_USER = False
