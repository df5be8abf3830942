"""The OpenAPI schema class of the API (kept apart from core.api, which DRF imports
while its own generic views are still loading)."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions

from core.api import ErrorSerializer

FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "Field messages: each key is a field of the request (or `non_field_errors`, or a "
        "query parameter), each value a list of messages, or for a nested field an object "
        "(or a list of objects) of the same shape."
    ),
    "additionalProperties": {},
}


class KindworkAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers every endpoint can give.

    Without them the schema would list only successes, and a client (or the schema
    fuzzing test) could not know that a 400 carries field messages.
    """

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        public = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())

        def add(code: str, body: object, description: str) -> None:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(body, description), code
                )

        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self._is_list_view():
            add("400", FIELD_ERRORS_SCHEMA, "The request or a filter is not valid.")
        if not public:
            add("401", ErrorSerializer, "Not logged in, or the token is unknown or expired.")
        add("403", ErrorSerializer, "Not for this account's role, or the CSRF check failed.")
        if "{id}" in self.path or self._is_list_view():
            add("404", ErrorSerializer, "Not found (or not the caller's), or no such page.")
        if getattr(self.view, "throttle_classes", None):
            add("429", ErrorSerializer, "Too many attempts; wait and try again.")
        return responses
