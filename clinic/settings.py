"""Kindwork settings: one file, driven by environment variables.

Every setting has an embedded default that needs no server (SQLite, a
filesystem Celery transport, console email), so a fresh checkout runs with
one command. Production sets DEBUG=0, SECRET_KEY, DATABASE_URL, REDIS_URL and
the email variables; the README lists them all.
"""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("KINDWORK_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.getenv(name, default).split(",") if part.strip()]


DEBUG = envbool("DEBUG", "True")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = os.getenv("SITE_NAME", "Kindwork")
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
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "core",
    "notifications",
    "accounts",
    "homework",
    "measures",
    "outreach",
    "records",
    "programs",
    # After accounts: its admin extends the user admin with the erasure action.
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that answers with personal data, static files excepted.
    "accounts.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Idle and absolute timeouts first: an expired session is logged out, not asked for a code.
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during login into its response.
    "axes.middleware.AxesMiddleware",
]

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
            ],
        },
    },
]

# Database: PostgreSQL through psycopg 3 when DATABASE_URL is set, otherwise
# an embedded SQLite file in WAL mode so web, worker and beat can share it.
if os.getenv("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"],
            conn_max_age=envint("DB_CONN_MAX_AGE", "600"),
            conn_health_checks=True,
        )
    }
    if envbool("DB_SERVER_SIDE_BINDING", "1"):
        # Server-side parameters let psycopg prepare a statement after it has run
        # prepare_threshold times on a connection, so PostgreSQL stops re-planning the
        # same few queries on every request (docs/benchmarks.md). Not for PgBouncer in
        # transaction mode.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": envint("DB_PREPARE_THRESHOLD", "5")}
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
    "django.contrib.auth.backends.ModelBackend",
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
INVITATION_VALID_DAYS = envint("INVITATION_VALID_DAYS", "7")

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
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
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if os.getenv("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": envint("EMAIL_PORT", "587"),
                "username": os.getenv("EMAIL_HOST_USER", ""),
                "password": os.getenv("EMAIL_HOST_PASSWORD", ""),
                "use_tls": envbool("EMAIL_USE_TLS", "True"),
                "timeout": envint("EMAIL_TIMEOUT", "15"),
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
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# Celery. Redis when REDIS_URL is set; otherwise a filesystem transport that
# needs no server (one machine only). Tasks carry ids only, as JSON.
REDIS_URL = os.getenv("REDIS_URL", "")
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
}

# REST API (/api/v1/). Tokens come first so an anonymous call answers 401 with a
# WWW-Authenticate header; the portal's own pages use the session (with CSRF).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
    "TOKEN_TTL": timedelta(hours=envint("API_TOKEN_TTL_HOURS", "720")),
    "TOKEN_LIMIT_PER_USER": envint("API_TOKEN_LIMIT_PER_USER", "20"),
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

# --- Security: headers, cookies, sessions, second factor, lockout, CSP ---
# Strict defaults whenever DEBUG is off. Behind our own TLS proxy (BEHIND_TLS_PROXY=1)
# the proxy's scheme header and its one X-Forwarded-For hop are trusted, nothing else.
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", "False")
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

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
SESSION_IDLE_MINUTES_STAFF = envint("SESSION_IDLE_MINUTES_STAFF", "15")
SESSION_IDLE_MINUTES_CLIENT = envint("SESSION_IDLE_MINUTES_CLIENT", "60")
SESSION_ABSOLUTE_MINUTES = envint("SESSION_ABSOLUTE_MINUTES", str(12 * 60))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_MINUTES * 60
# Shared computers: closing the browser ends the session too.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Changing email, password or the second factor asks for the password (or a fresh
# code) again unless it was given within this many minutes.
REAUTH_MINUTES = envint("REAUTH_MINUTES", "10")

# Second factor (django-otp): TOTP authenticator apps plus one-time recovery codes.
OTP_TOTP_ISSUER = SITE_NAME

# Brute force (django-axes): after LOGIN_FAILURE_LIMIT failures an account, and
# separately an address, is locked for LOGIN_COOLOFF_MINUTES. Counted through the
# authentication backend, so the login page, the admin and the API token endpoint
# share the counters. The address comes from accounts.client_ip (see BEHIND_TLS_PROXY).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "10")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15"))
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Axes logs every login at INFO; lockouts come from accounts.lockout at WARNING.
        "axes": {"level": "WARNING"},
    },
}
