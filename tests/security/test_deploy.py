"""Production settings: `check --deploy` passes at WARNING, and the headers it implies are on."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "deploy-check-" + "k3y" * 20,
    "ALLOWED_HOSTS": "kindwork.example.org",
    "EMAIL_HOST": "smtp.kindwork.example.org",
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=",
    # A pair made for this test only (`manage.py vapid_keys`); it signs nothing real.
    "VAPID_PRIVATE_KEY": (
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg27GeZulclnd-M9_YD35oDC"
        "yChaE5KheVP9nHNrnyLtahRANCAAQCEKYvrugu1JfSCRrdozioOra9TQTh4F7QAzyhC0oS"
        "y1WD4IwqXyzH3RFHFPG2Ve9hMCQzn_eB1yTAKrsXRmQz"
    ),
    "VAPID_PUBLIC_KEY": (
        "BAIQpi-u6C7Ul9IJGt2jOKg6tr1NBOHgXtADPKELShLLVYPgjCpfLMfdEUcU8bZV72EwJDOf94HXJMAquxdGZDM"
    ),
}


def run_manage(*args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_"))
    }
    env.update(PRODUCTION_ENV, **(extra_env or {}))
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_at_warning_level():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_vapid_pair():
    result = run_manage("check", extra_env={"VAPID_PRIVATE_KEY": "", "VAPID_PUBLIC_KEY": ""})
    assert result.returncode != 0
    assert "notifications.E001" in result.stdout + result.stderr


def test_it_fails_the_deploy_check_when_a_safeguard_is_switched_off():
    # The check is real: turning HSTS off in production is caught.
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env={"SECURE_HSTS_SECONDS": "0"}
    )
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_it_turns_every_safeguard_on_in_production():
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'hsts': s.SECURE_HSTS_SECONDS, 'sub': s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        "'ssl': s.SECURE_SSL_REDIRECT, 'sc': s.SESSION_COOKIE_SECURE,"
        "'sh': s.SESSION_COOKIE_HTTPONLY, 'cc': s.CSRF_COOKIE_SECURE, 'ch': s.CSRF_COOKIE_HTTPONLY,"
        "'nosniff': s.SECURE_CONTENT_TYPE_NOSNIFF, 'frames': s.X_FRAME_OPTIONS,"
        "'referrer': s.SECURE_REFERRER_POLICY, 'csp': bool(s.SECURE_CSP),"
        "'hashers': s.PASSWORD_HASHERS[0]}))"
    )
    result = run_manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "hsts": 31536000,
        "sub": True,
        "ssl": True,
        "sc": True,
        "sh": True,
        "cc": True,
        "ch": True,
        "nosniff": True,
        "frames": "DENY",
        "referrer": "same-origin",
        "csp": True,
        "hashers": "django.contrib.auth.hashers.Argon2PasswordHasher",
    }


def test_it_refuses_to_start_in_production_without_field_encryption_keys():
    result = run_manage("check", extra_env={"FIELD_ENCRYPTION_KEYS": ""})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr
