"""Shared pieces of the REST API: scoping, pagination, throttles, errors.

Each app keeps its own endpoints in `<app>/api.py`; what every endpoint must
do the same way lives here, once. Core imports no product app: the role permissions
are accounts' (accounts/permissions.py), and the caller's scoping functions are
passed in by each view.
"""

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from redis.exceptions import RedisError
from rest_framework import exceptions, pagination, serializers, throttling, views
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.forms import check_form_field
from core.validation import DEFAULT_MAX_TEXT_CHARS, validate_date_in_range, validate_text

logger = logging.getLogger(__name__)


# --- Scoping: the one place where an API view decides what the caller may see ---


class CallerScopedMixin:
    """Every queryset of an API view is the caller's, from the app's access rules.

    A view names its rule in `visible_to` (a function from user to queryset, such
    as `accounts.access.clients_visible_to`); list, retrieve, update and actions
    all start from it, so an object that exists but is not the caller's answers
    404 exactly like one that does not exist. `refine_queryset` may only narrow
    or prefetch, never widen.
    """

    visible_to: ClassVar[Callable[[Any], QuerySet]]
    # An empty queryset naming the model, for the router and the schema only.
    queryset: ClassVar[QuerySet]
    # Ids in URLs are numbers; the router turns anything else into a 404.
    lookup_value_converter = "int"
    request: Request

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        if not user.is_authenticated:
            # Only reached while building the schema; real requests are refused earlier.
            return self.queryset.none()
        return self.refine_queryset(type(self).visible_to(user))

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset


def scoped_choices(model: type, visible_to: Callable[[Any], QuerySet]) -> Callable:
    """The choices of a filter (django-filter) that names an object: only the caller's.

    An id the caller may not see is refused exactly like an unknown one.
    """

    def choices(request: Request | None) -> QuerySet:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return model._default_manager.none()
        return visible_to(user)

    return choices


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object named by id in a request body, chosen among the caller's only."""

    def __init__(
        self,
        *,
        visible_to: Callable[[Any], QuerySet],
        model: type,
        select_related: tuple[str, ...] = (),
        lookup: Callable[[Any, int], Any] | None = None,
        **kwargs,
    ) -> None:
        self.visible_to = visible_to
        self.model = model
        # Relations the view reads next, fetched with the object instead of one by one.
        self.select_related = select_related
        # For an id sent as a JSON number: the same object `get_queryset().get(pk=id)`
        # would find, or None, read more cheaply (a compiled query; its tests compare).
        self.lookup = lookup
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        user = getattr(self.context.get("request"), "user", None)
        signed_in = user is not None and user.is_authenticated
        if self.lookup is None or type(data) is not int or not signed_in:
            return super().to_internal_value(data)
        found = self.lookup(user, data)
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.model._default_manager.none()
        queryset = self.visible_to(user)
        return queryset.select_related(*self.select_related) if self.select_related else queryset


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with an empty value is refused, like any other bad value.

    django-filter reads `?status=` as "no filter" (what an HTML form sends); an API
    caller who sends it has made a mistake, and an unfiltered list would hide it.
    Dates and text in filters follow the same rules as in forms (core.forms).
    """

    @property
    def form(self) -> Any:
        form = super().form
        if not getattr(form, "_kindwork_checked", False):
            for field in form.fields.values():
                check_form_field(field)
            form._kindwork_checked = True
        return form

    def is_valid(self) -> bool:
        valid = super().is_valid()
        cleaned = getattr(self.form, "cleaned_data", {})
        for name in self.filters:
            if name not in self.data or name in self.form.errors:
                continue
            if not self.data.get(name, "").strip():
                self.form.add_error(name, "Give a value, or leave this filter out.")
            elif cleaned.get(name) is None:
                # A widget that reads what it does not know as "no filter" (django-filter's
                # BooleanWidget turns "null" or "maybe" into None): refused, not ignored.
                self.form.add_error(name, "This filter does not take that value.")
        return valid and not self.form.errors


CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field(
    {"type": "string", "pattern": CLOCK_TIME_PATTERN, "example": "18:30"},
)
class ClockTimeField(serializers.TimeField):
    """A time of day to the minute, "HH:MM", in the person's own time zone.

    Reminders work to the minute; seconds would only suggest a precision they lack.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M"])
        super().__init__(**kwargs)

    def to_internal_value(self, value: object) -> Any:
        if not isinstance(value, str) or not re.fullmatch(CLOCK_TIME_PATTERN, value):
            raise serializers.ValidationError('Give a time of day as "HH:MM", e.g. "18:30".')
        return super().to_internal_value(value)


