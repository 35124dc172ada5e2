"""Beebeta's settings: one file, driven by environment variables.

With nothing set Beebeta runs embedded: SQLite, a local-memory cache, media on
the local disk and email on the console. Production differs only by
environment; every variable is listed in README.md and in deploy/env.example.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

from beebeta.cache import GroupedRendezvousHash
from beebeta.env import env_bool, env_float, env_int, env_list, env_secret, env_str
from beebeta.links import public_origin

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

# The embedded default key is only for a local run: `check --deploy` flags it
# (security.W009) because of its prefix, so production has to set SECRET_KEY.
SECRET_KEY = env_secret("SECRET_KEY", "django-insecure-embedded-default-do-not-deploy")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The scheme and host that links leaving the site carry (canonical URLs, Open Graph tags, share
# links, embeds): https://beebeta.example in production. Empty: the request's own scheme and host.
PUBLIC_ORIGIN = public_origin(env_str("PUBLIC_ORIGIN", ""))

INSTALLED_APPS = [
    # Django's admin, with every list's filters checked (beebeta/admin_site.py).
    "beebeta.admin_site.BeebetaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # sitemap.xml (polls/sitemaps.py): its views and templates.
    "django.contrib.sitemaps",
    "axes",
    # Beebeta's system checks: production invariants (beebeta/checks.py).
    "beebeta.apps.BeebetaConfig",
    # The email outbox: messages are rows written with the change that causes them, and
    # `manage.py send_outbox` sends them (accounts/outbox.py).
    "post_office",
    "polls",
    "accounts",
]

MIDDLEWARE = [
    # First: gives every request its id and writes one JSON line when it ends.
    "beebeta.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware, before anything that may answer early
    # (/healthz), so every response carries the policies (see "Content policies").
    # django-csp's middleware, with the policy string built once (beebeta/content_policy.py).
    "beebeta.content_policy.ContentPolicyMiddleware",
    "beebeta.headers.PermissionsPolicyMiddleware",
    # Before anything that reads the host, the session or the user.
    "beebeta.health.HealthCheckMiddleware",
    # Before anything that reads the database: a write, or a recent one, reads the primary.
    "beebeta.replica.PinToPrimaryMiddleware",
    # Before anything that reads the client's address (login throttling).
    "beebeta.client_ip.TrustedProxyMiddleware",
    # Above the session, CSRF and analytics middleware, so it sees the cookies they set: which
    # answers a shared cache may keep (beebeta/edge.py).
    "beebeta.edge.EdgeCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the account read from memcached when the session's
    # hash matches it (accounts/session_user.py).
    "accounts.session_user.SessionUserMiddleware",
    # The reader's time zone, from a cookie: times on pages and in the ask form.
    "beebeta.time_zones.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After auth: the visitor's analytics id and group, and page-view events.
    "beebeta.analytics.AnalyticsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "beebeta.urls"
WSGI_APPLICATION = "beebeta.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # site_origin: absolute links for canonical URLs and share tags.
                "beebeta.links.site_links",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
_database = environ.Env.db_url_config(
    env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
)
# Persistent connections, checked before reuse, so a restarted MySQL costs one
# failed check instead of errors on every worker.
_database["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
_database["CONN_HEALTH_CHECKS"] = True
if _database["ENGINE"] == "django.db.backends.mysql":
    _database.setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            # Fail fast when MySQL is down, so the 503 page comes quickly and no
            # worker waits out its timeout.
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 3, minimum=1),
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "isolation_level": "read committed",
            # One statement per query (mysqlclient allows several unless told not to): an
            # injection mistake can never append a statement of its own. The vote's several
            # statements are one CALL (polls/migrations/0011_cast_vote_procedure.py).
            "multi_statements": False,
        }
    )
    _database["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default takes concurrent votes without "database is locked": SQLite has one
    # writer at a time, so writers must queue rather than fail. A transaction that begins as a
    # reader and then writes cannot wait for a writer that committed in between (SQLite
    # refuses it at once, whatever the timeout), so every transaction takes the write lock as
    # it begins (IMMEDIATE) and waits up to `timeout` seconds for it. WAL lets pages be read
    # while a vote is written. Commits stay fully synchronous: a vote, once acknowledged, is on
    # disk.
    _database.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )
DATABASES = {"default": _database}
# An optional read replica (RDS's, or any MySQL replica of the primary): reads that tolerate lag
# go there while it is at most REPLICA_MAX_LAG_SECONDS behind (beebeta/replica.py, the router).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 5, minimum=0)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5, minimum=1)
# After a write, a browser reads from the primary this long: long enough for any replica the
# router would use again to hold the write.
REPLICA_PIN_SECONDS = REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS + 1
if DATABASE_REPLICA_URL:
    _replica = environ.Env.db_url_config(DATABASE_REPLICA_URL)
    _replica["CONN_MAX_AGE"] = _database["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["OPTIONS"] = {
        **_database.get("OPTIONS", {}),
        # A replica that does not answer costs each check one second, then the primary serves.
        "connect_timeout": 1,
    }
    _replica["TEST"] = _database.get("TEST", {})
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["beebeta.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------
MEMCACHED_LOCATIONS = env_list("MEMCACHED_LOCATIONS", [])
# Rendered parts of the question page, in each worker's own memory: keyed by stamps of the data
# memcached holds, so they never need invalidating and cost no round trip (polls/fragments.py).
# It also holds the pages' frames (polls/page_frames.py), tens of kilobytes each: at most about
# 3,000 entries of at most that size, some 100 MB a worker at the very worst.
FRAGMENTS_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": 600,
    "OPTIONS": {"MAX_ENTRIES": 3000},
}
if MEMCACHED_LOCATIONS:
    _timeout = env_float("MEMCACHED_TIMEOUT", 0.25)
    CACHES = {
        "default": {
            "BACKEND": "beebeta.cache.PersistentPyMemcacheCache",
            "LOCATION": MEMCACHED_LOCATIONS,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bb"),
            "OPTIONS": {
                # A dead or hanging node must turn into cache misses quickly,
                # never into an exception or a stuck worker: short timeouts,
                # errors ignored, and a failed node tried again only every
                # MEMCACHED_DEAD_SECONDS (misses without a network call in
                # between). It is never taken out of the ring: its keys would
                # move to another node and be stale there when it came back.
                "ignore_exc": True,
                "connect_timeout": _timeout,
                "timeout": _timeout,
                "retry_attempts": 2**31,
                "retry_timeout": env_int("MEMCACHED_DEAD_SECONDS", 10, minimum=1),
                "no_delay": True,
                # A question's keys (polls/cache_keys.py) share a node: one round trip.
                "hasher": GroupedRendezvousHash,
            },
        },
        "fragments": FRAGMENTS_CACHE,
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "beebeta",
            "OPTIONS": {"MAX_ENTRIES": 10000},
        },
        "fragments": FRAGMENTS_CACHE,
    }

# Sessions are read from the cache and written through to the database, so a
# lost memcached node logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses logins while an account or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "polls:home"
LOGOUT_REDIRECT_URL = "polls:home"

# Sign-up: django-registration's two-step activation.
ACCOUNT_ACTIVATION_DAYS = env_int("ACCOUNT_ACTIVATION_DAYS", 3, minimum=1)
REGISTRATION_OPEN = env_bool("REGISTRATION_OPEN", True)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_SECONDS", 3 * 3600, minimum=60)

# Login throttling (django-axes). Failures are counted per client address and
# per account *from that address*: a flood from one address locks that address
# out, and never the account for everyone else. Locks lift after the cool-off.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "beebeta.client_ip.client_ip"
AXES_VERBOSE = False
# The lockout keeps only what it needs: failed logins, for as long as they can lock anyone out
# (accounts/login_records.py prunes them), never a log of every successful one, and never the
# form's token or password.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]

# Links in Beebeta's emails (besides sign-up's ACCOUNT_ACTIVATION_DAYS and password reset's):
# the one-time sign-in link of an email vote, the confirmation of a new email address. A vote
# held for someone who has not confirmed yet is removed after HELD_VOTE_HOURS (clear_held_votes).
EMAIL_LINK_MINUTES = env_int("EMAIL_LINK_MINUTES", 60, minimum=5)
HELD_VOTE_HOURS = env_int("HELD_VOTE_HOURS", 24 * 3, minimum=1)

# Requests that send an account email (sign-up, vote with an email, password reset, a new
# activation link, email change), counted inside Django over ACCOUNT_EMAIL_WINDOW_SECONDS: from
# one client address, for one signed-in account, and to one email address whoever asks. More
# get the 429 page; nginx's per-address limits stay in front as the outer layer.
ACCOUNT_EMAILS_PER_CLIENT = env_int("ACCOUNT_EMAILS_PER_CLIENT", 20, minimum=1)
ACCOUNT_EMAILS_PER_ACCOUNT = env_int("ACCOUNT_EMAILS_PER_ACCOUNT", 5, minimum=1)
ACCOUNT_EMAILS_PER_ADDRESS = env_int("ACCOUNT_EMAILS_PER_ADDRESS", 3, minimum=1)
ACCOUNT_EMAIL_WINDOW_SECONDS = env_int("ACCOUNT_EMAIL_WINDOW_SECONDS", 3600, minimum=1)

# Client addresses: REMOTE_ADDR, unless it is one of these proxies (nginx on
# the same machine); then the nearest address in X-Forwarded-For that is not
# one of them. Addresses or networks, comma-separated.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and media ---------------------------------------------------------
STATIC_URL = env_str("STATIC_URL", "/static/")
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
# Django itself serves the static files (found in the source tree, no collectstatic) and the
# media on the local disk (beebeta/local_files.py): `make run` is the product with DEBUG off
# and no web server in front. Production leaves both to nginx and the CDN.
SERVE_FILES = env_bool("SERVE_FILES", False)

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    from botocore.config import Config as _S3ClientConfig

    _s3_timeout = env_float("AWS_S3_TIMEOUT", 2.0)
    if _s3_timeout <= 0:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"AWS_S3_TIMEOUT={_s3_timeout:g} must be above 0 seconds.")
    _s3_addressing_style = env_str("AWS_S3_ADDRESSING_STYLE", "") or None
    _media_storage: dict[str, Any] = {
        "BACKEND": "beebeta.media_storage.MediaStorage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN", "") or None,
            "url_protocol": env_str("AWS_S3_URL_PROTOCOL", "https:"),
            "addressing_style": _s3_addressing_style,
            "signature_version": "s3v4",
            # botocore's defaults (60 s to connect, 60 s per read, 3 attempts) would let a slow
            # or silent S3 hold a worker past gunicorn's 30 s timeout. AWS_S3_TIMEOUT bounds
            # each connect and each read, and one retry is enough for S3's occasional 500 or
            # 503: an S3 call fails within about 2 x AWS_S3_TIMEOUT, and an upload whose S3
            # does not answer gets its message in well under 10 s (polls/images.py). The
            # addressing style and signature are repeated here because django-storages only
            # applies its own options when it builds the config itself.
            "client_config": _S3ClientConfig(
                connect_timeout=_s3_timeout,
                read_timeout=_s3_timeout,
                retries={"mode": "standard", "total_max_attempts": 2},
                s3={"addressing_style": _s3_addressing_style},
                signature_version="s3v4",
            ),
            # Keys are unique by construction; never let two uploads overwrite.
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
        },
    }
    # Originals are never public: the same bucket, private objects under
    # originals/ that CloudFront is not allowed to read, and signed URLs for
    # the staff who need one.
    _originals_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_media_storage["OPTIONS"],
            "location": "originals",
            "custom_domain": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
    # Rendered sizes never change under their key: cache them for a year.
    _media_storage["OPTIONS"]["object_parameters"] = {
        "CacheControl": "public, max-age=31536000, immutable"
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    # Outside MEDIA_ROOT, so nothing serves them.
    _originals_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "originals"), "base_url": None},
    }

STORAGES = {
    "default": _media_storage,
    "originals": _originals_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Beebeta <noreply@beebeta.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# No request sends email: accounts/outbox.py writes each message to the outbox (post_office's
# table) in the transaction that makes it, and `manage.py send_outbox` sends it through
# EMAIL_BACKEND above. A message the server refuses is tried again after OUTBOX_RETRY_SECONDS,
# then twice as long each time, up to OUTBOX_RETRY_MAX_SECONDS, until the link in it expires.
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 30, minimum=1)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 900, minimum=1)
POST_OFFICE = {
    # A message is given up only when it expires (outbox.py sets that from its link), never
    # after a count of attempts.
    "MAX_RETRIES": 1_000_000,
    "RETRY_INTERVAL": timedelta(seconds=OUTBOX_RETRY_SECONDS),
    # One failure per attempt in its log; a sent message needs no log row.
    "LOG_LEVEL": 1,
    "BATCH_SIZE": 100,
    # One SMTP connection at a time: the volume is small, and Amazon SES limits the rate.
    "THREADS_PER_PROCESS": 1,
}

# --- Security -------------------------------------------------------------------------------
# HTTPS=true is the production switch: TLS ends at the load balancer, which
# sets X-Forwarded-Proto; nginx passes it on and strips any value a client sent.
HTTPS = env_bool("HTTPS", False)
if HTTPS and PUBLIC_ORIGIN.startswith("http:"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"PUBLIC_ORIGIN={PUBLIC_ORIGIN} must be https:// with HTTPS.")
if HTTPS and SERVE_FILES:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SERVE_FILES is for a local run; with HTTPS, nginx serves files.")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Under HTTPS both take the __Host- prefix: a browser then keeps them only when they are Secure,
# for this host alone (no Domain) and for every path, so neither a sibling subdomain nor a
# plain-HTTP answer can set or replace them. deploy/stack/topology.py names them for its clients.
_HOST_ONLY = "__Host-" if HTTPS else ""
SESSION_COOKIE_NAME = f"{_HOST_ONLY}sessionid"
CSRF_COOKIE_NAME = f"{_HOST_ONLY}csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = HTTPS
# The load balancer's health check speaks plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "beebeta.views.csrf_failure"

# --- Content policies (CSP, Permissions-Policy) ---------------------------------------------
# django-csp writes Content-Security-Policy on every response. Nothing inline is allowed:
# Beebeta's templates use classes and static/js files only, and so does Django's admin.
# Behind deploy/nginx, nginx sets the same Permissions-Policy (and HSTS, nosniff,
# Referrer-Policy) itself and hides Django's copies; CSP and COOP are Django's alone
# (nginx only adds its own to responses Django never sees: static files, its 429 page).
_csp_media: list[str] = []
if AWS_STORAGE_BUCKET_NAME:
    # Media come from the CDN (or straight from the S3 endpoint when there is none).
    _media_options = _media_storage["OPTIONS"]
    if _media_options["custom_domain"]:
        # Under HTTPS, upgrade-insecure-requests turns any http media URL into https before
        # the policy is checked, so naming the http origin would only allow mixed content.
        _scheme = "https:" if HTTPS else _media_options["url_protocol"]
        _csp_media.append(f"{_scheme}//{_media_options['custom_domain']}")
    elif _media_options["endpoint_url"]:
        _csp_media.append(_media_options["endpoint_url"].rstrip("/"))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", *_csp_media],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        **({"upgrade-insecure-requests": True} if HTTPS else {}),
    }
}
# Powerful browser features no page of Beebeta uses, refused to every origin. Keep it
# equal to deploy/nginx/beebeta-security-headers.conf (tests/security checks both).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: [] for feature in ("camera", "microphone", "geolocation", "payment", "usb")
}

# --- Beebeta --------------------------------------------------------------------------------
# How long the cached vote counts of a question may lag behind the vote rows
# after a cache race; a vote normally shows at once (its commit drops the key).
COUNTS_CACHE_SECONDS = env_int("COUNTS_CACHE_SECONDS", 60, minimum=1)
# How long a rendered list page is reused.
LIST_CACHE_SECONDS = env_int("LIST_CACHE_SECONDS", 30, minimum=0)
# How long nginx (or CloudFront) may serve an anonymous page (home, tag, question) from its own
# cache; 0: never (beebeta/edge.py).
EDGE_CACHE_SECONDS = env_int("EDGE_CACHE_SECONDS", 5, minimum=0)
# Votes (including changes) one account may send per window; nginx limits per address too.
VOTE_RATE_LIMIT = env_int("VOTE_RATE_LIMIT", 30, minimum=1)
VOTE_RATE_WINDOW_SECONDS = env_int("VOTE_RATE_WINDOW_SECONDS", 60, minimum=1)
# A new account's first questions wait for a moderator; later ones publish at once.
MODERATE_FIRST_QUESTIONS = env_int("MODERATE_FIRST_QUESTIONS", 1, minimum=0)
# Questions asked, reports filed and pictures uploaded, counted inside Django per account and
# per client address over a window each (polls/ratelimit.py); more get the 429 page.
QUESTIONS_PER_ACCOUNT = env_int("QUESTIONS_PER_ACCOUNT", 10, minimum=1)
QUESTIONS_PER_CLIENT = env_int("QUESTIONS_PER_CLIENT", 30, minimum=1)
QUESTION_WINDOW_SECONDS = env_int("QUESTION_WINDOW_SECONDS", 3600, minimum=1)
# Questions one account may have waiting for a moderator at once; more wait for them first.
PENDING_QUESTIONS_PER_ACCOUNT = env_int("PENDING_QUESTIONS_PER_ACCOUNT", 5, minimum=1)
REPORTS_PER_ACCOUNT = env_int("REPORTS_PER_ACCOUNT", 20, minimum=1)
REPORTS_PER_CLIENT = env_int("REPORTS_PER_CLIENT", 60, minimum=1)
REPORT_WINDOW_SECONDS = env_int("REPORT_WINDOW_SECONDS", 3600, minimum=1)
UPLOADS_PER_ACCOUNT = env_int("UPLOADS_PER_ACCOUNT", 40, minimum=1)
UPLOADS_PER_CLIENT = env_int("UPLOADS_PER_CLIENT", 120, minimum=1)
UPLOAD_WINDOW_SECONDS = env_int("UPLOAD_WINDOW_SECONDS", 3600, minimum=1)
# Distinct reports that hide a question until a moderator reviews it. Only reports from
# accounts at least REPORTER_MIN_DAYS old that have voted on REPORTER_MIN_VOTES questions count
# (polls/services.py); the others put the question in the moderation queue.
REPORTS_TO_HIDE = env_int("REPORTS_TO_HIDE", 3, minimum=1)
REPORTER_MIN_DAYS = env_int("REPORTER_MIN_DAYS", 7, minimum=0)
REPORTER_MIN_VOTES = env_int("REPORTER_MIN_VOTES", 3, minimum=0)
# Uploads: checked before the image is decoded.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024, minimum=1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 40_000_000, minimum=10_000)
# The pixels all the pictures of one request may decode together (from their headers, before
# any is decoded), so one request's work stays bounded (bench/uploads.py measures the worst).
MAX_REQUEST_PIXELS = env_int("MAX_REQUEST_PIXELS", 100_000_000, minimum=10_000)
# Seconds the pictures of one request may take before the next one is refused unread (the
# first is always read): a backstop to the pixel budget on a slow or busy machine.
UPLOAD_REQUEST_SECONDS = env_int("UPLOAD_REQUEST_SECONDS", 10, minimum=0)
# A question image and one per choice; a request with more files is refused before any is read.
DATA_UPLOAD_MAX_NUMBER_FILES = 13
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# How often `refresh_rankings --follow` refreshes the copies of the counts that order the lists
# (production's timer runs it every 10 seconds); votes never do.
RANKING_REFRESH_SECONDS = env_int("RANKING_REFRESH_SECONDS", 10, minimum=1)
# k: the fewest voters a group of a question's results is shown for (polls/groups.py).
GROUP_MIN_VOTERS = env_int("GROUP_MIN_VOTERS", 10, minimum=10)
# The fewest people who voted on both of two questions before what they chose is compared
# (polls/covoting.py).
CO_VOTING_MIN_VOTERS = env_int("CO_VOTING_MIN_VOTERS", 50, minimum=50)

# --- Analytics and monitoring -------------------------------------------------------------
# Mixpanel: nothing is sent without a token. Events are queued and sent in
# batches by a background thread; a full queue drops (and counts) events.
MIXPANEL_TOKEN = env_secret("MIXPANEL_TOKEN", "")
# Where events go; empty means Mixpanel's own API (https). Tests use a local receiver.
MIXPANEL_EVENTS_URL = env_str("MIXPANEL_EVENTS_URL", "")
MIXPANEL_QUEUE_SIZE = env_int("MIXPANEL_QUEUE_SIZE", 10_000, minimum=1)
# Sentry: nothing is sent without a DSN.
SENTRY_DSN = env_secret("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)
# The deployed revision, for Sentry's release; read from git when not set.
RELEASE = env_str("RELEASE", "")
# One JSON line per request on stdout.
REQUEST_LOG = env_bool("REQUEST_LOG", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "beebeta.request_log.RequestIdFilter"}},
    "formatters": {
        "bare": {"format": "%(message)s"},
        # Every other line names its request (the X-Request-ID of nginx's and the request log).
        "with_request": {"format": "%(levelname)s %(name)s request_id=%(request_id)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "with_request",
        },
        # The request log: one JSON object per line on stdout and nothing else.
        "request_log": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "bare",
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "beebeta.requests": {"handlers": ["request_log"], "level": "INFO", "propagate": False},
        # The outbox's sender says "0 emails" every run at INFO; failures are what matter.
        "post_office": {"level": "WARNING"},
    },
}

# Sentry starts here so that it sees errors from the first request on.
from beebeta.monitoring import init_sentry  # noqa: E402

init_sentry(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

# django-debug-toolbar, for `make dev` only: it is a development requirement
# (requirements-dev.txt), installed neither by `make run` nor on production machines.
if DEBUG and env_bool("DEBUG_TOOLBAR", False):
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
        "debug_toolbar.middleware.DebugToolbarMiddleware",
    )
    INTERNAL_IPS = ["127.0.0.1"]
    # The toolbar injects inline scripts and styles: relaxed for `make dev` only.
    CONTENT_SECURITY_POLICY["DIRECTIVES"] |= {
        "script-src": ["'self'", "'unsafe-inline'"],
        "style-src": ["'self'", "'unsafe-inline'"],
    }
