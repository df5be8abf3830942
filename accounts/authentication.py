"""API token authentication: django-rest-knox's, minus a query on every request.

knox's TokenAuthentication reads all of the user's other tokens on every request
to delete the expired ones. Here expired tokens are swept where tokens are made
(accounts.api's login deletes the user's expired tokens before counting them), so
each request only checks, and deletes if expired, the token it presents. The
presented token's rows are read with SQL compiled once per process (core.compiled),
and a token that is not text (bytes that are not UTF-8, a NUL) is refused as any
wrong token is, where knox would fail with a server error.
"""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from core.compiled import CompiledModels

INVALID_TOKEN = _("Invalid token.")
_TOKENS = CompiledModels(
    lambda key: get_token_model().objects.filter(token_key=key).select_related("user"), str
)


class TokenAuthentication(auth.TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check (every token with the key's first characters, by digest), with
        the tokens read through compiled SQL."""
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        if "\x00" in text:  # no row holds one, and PostgreSQL refuses it in a query
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        for auth_token in _TOKENS.all(text[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(INVALID_TOKEN)

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of the token above (drf-spectacular matches exact classes)."""

    target_class = "accounts.authentication.TokenAuthentication"
