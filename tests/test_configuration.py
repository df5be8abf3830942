"""Every documented setting, with a valid and an invalid value: a valid one is taken, an
invalid one stops the process at start with one line that names the variable."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from notifications.push import vapid_keys_generate

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "clinic" / "settings.py"
KEY = Fernet.generate_key().decode()
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "s" * 50, "FIELD_ENCRYPTION_KEYS": KEY}
# A fresh pair, made as `manage.py vapid_keys` makes one; it signs nothing real.
VAPID_PRIVATE, VAPID_PUBLIC = vapid_keys_generate()

# name: (a valid value, an invalid value), each as the environment it needs.
CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "DEBUG": ({**PRODUCTION, "DEBUG": "off"}, {"DEBUG": "maybe"}),
    "SECRET_KEY": (PRODUCTION, {**PRODUCTION, "SECRET_KEY": ""}),
    "ALLOWED_HOSTS": ({"ALLOWED_HOSTS": "kindwork.example.org"}, {"ALLOWED_HOSTS": "https://x/"}),
    "CSRF_TRUSTED_ORIGINS": (
        {"CSRF_TRUSTED_ORIGINS": "https://kindwork.example.org"},
        {"CSRF_TRUSTED_ORIGINS": "kindwork.example.org"},
    ),
    "SITE_URL": ({"SITE_URL": "https://kindwork.example.org"}, {"SITE_URL": "kindwork.org"}),
    "DATABASE_URL": (
        {"DATABASE_URL": "sqlite:////tmp/kindwork-settings-test.sqlite3"},
        {"DATABASE_URL": "mysql://user@host/kindwork"},
    ),
    "DB_CONN_MAX_AGE": (
        {"DATABASE_URL": "postgres://u@h/db", "DB_CONN_MAX_AGE": "0"},
        {"DATABASE_URL": "postgres://u@h/db", "DB_CONN_MAX_AGE": "ten"},
    ),
    "DB_SERVER_SIDE_BINDING": (
        {"DATABASE_URL": "postgres://u@h/db", "DB_SERVER_SIDE_BINDING": "0"},
        {"DATABASE_URL": "postgres://u@h/db", "DB_SERVER_SIDE_BINDING": "sometimes"},
    ),
    "DB_PREPARE_THRESHOLD": (
        {"DATABASE_URL": "postgres://u@h/db", "DB_PREPARE_THRESHOLD": "3"},
        {"DATABASE_URL": "postgres://u@h/db", "DB_PREPARE_THRESHOLD": "-1"},
    ),
    "REDIS_URL": ({"REDIS_URL": "redis://127.0.0.1:6379/3"}, {"REDIS_URL": "http://redis:6379"}),
    "EMAIL_HOST": (
        {"EMAIL_HOST": "smtp.example.org"},
        {"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "smtp"},
    ),
    "EMAIL_PORT": (
        {"EMAIL_HOST": "h", "EMAIL_PORT": "25"},
        {"EMAIL_HOST": "h", "EMAIL_PORT": "70000"},
    ),
    "EMAIL_HOST_USER": (
        {"EMAIL_HOST": "h", "EMAIL_HOST_USER": "me"},
        {"EMAIL_HOST": "h", "EMAIL_HOST_USER": "me", "EMAIL_TIMEOUT": "0"},
    ),
    "EMAIL_HOST_PASSWORD": (
        {"EMAIL_HOST": "h", "EMAIL_HOST_PASSWORD": "pw"},
        {"EMAIL_HOST": "h", "EMAIL_HOST_PASSWORD": "pw", "EMAIL_USE_TLS": "2"},
    ),
    "EMAIL_USE_TLS": (
        {"EMAIL_HOST": "h", "EMAIL_USE_TLS": "no"},
        {"EMAIL_HOST": "h", "EMAIL_USE_TLS": "tls"},
    ),
    "EMAIL_TIMEOUT": (
        {"EMAIL_HOST": "h", "EMAIL_TIMEOUT": "5"},
        {"EMAIL_HOST": "h", "EMAIL_TIMEOUT": "5s"},
    ),
    "EMAIL_FILE_PATH": (
        {"EMAIL_FILE_PATH": "/tmp/kindwork-mail"},
        {"EMAIL_FILE_PATH": "/tmp/kindwork-mail", "EMAIL_PORT": "x"},
    ),
    "DEFAULT_FROM_EMAIL": (
        {"DEFAULT_FROM_EMAIL": "Clinic <care@example.org>"},
        {"DEFAULT_FROM_EMAIL": "care at example"},
    ),
    "INVITATION_VALID_DAYS": ({"INVITATION_VALID_DAYS": "14"}, {"INVITATION_VALID_DAYS": "0"}),
    "BEHIND_TLS_PROXY": ({"BEHIND_TLS_PROXY": "1"}, {"BEHIND_TLS_PROXY": "nginx"}),
    "FIELD_ENCRYPTION_KEYS": (
        {"FIELD_ENCRYPTION_KEYS": f"{KEY},{Fernet.generate_key().decode()}"},
        {"FIELD_ENCRYPTION_KEYS": "not-a-key"},
    ),
    "SESSION_IDLE_MINUTES_STAFF": (
        {"SESSION_IDLE_MINUTES_STAFF": "30"},
        {"SESSION_IDLE_MINUTES_STAFF": "0"},
    ),
    "SESSION_IDLE_MINUTES_CLIENT": (
        {"SESSION_IDLE_MINUTES_CLIENT": "90"},
        {"SESSION_IDLE_MINUTES_CLIENT": "1.5"},
    ),
    "SESSION_ABSOLUTE_MINUTES": (
        {"SESSION_ABSOLUTE_MINUTES": "60"},
        {"SESSION_ABSOLUTE_MINUTES": "-5"},
    ),
    "REAUTH_MINUTES": ({"REAUTH_MINUTES": "5"}, {"REAUTH_MINUTES": "five"}),
    "LOGIN_FAILURE_LIMIT": ({"LOGIN_FAILURE_LIMIT": "5"}, {"LOGIN_FAILURE_LIMIT": "0"}),
    "LOGIN_COOLOFF_MINUTES": ({"LOGIN_COOLOFF_MINUTES": "30"}, {"LOGIN_COOLOFF_MINUTES": ""}),
    "KINDWORK_VAR_DIR": (
        {"KINDWORK_VAR_DIR": "/tmp/kindwork-settings-var"},
        {"KINDWORK_VAR_DIR": str(SETTINGS_FILE / "var")},
    ),
    "LOG_LEVEL": ({"LOG_LEVEL": "warning"}, {"LOG_LEVEL": "LOUD"}),
    "LOG_FORMAT": ({"LOG_FORMAT": "json"}, {"LOG_FORMAT": "xml"}),
    "METRICS_TOKEN": ({"METRICS_TOKEN": "m" * 32}, {"METRICS_TOKEN": "short"}),
    "DEMO_MODE": ({"DEMO_MODE": "1"}, {"DEMO_MODE": "sometimes"}),
    "DEBUG_URL_LIST": ({"DEBUG_URL_LIST": "yes"}, {"DEBUG_URL_LIST": "all"}),
    "OUTREACH_SHARDS": ({"OUTREACH_SHARDS": "4"}, {"OUTREACH_SHARDS": "0"}),
    "LOG_GRACE_HOURS": ({"LOG_GRACE_HOURS": "0"}, {"LOG_GRACE_HOURS": "many"}),
    "MEASURE_INSTRUMENT_DIRS": (
        {"MEASURE_INSTRUMENT_DIRS": str(ROOT / "measures" / "instruments")},
        {"MEASURE_INSTRUMENT_DIRS": str(ROOT / "no-such-instruments")},
    ),
    "VAPID_PRIVATE_KEY": (
        {"VAPID_PRIVATE_KEY": VAPID_PRIVATE, "VAPID_PUBLIC_KEY": VAPID_PUBLIC},
        {"VAPID_PRIVATE_KEY": "not-a-key"},
    ),
    "VAPID_PUBLIC_KEY": (
        {"VAPID_PUBLIC_KEY": VAPID_PUBLIC},
        {"VAPID_PUBLIC_KEY": VAPID_PUBLIC[:-4]},
    ),
    "VAPID_SUBJECT": (
        {"VAPID_SUBJECT": "mailto:care@example.org"},
        {"VAPID_SUBJECT": "care@example.org"},
    ),
    "PUSH_SERVICE_HOSTS": (
        {"PUSH_SERVICE_HOSTS": "fcm.googleapis.com,push.apple.com"},
        {"PUSH_SERVICE_HOSTS": "https://fcm.googleapis.com/"},
    ),
    "AUDIO_MAX_BYTES": ({"AUDIO_MAX_BYTES": "1048576"}, {"AUDIO_MAX_BYTES": "20MB"}),
    "AUDIO_STORAGE_BACKEND": (
        {"AUDIO_STORAGE_BACKEND": "storages.backends.s3.S3Storage", "AUDIO_S3_BUCKET": "audio"},
        {"AUDIO_STORAGE_BACKEND": "storages.backends.s3.S3Storage"},
    ),
}


def documented_settings() -> list[str]:
    """The variable names in the README's settings table."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.extend(re.findall(r"`([A-Z_][A-Z0-9_]*)`", first_cell))
    return names


