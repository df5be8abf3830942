"""Passwords: Argon2 first (with the real hasher, not the tests' fast one), old hashes upgraded,
and the length and common-password validators."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import Role, User
from clinic import settings as project_settings


@pytest.fixture
def real_hashers(settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def test_it_hashes_new_passwords_with_argon2(db, real_hashers):
    user = User.objects.create_user(
        email="argon@kindwork.test", password="a-long-test-password-9", role=Role.ADMIN
    )
    assert user.password.startswith("argon2$argon2id$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password("a-long-test-password-9")
    assert not user.check_password("a-long-test-password-8")


def test_it_upgrades_an_older_hash_to_argon2_at_login(db, real_hashers, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = User.objects.create_user(
        email="old@kindwork.test", password="a-long-test-password-9", role=Role.ADMIN
    )
    assert user.password.startswith("pbkdf2_sha256$")
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert user.check_password("a-long-test-password-9")
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-9", "too short"),
        ("password123", "too common"),
        ("1234567890123", "entirely numeric"),
        ("robin.harbour.client", "too similar"),
    ],
)
def test_it_refuses_weak_passwords(password, message):
    person = User(email="robin.harbour@client.test", full_name="Robin Harbour", role=Role.CLIENT)
    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)
    assert message in " ".join(refused.value.messages)


def test_it_accepts_a_long_uncommon_password():
    person = User(email="robin.harbour@client.test", full_name="Robin Harbour")
    validate_password("quiet-lantern-over-water-42", person)
