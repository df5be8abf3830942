"""Kindwork settings: one file, driven by environment variables.

Every setting has an embedded default that needs no server (SQLite, a
filesystem Celery transport, console email), so a fresh checkout runs with
one command. Production sets DEBUG=0, SECRET_KEY, DATABASE_URL, REDIS_URL and
the email variables; the README lists them all.
"""

import base64
import hashlib
import json
import os
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from py_vapid import Vapid02

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("KINDWORK_VAR_DIR", BASE_DIR / "var"))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as _error:
    raise ImproperlyConfigured(
        f"KINDWORK_VAR_DIR cannot be used as a directory: {_error.strerror}."
    ) from None


# Every variable is checked where it is read: a bad value stops the process at start
# with one line naming the variable (manage.py prints it without a traceback), never a
# crash at the first request that needs it. Secrets are never echoed back.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value not in TRUE_WORDS + FALSE_WORDS:
        raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off.")
    return value in TRUE_WORDS


def envint(name: str, default: str, *, minimum: int | None = 0) -> int:
    value = os.getenv(name, default).strip()
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def envlist(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.getenv(name, default).split(",") if part.strip()]


def envurl(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = os.getenv(name, default).strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            allowed = ", ".join(f"{scheme}://" for scheme in schemes)
            raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}.")
    return value


DEBUG = envbool("DEBUG", "True")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if any("/" in host for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured("ALLOWED_HOSTS takes host names (example.org), not URLs.")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
for _origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(_origin).scheme not in ("http", "https") or not urlsplit(_origin).netloc:
        raise ImproperlyConfigured(
            "CSRF_TRUSTED_ORIGINS takes origins such as https://kindwork.example.org."
        )
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
SITE_NAME = os.getenv("SITE_NAME", "Kindwork")
# The first-run demo (bin/run): demo accounts may skip the authenticator app until they
# enrol, and every page says it is a demo. core.checks refuses it unless DEBUG is on.
DEMO_MODE = envbool("DEMO_MODE", "False")
# Serve the benchmarks' floor views under /bench/floor/ (bench/run.py sets it; never in production).
BENCH_FLOOR = envbool("KINDWORK_BENCH_FLOOR", "False")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "accounts.third_party_apps.AuthenticatorAppsConfig",
    "accounts.third_party_apps.RecoveryCodesConfig",
    "accounts.third_party_apps.LoginLockoutsConfig",
    "core",
    "notifications",
    "accounts",
    "homework",
    "measures",
    "outreach",
    "records",
    "demo",
    "programs",
    # After accounts: its admin extends the user admin with the erasure action.
    "audit",
]

MIDDLEWARE = [
    # First: every log line of the request, and every task it enqueues, carries its id.
    "core.request_id.RequestIdMiddleware",
    # Before anything stores a header (the audit log, django-axes): printable text only.
    "core.headers.StoredHeadersMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that answers with personal data, static files excepted.
    "accounts.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the form: a body no browser form sends is a 400 here.
    "core.middleware.FormBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, taking the person read with the session (accounts/session_store.py).
    "accounts.middleware.AuthenticationMiddleware",
    # django-otp's, reading the device with compiled SQL (accounts/middleware.py).
    "accounts.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Idle and absolute timeouts first: an expired session is logged out, not asked for a code.
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during login into its response.
    "axes.middleware.AxesMiddleware",
]

# Our 404 page even with DEBUG on (core/middleware.py); DEBUG_URL_LIST=1 for Django's list.
DEBUG_URL_LIST = envbool("DEBUG_URL_LIST", "False")
if DEBUG and not DEBUG_URL_LIST:
    # After the session, user and messages, so the page shows the person's own header.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
        "core.not_found.NotFoundPageMiddleware",
    )

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "django.template.context_processors.csp",
                "core.context_processors.site",
                "accounts.context_processors.session_timeout",
                "accounts.context_processors.clinic_brand",
            ],
            # {% url %} through a per-process cache (core/links.py), in every template.
            "builtins": ["core.templatetags.links"],
        },
    },
    # The pages' hot loops (a caseload's rows, a client's logs) as `.jinja` fragments
    # beside their pages, included with {% fragment %}: core/jinja.py says why.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "core.jinja.environment"},
    },
]

