"""Sessions move to accounts_session, which keeps the signed-in person's id beside each
session: nobody is logged out by the upgrade.

Each live session is copied with the person its data names (decoded as Django decodes
it, with the same secret keys); the old rows are then deleted. Reversed, the sessions go
back to Django's table.
"""

from django.contrib.sessions.backends.db import SessionStore
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone

# Spelled out here rather than imported: a migration must keep working whatever later
# code calls things.
AUTH_USER_KEY = "_auth_user_id"
MAX_ID = 2**63 - 1
BATCH = 2000


def user_id_of(session_data: str) -> int | None:
    """The person's id the session's data names, or None (Django's decode gives {} for
    data it cannot read, so such a session names nobody, as it reads in Django)."""
    value = SessionStore().decode(session_data).get(AUTH_USER_KEY)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    return None


def _copy_live(source, target, **extra) -> None:
    """Copy `source`'s live sessions into `target`, in batches; `extra` maps a field of
    `target` to a function of the source row."""
    live = source.objects.filter(expire_date__gt=timezone.now()).order_by("session_key")
    batch = []
    for session in live.iterator(chunk_size=BATCH):
        fields = {name: compute(session) for name, compute in extra.items()}
        batch.append(
            target(
                session_key=session.session_key,
                session_data=session.session_data,
                expire_date=session.expire_date,
                **fields,
            )
        )
        if len(batch) >= BATCH:
            target.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    target.objects.bulk_create(batch, ignore_conflicts=True)


def sessions_to_user_sessions(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Session = apps.get_model("sessions", "Session")
    UserSession = apps.get_model("accounts", "UserSession")
    _copy_live(Session, UserSession, user_id=lambda session: user_id_of(session.session_data))
    Session.objects.all().delete()


def user_sessions_to_sessions(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _copy_live(apps.get_model("accounts", "UserSession"), apps.get_model("sessions", "Session"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_handover"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="UserSession",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40,
                        primary_key=True,
                        serialize=False,
                        verbose_name="session key",
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                (
                    "expire_date",
                    models.DateTimeField(db_index=True, verbose_name="expire date"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.user",
                    ),
                ),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "accounts_session",
                "abstract": False,
            },
        ),
        migrations.RunPython(sessions_to_user_sessions, user_sessions_to_sessions),
    ]
