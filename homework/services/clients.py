"""What a clinician keeps about one client between sessions: private notes, session dates."""

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import ClientProfile, Role, User
from homework.models import ClientNote
from homework.schedule import local_date

MAX_NOTE_CHARS = 4000
# A session further ahead than this is almost certainly a typing slip.
NEXT_SESSION_HORIZON = timedelta(days=366)


def _check_clinician(clinician: User, client: User) -> None:
    if clinician.role != Role.CLINICIAN or not (
        clients_visible_to(clinician).filter(pk=client.pk).exists()
    ):
        raise PermissionDenied("Only the client's clinician can do this.")


def note_create(
    *, clinician: User, client: User, text: str, now: datetime | None = None
) -> ClientNote:
    """A private note by the client's own clinician; required and bounded."""
    _check_clinician(clinician, client)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write a few words before saving."})
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationError({"text": f"A note can be at most {MAX_NOTE_CHARS:,} characters."})
    return ClientNote.objects.create(
        client=client, author=clinician, text=text, created_at=now or timezone.now()
    )


def next_session_set(
    *, clinician: User, client: User, on: date | None, now: datetime | None = None
) -> ClientProfile:
    """Record the next session (a date in the client's zone), or clear it with None.

    A next session whose day has passed becomes the last session: the pre-session
    report covers the time since then.
    """
    _check_clinician(clinician, client)
    now = now or timezone.now()
    today = local_date(now, client.zone)
    if on is not None and not (today <= on <= today + NEXT_SESSION_HORIZON):
        raise ValidationError({"next_session_on": "Choose a date from today up to a year ahead."})
    profile = ClientProfile.objects.get(user_id=client.pk)
    if profile.next_session_on is not None and profile.next_session_on < today:
        profile.last_session_on = profile.next_session_on
    profile.next_session_on = on
    profile.save(update_fields=["next_session_on", "last_session_on"])
    return profile