# Database: PostgreSQL through psycopg 3 when DATABASE_URL is set, otherwise
# an embedded SQLite file in WAL mode so web, worker and beat can share it.
DATABASE_URL = envurl("DATABASE_URL", "", schemes=("postgres", "postgresql", "pgsql", "sqlite"))
if DATABASE_URL:
    try:
        DATABASES = {
            "default": dj_database_url.parse(
                DATABASE_URL,
                conn_max_age=envint("DB_CONN_MAX_AGE", "600"),
                conn_health_checks=True,
            )
        }
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DATABASE_URL cannot be read: {type(error).__name__}."
        ) from None
    _server_side_binding = envbool("DB_SERVER_SIDE_BINDING", "1")
    _prepare_threshold = envint("DB_PREPARE_THRESHOLD", "5")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # The same options as the embedded default: WAL so web, worker and beat share it.
        DATABASES["default"]["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        # A database that does not answer fails a request in seconds (a 503), not minutes.
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and _server_side_binding:
        # Server-side parameters let psycopg prepare a statement after it has run
        # prepare_threshold times on a connection, so PostgreSQL stops re-planning the
        # same few queries on every request (docs/benchmarks.md). PostgreSQL only; not
        # for PgBouncer in transaction mode.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": _prepare_threshold}
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(VAR_DIR / "kindwork.sqlite3")),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "accounts.lockout.LockoutBackend",
    # Django's ModelBackend, loading the user's clinic with them (for the branding).
    "accounts.backends.ClinicModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2
INVITATION_VALID_DAYS = envint("INVITATION_VALID_DAYS", "7", minimum=1)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploads (clinic logos) live under var/, served by accounts.branding_views to members only.
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email. Django 6.1 configures mail through MAILERS. The default writes to the
# console; EMAIL_HOST switches to SMTP. The worker reuses one connection per batch.
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Kindwork <no-reply@kindwork.localhost>")
if "@" not in parseaddr(DEFAULT_FROM_EMAIL)[1] or "\n" in DEFAULT_FROM_EMAIL:
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be an address, e.g. Kindwork <no-reply@example.org>."
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_port = envint("EMAIL_PORT", "587", minimum=1)
if _email_port > 65535:
    raise ImproperlyConfigured(f"EMAIL_PORT must be a port number (1-65535), not {_email_port}.")
if os.getenv("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "notifications.smtp.OutboxSmtpBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": _email_port,
                "username": os.getenv("EMAIL_HOST_USER", ""),
                "password": os.getenv("EMAIL_HOST_PASSWORD", ""),
                "use_tls": envbool("EMAIL_USE_TLS", "True"),
                "timeout": envint("EMAIL_TIMEOUT", "15", minimum=1),
            },
        }
    }
elif os.getenv("EMAIL_FILE_PATH"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": os.environ["EMAIL_FILE_PATH"]},
        }
    }
else:
    # Printed decoded, so a link in a development email can be opened as printed.
    MAILERS = {"default": {"BACKEND": "core.mail.DecodedConsoleBackend"}}

