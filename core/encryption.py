"""Field-level encryption at rest for clinical free text (reflections, prompt answers, replies).

Values are Fernet tokens (AES-128-CBC with an HMAC-SHA256, from the `cryptography`
package) made with keys from FIELD_ENCRYPTION_KEYS, never from the database or
SECRET_KEY. The first key encrypts; every key decrypts (MultiFernet), so a new key
is put first, old rows stay readable, and `manage.py reencrypt_fields` moves them to
the new key before an old one is dropped.

Why not a package: the encrypted-field packages for Django either derive their key
from SECRET_KEY (not a separate key), store empty text as NULL, fall back silently to
returning ciphertext on a wrong key, or predate Django 5. This module is the small
part on top of `cryptography.fernet.MultiFernet`, which does the cryptography.

Encrypted columns can be read and written, never searched: every lookup but
`isnull` is refused, because the same text encrypts differently every time.
"""

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

# Every Fernet token starts with its version byte 0x80, which base64 makes "gAAAAA".
FERNET_PREFIX = "gAAAAA"


@cache
def _fernet() -> MultiFernet:
    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []))
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)."
        ) from error


def _keys_changed(setting: str, **kwargs) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_keys_changed)


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    """Raises cryptography.fernet.InvalidToken when no key opens `token`."""
    return _fernet().decrypt(token)


def decrypt(stored: str) -> str:
    """The text of a stored value. Text stored before encryption was turned on is returned
    as it is (the migration and `reencrypt_fields` encrypt it); a token no key opens is
    an error, never shown as if it were the text."""
    if not stored.startswith(FERNET_PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "An encrypted field could not be decrypted with any of FIELD_ENCRYPTION_KEYS."
        ) from error


def rotate(stored: str) -> str:
    """The same text under the newest key (plain legacy text gets encrypted)."""
    if not stored.startswith(FERNET_PREFIX):
        return encrypt(stored)
    return _fernet().rotate(stored.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


class _NotSearchable:
    """Refuse every lookup but isnull: a search on ciphertext would silently match nothing."""

    def get_lookup(self, lookup_name: str):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str):
        return None


class EncryptedTextField(_NotSearchable, models.TextField):
    """A TextField stored encrypted. Reads give the text back."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return decrypt(value)


class EncryptedJSONField(_NotSearchable, models.JSONField):
    """A JSONField stored as the encrypted text of its JSON (a text column, not jsonb)."""

    def get_internal_type(self) -> str:
        return "TextField"

    def db_type(self, connection) -> str:
        return models.TextField().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared: bool = False):
        if value is None:
            return None
        if hasattr(value, "as_sql"):  # an expression: let the database handle it
            return value
        return encrypt(json.dumps(value, cls=self.encoder))

    def get_db_prep_save(self, value, connection):
        return self.get_db_prep_value(value, connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(decrypt(value), cls=self.decoder)
