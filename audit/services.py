"""Writing the audit trail. Call `audit_record` wherever a clinical record is touched or seen."""

import functools
from collections.abc import Iterable
from contextlib import nullcontext

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.db import connections, models, router, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user

from accounts import services as account_services
from accounts.client_ip import client_ip
from accounts.models import ClientProfile, Invitation, User
from audit.context import (
    automatic_records_suppressed,
    current_request,
    suppress_automatic_records,
)
from audit.models import AuditAction, AuditEvent
from notifications.models import Notification

USER_AGENT_LENGTH = 200


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | type[models.Model],
    client: User | int | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event. `target` is the record (or, for a list, its model class).

    Only the type and id of the target are kept, never its content. Without a
    request, the one being served (if any) supplies the address and browser.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    request = request if request is not None else current_request()
    if isinstance(target, type):
        object_type, object_id = target._meta.label_lower, ""
    else:
        object_type, object_id = target._meta.label_lower, str(target.pk or "")
    return AuditEvent.objects.create(
        object_type=object_type,
        object_id=object_id,
        **_event_fields(actor=actor, action=action, client=client, request=request),
    )


def _event_fields(
    *, actor: User | None, action: str, client: User | int | None, request: HttpRequest | None
) -> dict:
    """An event's columns other than its target: who, what, whose and from where."""
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    return {
        "actor_id": actor_id,
        "actor_role": getattr(actor, "role", "") if actor_id else "",
        "action": action,
        "client_id": client.pk if isinstance(client, User) else client,
        "ip_address": client_ip(request) if request is not None else None,
        "user_agent": user_agent_of(request),
    }


def client_id_of(instance: models.Model) -> int | None:
    """Whose record this is. The built-in exercise library belongs to nobody."""
    if hasattr(instance, "client_id"):
        return instance.client_id
    completion = getattr(instance, "completion", None)
    if completion is not None:
        return completion.client_id
    return None


def is_clinical(instance: models.Model) -> bool:
    # Exercises of the built-in library are shipped data, not a clinic's record.
    if instance._meta.label == "homework.Exercise":
        return instance.clinic_id is not None
    return True


def clinical_record_create(instance: models.Model) -> None:
    """Save a new clinical record and its "create" event: what `instance.save()` and the
    audit trail's post_save receiver (audit.signals) write, the same two rows.

    On PostgreSQL both rows are one statement, and outside a transaction that statement
    is its own: one round trip instead of four (BEGIN, two INSERTs, COMMIT) and none of
    the ORM's per-save query building. A logged practice is the product's most frequent
    write (docs/benchmarks.md). Elsewhere, and while automatic records are suppressed,
    it is `instance.save()` in a transaction of its own. Raises IntegrityError as
    `save()` does, having written nothing; inside a transaction the statement runs in a
    savepoint, so the transaction stays usable. tests/security/test_audit.py compares
    the rows with save()'s.
    """
    alias = router.db_for_write(type(instance), instance=instance)
    connection = connections[alias]
    insert = _record_insert(type(instance), connection.vendor)
    if (
        insert is None
        or instance.pk is not None
        or automatic_records_suppressed()
        or not is_clinical(instance)
    ):
        _saved_with_event(instance, alias)
        return
    sql, fields = insert
    values = [field.pre_save(instance, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        _saved_with_event(instance, alias)  # an expression: the ORM's to compile
        return
    request = current_request()
    event = _event_fields(
        actor=getattr(request, "user", None) if request is not None else None,
        action=AuditAction.CREATE,
        client=client_id_of(instance),
        request=request,
    )
    prepared = zip(fields, values, strict=True)
    params = [
        *(field.get_db_prep_save(value, connection) for field, value in prepared),
        timezone.now(),
        *event.values(),
        instance._meta.label_lower,
    ]
    savepoint = transaction.atomic(using=alias) if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        (object_id,) = cursor.fetchone()
    instance.pk = instance._meta.pk.to_python(object_id)
    instance._state.adding = False
    instance._state.db = alias


def _saved_with_event(instance: models.Model, alias: str) -> None:
    """The ORM's way: the save and its receiver's event in one transaction (or savepoint)."""
    with transaction.atomic(using=alias):
        instance.save(force_insert=True, using=alias)


@functools.cache
def _record_insert(model: type[models.Model], vendor: str) -> tuple[str, list] | None:
    """The one statement for `model` on this kind of database, and the fields whose
    values it takes, in order; None where it cannot be one statement."""
    meta = model._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    if (
        vendor != "postgresql"
        or meta.auto_field is None
        or meta.auto_field is not meta.pk
        or any(field.generated or hasattr(field, "get_placeholder") for field in fields)
    ):
        return None
    quote = connections[router.db_for_write(model)].ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # The event's columns in the order of _event_fields, then its target. Names come
    # from the model, values are parameters.
    sql = (
        f"WITH created AS (INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"RETURNING {pk}) "
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} (created_at, actor_id, actor_role, "
        "action, client_id, ip_address, user_agent, object_type, object_id) "
        f"SELECT %s, %s, %s, %s, %s, %s::inet, %s, %s, created.{pk}::text FROM created "
        "RETURNING object_id"
    )
    return sql, fields


def audit_record_view(
    *,
    request: HttpRequest,
    target: models.Model | type[models.Model],
    client: User | int,
) -> AuditEvent | None:
    """A clinician or admin looked at a client's record. A client's own look is not logged."""
    viewer = request.user
    if not viewer.is_authenticated or getattr(viewer, "is_client", False):
        return None
    return audit_record(
        actor=viewer, action=AuditAction.VIEW, target=target, client=client, request=request
    )


def audit_record_views(
    *, request: HttpRequest, target: type[models.Model], client_ids: Iterable[int | None]
) -> int:
    """A clinician or admin saw a list of records: one event per client on it, one query."""
    viewer = request.user
    if not viewer.is_authenticated or getattr(viewer, "is_client", False):
        return 0
    shared = {
        "actor_id": viewer.pk,
        "actor_role": viewer.role,
        "action": AuditAction.VIEW,
        "object_type": target._meta.label_lower,
        "ip_address": client_ip(request),
        "user_agent": user_agent_of(request),
    }
    clients = [client_id for client_id in dict.fromkeys(client_ids) if client_id is not None]
    connection = connections[AuditEvent.objects.db]
    if connection.vendor == "postgresql" and clients:
        # The rows are made by the database from the list of ids: a group page's fifty
        # model instances cost more Python than the rest of its cached page.
        with connection.cursor() as cursor:
            cursor.execute(
                _VIEWS_INSERT,
                [timezone.now(), *shared.values(), clients],
            )
        return len(clients)
    AuditEvent.objects.bulk_create([AuditEvent(client_id=pk, **shared) for pk in clients])
    return len(clients)


# The columns in the order of `shared` above; the same rows bulk_create writes
# (tests/security/test_audit.py compares them).
_VIEWS_INSERT = (
    "INSERT INTO audit_auditevent (created_at, actor_id, actor_role, action, object_type, "
    "ip_address, user_agent, object_id, client_id) "
    "SELECT %s, %s, %s, %s, %s, %s::inet, %s, '', client_id "
    "FROM unnest(%s::bigint[]) WITH ORDINALITY AS ids(client_id, n) ORDER BY n"
)


def audit_records_create(
    *,
    actor: User,
    action: str,
    targets: Iterable[tuple[models.Model, int | None]],
    request: HttpRequest | None = None,
) -> int:
    """`audit_record` for many records at once (a group enrolled in one step): one event
    per (record, client id), one query."""
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    request = request if request is not None else current_request()
    shared = {
        "actor_id": actor.pk,
        "actor_role": actor.role,
        "action": action,
        "ip_address": client_ip(request) if request is not None else None,
        "user_agent": user_agent_of(request),
    }
    events = AuditEvent.objects.bulk_create(
        AuditEvent(
            object_type=target._meta.label_lower,
            object_id=str(target.pk or ""),
            client_id=client_id,
            **shared,
        )
        for target, client_id in targets
    )
    return len(events)


def user_agent_of(request: HttpRequest | None) -> str:
    """The browser's own description, cut to the column's length (printable text only:
    core.headers has cleaned it before any view runs)."""
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]