# Celery. Redis when REDIS_URL is set; otherwise a filesystem transport that
# needs no server (one machine only). Tasks carry ids only, as JSON.
REDIS_URL = envurl("REDIS_URL", "", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The worker's long-lived connections. socket_timeout must stay above the
        # 1 s BRPOP poll; a dead broker is noticed and reconnected by the worker.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "retry_on_timeout": False,
        # Tasks are short (time limit below); redelivery after this long only
        # covers workers that died without acknowledging.
        "visibility_timeout": 600,
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; the default is ./control in whatever directory the worker started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Publishing from a web request (and the health check) uses its own connection
# with these on top: no reconnect loop, short socket timeouts. With Redis down
# or hanging, creating a notification costs about a second at worst and the
# sweep publishes the row later (see notifications/tasks.py).
BROKER_FAIL_FAST_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
# One name per deployment (or test run) lets several share one Redis database.
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Late acks: a message is removed only after its task ran, so a worker lost
# mid-task (killed, machine gone) leaves it for another; the outbox claim makes
# a second run harmless. A task that raised or timed out is acknowledged, so a
# poisonous message cannot loop; the sweep owns retries.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Celery's Django fixup closes every database connection around every task unless
# told to reuse them; clinic/celery.py instead applies CONN_MAX_AGE and the health
# checks around each task, as Django does around each request.
CELERY_DB_REUSE_MAX = 1000
# Let the console email backend print plainly in bin/run instead of as log lines.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs. Beat only triggers short tasks; the database is the schedule.
CELERY_BEAT_SCHEDULE = {
    "notifications-sweep": {"task": "notifications.tasks.sweep_pending", "schedule": 60.0},
    # Reminders fall due on the minute in every zone; each tick catches up missed ones.
    # A tick queued during an outage is dropped once stale: the next one does its work.
    "outreach-reminders": {
        "task": "outreach.tasks.reminders_tick",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Monday 08:00 local comes on the quarter hour in zones offset by :30 or :45.
    "outreach-weekly-summaries": {
        "task": "outreach.tasks.weekly_summaries_tick",
        "schedule": 900.0,
        "options": {"expires": 840},
    },
    # Program weeks open at local midnight in every zone, so on the quarter hour too.
    "programs-weeks": {
        "task": "programs.tasks.program_weeks_tick",
        "schedule": 900.0,
        "options": {"expires": 840},
    },
    # Expired sessions deleted (Django keeps them otherwise).
    "accounts-sessions-clear": {
        "task": "accounts.tasks.sessions_clear_expired_tick",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}
# Split the reminder and weekly-summary ticks into this many shards (by client id),
# each a task any worker takes, so several worker machines share one tick.
OUTREACH_SHARDS = envint("OUTREACH_SHARDS", "1")
if OUTREACH_SHARDS < 1:
    raise ImproperlyConfigured("OUTREACH_SHARDS must be 1 or more.")

# REST API (/api/v1/). Tokens come first so an anonymous call answers 401 with a
# WWW-Authenticate header; the portal's own pages use the session (with CSRF).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.KindworkAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # No OPTIONS metadata: it would describe forms to callers who may not use them.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_THROTTLE_RATES": {
        "login": os.getenv("API_LOGIN_RATE", "10/min"),
        "login_email": os.getenv("API_LOGIN_EMAIL_RATE", "20/hour"),
    },
    # Throttles key anonymous callers by address: trust X-Forwarded-For only from
    # our own proxy, otherwise anyone could pick a fresh address per attempt.
    "NUM_PROXIES": 1 if envbool("BEHIND_TLS_PROXY", "False") else 0,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    # Only a SHA-512 digest of each token is stored; tokens expire and can be revoked.
    "TOKEN_TTL": timedelta(hours=envint("API_TOKEN_TTL_HOURS", "720", minimum=1)),
    "TOKEN_LIMIT_PER_USER": envint("API_TOKEN_LIMIT_PER_USER", "20", minimum=1),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Homework between therapy sessions: exercises, assignments, practice, progress.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "homework.models.AssignmentStatus",
        "InvitationStatusEnum": "accounts.serializers.INVITATION_STATUSES",
    },
    # Swagger UI and Redoc come from the sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Throttle counters must be shared by every web process, so the cache is Redis in
# production; without Redis a file cache still works across processes on one machine.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kindwork",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }


def version_keyed_cache(name: str, *, seconds: int, entries_per_process: int) -> dict:
    """A cache whose keys hold record versions (an entry is never stale, only unused):
    shared by the web processes in Redis; without Redis each process keeps its own (a
    file cache would cost more than computing again)."""
    if REDIS_URL:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"kindwork-{name}",
            "TIMEOUT": seconds,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    return {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": f"kindwork-{name}",
        "TIMEOUT": seconds,
        "OPTIONS": {"MAX_ENTRIES": entries_per_process},
    }


# Computed caseload figures (homework.selectors.progress), keyed by each client's record
# version, which database triggers change with every write they depend on. Entries live
# two days: the key also holds the client's local date.
FIGURES_CACHE_SECONDS = 2 * 24 * 3600
CACHES["figures"] = version_keyed_cache(
    "figures", seconds=FIGURES_CACHE_SECONDS, entries_per_process=20_000
)
# Cached pages (homework.page_cache): the client page, the pre-session report, the group
# page, a client's today page and the caseload, keyed by the record versions of everyone they
# show. They hold clinical words, so they are stored encrypted with the field keys.
PAGE_CACHE_SECONDS = 2 * 24 * 3600
CACHES["pages"] = version_keyed_cache("pages", seconds=PAGE_CACHE_SECONDS, entries_per_process=500)
# And the pages each web process kept or read last, in front of the shared cache (a page
# is 5-30 KB in memory: 300 of them are a few MB per process).
PAGE_CACHE_LOCAL_ENTRIES = envint("KINDWORK_PAGE_CACHE_LOCAL_ENTRIES", "300", minimum=0)
# Every page served from the cache is also rendered afresh and compared (the test suite turns
# this on, so every test that opens a page twice checks that no write was missed).
PAGE_CACHE_VERIFY = envbool("KINDWORK_PAGE_CACHE_VERIFY", "0")

# --- Security: headers, cookies, sessions, second factor, lockout, CSP ---
# Strict defaults whenever DEBUG is off. Behind our own TLS proxy (BEHIND_TLS_PROXY=1)
# the proxy's scheme header and its one X-Forwarded-For hop are trusted, nothing else.
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", "False")
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django's database sessions with a user column, read with their person in one compiled
# query (accounts/session_store.py).
SESSION_ENGINE = "accounts.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(not DEBUG))
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(not DEBUG))
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(not DEBUG))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Sessions end after this long without activity (server-side, accounts.middleware):
# clinicians and admins sooner, clients later; and after SESSION_ABSOLUTE_MINUTES at most.
SESSION_IDLE_MINUTES_STAFF = envint("SESSION_IDLE_MINUTES_STAFF", "15", minimum=1)
SESSION_IDLE_MINUTES_CLIENT = envint("SESSION_IDLE_MINUTES_CLIENT", "60", minimum=1)
SESSION_ABSOLUTE_MINUTES = envint("SESSION_ABSOLUTE_MINUTES", str(12 * 60), minimum=1)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_MINUTES * 60
# Shared computers: closing the browser ends the session too.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Changing email, password or the second factor asks for the password (or a fresh
# code) again unless it was given within this many minutes.
REAUTH_MINUTES = envint("REAUTH_MINUTES", "10", minimum=1)

