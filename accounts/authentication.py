"""API token authentication: django-rest-knox's, minus a query on every request.

knox's TokenAuthentication reads all of the user's other tokens on every request
to delete the expired ones. Here expired tokens are swept where tokens are made
(accounts.api's login deletes the user's expired tokens before counting them), so
each request only checks, and deletes if expired, the token it presents.
"""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.signals import token_expired


class TokenAuthentication(auth.TokenAuthentication):
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