# --- Right to erasure ---

# Apps whose rows with a `client` pointing at the person are their clinical data.
# Named by label, so audit imports none of them.
CLINICAL_APPS = ["homework", "measures"]


def client_erase(*, client: User, actor: User, request: HttpRequest | None = None) -> AuditEvent:
    """Erase a client: delete their clinical data, anonymise and close the account.

    Deleted: every row of the clinical apps that belongs to them (assignments,
    completions with their feedback, measures, calendar feeds...), their emails
    in the outbox, their failed-login records and second-factor devices. The
    account stays as an anonymous, inactive shell so the audit trail still
    resolves; the trail gains one "erase" event and no row-by-row deletions.
    """
    if not client.is_client:
        raise ValueError("Only a client can be erased.")
    old_email = client.email
    with transaction.atomic(), suppress_automatic_records():
        for model in _client_owned_models():
            model._default_manager.filter(client=client).delete()
        Notification.objects.filter(
            models.Q(recipient=client) | models.Q(to_email__iexact=old_email)
        ).delete()
        Invitation.objects.filter(
            models.Q(accepted_user=client) | models.Q(email__iexact=old_email)
        ).update(email=_erased_email(client), full_name="")
        ClientProfile.objects.filter(user=client).delete()
        for model in (AccessAttempt, AccessLog, AccessFailureLog):
            model.objects.filter(username__iexact=old_email).delete()
        for device in list(devices_for_user(client, confirmed=None)):
            device.delete()
        client.email = _erased_email(client)
        client.full_name = ""
        client.set_unusable_password()
        client.save(update_fields=["email", "full_name", "password"])
        account_services.user_deactivate(user=client)
        return audit_record(
            actor=actor, action=AuditAction.ERASE, target=client, client=client, request=request
        )


def _erased_email(client: User) -> str:
    return f"erased-{client.pk}@erased.invalid"


def _client_owned_models() -> list[type[models.Model]]:
    owned = []
    for app_label in CLINICAL_APPS:
        for model in apps.get_app_config(app_label).get_models():
            field = next((f for f in model._meta.fields if f.name == "client"), None)
            related = getattr(field, "related_model", None)
            if related is not None and related._meta.label == settings.AUTH_USER_MODEL:
                owned.append(model)
    return owned