# Second factor (django-otp): TOTP authenticator apps plus one-time recovery codes.
OTP_TOTP_ISSUER = SITE_NAME

# Brute force (django-axes): after LOGIN_FAILURE_LIMIT failures an account, and
# separately an address, is locked for LOGIN_COOLOFF_MINUTES. Counted through the
# authentication backend, so the login page, the admin and the API token endpoint
# share the counters. The address comes from accounts.client_ip (see BEHIND_TLS_PROXY).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "10", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15", minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# A locked-out guess does not push the end of the lockout further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Our own log line (accounts.lockout) names the account by id, never the address typed.
AXES_VERBOSE = False

# Encryption at rest of clinical free text (core.encryption): Fernet keys, newest
# first, kept apart from the database and from SECRET_KEY. Rotate by putting a new key
# first, running `manage.py reencrypt_fields`, then dropping the old key.
# `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", "")
for _number, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS: key {_number} is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
    # Development only: a fixed key derived from the development secret.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"kindwork-field-encryption:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]

# Content Security Policy, enforced (Django's own middleware). Scripts only from this
# site or with the per-response nonce: no inline scripts, no inline event handlers.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# /metrics answers a scraper that sends "Authorization: Bearer <METRICS_TOKEN>" (or a staff
# login). Unset: staff only.
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters long.")

LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO").strip().upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")

# LOG_FORMAT=json writes one JSON object per line (for a log shipper); plain is for people.
# Both carry the request id (core/request_id.py); neither ever carries clinical content.
LOG_FORMAT = os.getenv("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.request_id.RequestIdFilter"},
        "short_refusals": {"()": "core.request_id.ShortRefusalFilter"},
        "quiet_requests": {"()": "core.logging.QuietRequestsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "quiet_requests"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Axes logs every login at INFO; lockouts come from accounts.lockout at WARNING.
        "axes": {"level": "WARNING"},
        # Refusals (4xx) as one line each, without the exception's traceback.
        "django.request": {"filters": ["short_refusals"]},
        "django.security": {"filters": ["short_refusals"]},
    },
}

# A client may log a practice for an earlier day while that day is within this many
# hours of now (the phone was offline, or they forgot): marked "logged later".
LOG_GRACE_HOURS = envint("LOG_GRACE_HOURS", "48")
# Folders of questionnaire files (measures/engine.py). The shipped folder comes first;
# a clinic adds its own instruments as JSON files in extra folders (comma-separated).
MEASURE_INSTRUMENT_DIRS = [
    BASE_DIR / "measures" / "instruments",
    *(Path(folder) for folder in envlist("MEASURE_INSTRUMENT_DIRS", "")),
]
for _folder in MEASURE_INSTRUMENT_DIRS[1:]:
    if not _folder.is_dir():
        raise ImproperlyConfigured(f"MEASURE_INSTRUMENT_DIRS: {_folder} is not a folder.")