# --- Bodies: one shape check for every serializer ---

UNKNOWN_FIELD_MESSAGE = "This field is not accepted here."
MAX_FIELD_NAME_CHARS = 100


# Fields whose `child` describes each item or value they hold.
CONTAINER_FIELDS = (
    serializers.ListField,
    serializers.DictField,
    serializers.HStoreField,
    serializers.ListSerializer,
)


def _check_serializer_field(field: serializers.Field) -> None:
    """Add the product's text and date validators to one writable field (in place)."""
    if field.read_only:
        return
    if isinstance(field, serializers.CharField):
        if field.style.get("input_type") == "password":
            return
        field.validators.append(validate_text)
        if field.max_length is None:
            field.max_length = DEFAULT_MAX_TEXT_CHARS
            field.validators.append(MaxLengthValidator(DEFAULT_MAX_TEXT_CHARS))
    elif isinstance(field, serializers.DateField | serializers.DateTimeField):
        field.validators.append(validate_date_in_range)
    elif isinstance(field, CONTAINER_FIELDS):
        _check_serializer_field(field.child)


class StrictSerializerMixin:
    """Every request body is checked whole: a key the serializer does not know is a 400
    naming it, at the top level and in every nested object, instead of being dropped
    (a misspelt rating would otherwise be saved as no rating at all). Read-only fields
    may be sent back as they were read and are ignored. Text and dates follow the
    product's rules (core.validation), exactly as the portal's forms do (core.forms).
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            _check_serializer_field(field)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = [key for key in data if key not in known]
            if unknown:
                raise exceptions.ValidationError(
                    {str(key)[:MAX_FIELD_NAME_CHARS]: [UNKNOWN_FIELD_MESSAGE] for key in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    pass


# --- Pagination ---


class StandardPagination(pagination.PageNumberPagination):
    """Page numbers; every list view orders by a unique key so pages never overlap.

    `page` and `page_size` are checked like any other parameter: a bad value is a
    400 naming it, rather than silently the first page or the default size.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return self._whole_number(request, self.page_query_param, maximum=None) or 1

    def get_page_size(self, request: Request) -> int:
        size = self._whole_number(request, self.page_size_query_param, maximum=self.max_page_size)
        return size or self.page_size

    def _whole_number(self, request: Request, name: str, *, maximum: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        value = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else 0
        if value < 1 or (maximum is not None and value > maximum):
            upper = f" to {maximum}" if maximum else " up"
            raise exceptions.ValidationError({name: [f"Give a whole number from 1{upper}."]})
        return value

    def get_schema_operation_parameters(self, view: views.APIView) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


# --- Throttles ---


class _FailOpenThrottle(throttling.SimpleRateThrottle):
    """Counters live in the shared cache (Redis in production).

    If that cache is down the request goes through and a warning is logged:
    throttling is a second line of defence, and a cache outage must not lock
    every API user out.
    """

    def get_rate(self) -> str:
        # Read when the throttle is made, so a settings change (or a test) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request: Request, view: views.APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            logger.warning("API throttle cache unavailable: %s", type(error).__name__)
            return True


class LoginRateThrottle(_FailOpenThrottle):
    """Login and token requests per client address."""

    scope = "login"

    def get_cache_key(self, request: Request, view: views.APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailRateThrottle(_FailOpenThrottle):
    """Login and token requests per account, so spreading guesses over addresses fails too."""

    scope = "login_email"

    def get_cache_key(self, request: Request, view: views.APIView) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        # A digest: any text is a safe cache key, and no address is kept in the cache.
        ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES = [LoginRateThrottle, LoginEmailRateThrottle]


# --- Errors ---


class ErrorSerializer(serializers.Serializer):
    """Every refusal that is not about fields: 401, 403, 404, 405, 429."""

    detail = serializers.CharField()


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """JSON errors with field messages.

    Services raise Django's ValidationError (a business rule said no); that is a
    400 with the same field messages the portal shows. Anything not handled here
    still propagates as a 500 on purpose: it is a bug to fix, not to hide.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_error_detail(exc))
    if isinstance(exc, exceptions.ValidationError) and not isinstance(exc.detail, dict):
        # `raise ValidationError("message")` would answer a bare list; keep one shape.
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.detail})
    return views.exception_handler(exc, context)


@csrf_exempt  # it changes nothing, and a POST to a wrong URL should still hear 404
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other URL under /api/: a JSON 404 like the API's own, not the site's HTML page."""
    return JsonResponse({"detail": "Not found."}, status=404)


def _django_error_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(error, "error_dict"):
        return {
            (non_field if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {non_field: error.messages}