def load_settings(monkeypatch, environment: dict[str, str]) -> dict:
    for name in {*documented_settings(), *CASES}:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_every_documented_setting_has_a_case():
    documented = documented_settings()
    assert len(documented) > 25
    assert sorted(set(documented) - set(CASES)) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_valid_value_is_taken(monkeypatch, name):
    valid, _invalid = CASES[name]
    load_settings(monkeypatch, valid)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_invalid_value_stops_with_one_line_naming_it(monkeypatch, name):
    _valid, invalid = CASES[name]
    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(monkeypatch, invalid)
    message = str(error.value)
    assert "\n" not in message
    assert any(variable in message for variable in invalid), message
    for secret in ("s" * 50, KEY, "pw"):
        assert secret not in message


def test_an_sqlite_url_gets_sqlite_options_not_postgresql_ones(monkeypatch):
    values = load_settings(monkeypatch, {"DATABASE_URL": "sqlite:////tmp/k.sqlite3"})
    options = values["DATABASES"]["default"]["OPTIONS"]
    assert "server_side_binding" not in options and "prepare_threshold" not in options
    values = load_settings(monkeypatch, {"DATABASE_URL": "postgres://u@h/db"})
    assert values["DATABASES"]["default"]["OPTIONS"]["server_side_binding"] is True


def _manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CASES and key not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_process_on_an_sqlite_url_starts_and_connects(tmp_path):
    database = tmp_path / "kindwork.sqlite3"
    result = _manage(
        "shell",
        "-c",
        "from django.db import connection; connection.ensure_connection(); print('connected')",
        DATABASE_URL=f"sqlite:///{database}",
        KINDWORK_VAR_DIR=str(tmp_path / "var"),
    )
    assert result.returncode == 0, result.stderr
    assert "connected" in result.stdout


@pytest.mark.parametrize(
    "environment",
    [{"DATABASE_URL": "mysql://u@h/db"}, {"DEBUG": "perhaps"}, {"EMAIL_PORT": "smtp"}],
)
def test_a_process_with_a_bad_setting_stops_with_one_line(tmp_path, environment):
    result = _manage("check", KINDWORK_VAR_DIR=str(tmp_path), **environment)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert next(iter(environment)) in lines[0]