# Web Push (VAPID, RFC 8292): the key pair that signs our notifications, as base64url
# strings (private: PKCS#8 DER; public: the uncompressed point browsers subscribe with),
# and a contact for the push services. `python manage.py vapid_keys` prints a new pair.
# Production refuses to start without them (notifications.checks); in development
# bin/run writes a pair into the var folder on first run and it is read from there.
VAPID_PRIVATE_KEY = os.getenv("VAPID_PRIVATE_KEY", "").strip()
VAPID_PUBLIC_KEY = os.getenv("VAPID_PUBLIC_KEY", "").strip()
if VAPID_PUBLIC_KEY:
    try:
        _vapid_public_point = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(),
            base64.urlsafe_b64decode(VAPID_PUBLIC_KEY + "=" * (-len(VAPID_PUBLIC_KEY) % 4)),
        ).public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "VAPID_PUBLIC_KEY is not a P-256 public key as base64url (see manage.py vapid_keys)."
        ) from None
if VAPID_PRIVATE_KEY:
    # Read as notifications.push reads it, so a key that cannot sign is refused here.
    try:
        _vapid_private = Vapid02.from_string(private_key=VAPID_PRIVATE_KEY).private_key
        if not isinstance(_vapid_private, ec.EllipticCurvePrivateKey):
            raise TypeError
        _vapid_private_public_point = _vapid_private.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY is not a P-256 private key as base64url (see manage.py vapid_keys)."
        ) from None
    if VAPID_PUBLIC_KEY and _vapid_private_public_point != _vapid_public_point:
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY are not one pair.")
VAPID_SUBJECT = os.getenv(
    "VAPID_SUBJECT", "mailto:" + DEFAULT_FROM_EMAIL.rpartition("<")[2].strip(">")
).strip()
if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured("VAPID_SUBJECT must start with mailto: or https:// (RFC 8292).")
VAPID_DEV_KEYS_FILE = VAR_DIR / "vapid.json"
if DEBUG and not VAPID_PRIVATE_KEY and VAPID_DEV_KEYS_FILE.exists():
    _vapid_pair = json.loads(VAPID_DEV_KEYS_FILE.read_text())
    VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY = _vapid_pair["private"], _vapid_pair["public"]
# Push services we send to (host or a parent domain). The browser chooses the endpoint
# and the server POSTs to it, so it must be a real push service, never a free address.
PUSH_SERVICE_HOSTS = envlist(
    "PUSH_SERVICE_HOSTS",
    "fcm.googleapis.com,push.services.mozilla.com,notify.windows.com,push.apple.com",
)
if any("/" in host or ":" in host for host in PUSH_SERVICE_HOSTS):
    raise ImproperlyConfigured("PUSH_SERVICE_HOSTS takes host names (push.apple.com), not URLs.")

# Audio guides a clinician records for an exercise. Never a public URL: files are served
# only through homework's audio view, to people who may see the exercise. By default on
# the local disk under the var folder (not MEDIA, which nothing serves); in production an
# S3-compatible store through django-storages: AUDIO_STORAGE_BACKEND=
# storages.backends.s3.S3Storage with AUDIO_S3_BUCKET (and boto3 installed; credentials
# and region from the usual AWS_* variables or the instance's role).
AUDIO_MAX_BYTES = envint("AUDIO_MAX_BYTES", str(20 * 1024 * 1024))
AUDIO_STORAGE_BACKEND = os.getenv(
    "AUDIO_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
if AUDIO_STORAGE_BACKEND == "django.core.files.storage.FileSystemStorage":
    _audio_options = {"location": str(VAR_DIR / "audio"), "base_url": None}
elif not os.getenv("AUDIO_S3_BUCKET", "").strip():
    raise ImproperlyConfigured(
        "AUDIO_STORAGE_BACKEND other than the file system needs AUDIO_S3_BUCKET."
    )
else:
    _audio_options = {
        "bucket_name": os.getenv("AUDIO_S3_BUCKET", ""),
        "endpoint_url": os.getenv("AUDIO_S3_ENDPOINT_URL") or None,
        "location": "exercise-audio",
        "default_acl": "private",
        "file_overwrite": False,
    }
STORAGES["audio"] = {"BACKEND": AUDIO_STORAGE_BACKEND, "OPTIONS": _audio_options}
