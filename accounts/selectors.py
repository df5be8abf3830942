"""Reads owned by accounts that pages of several apps show."""

from dataclasses import dataclass

from accounts.models import DEFAULT_CRISIS_TEXT, CrisisContact, User


@dataclass(frozen=True)
class CrisisResources:
    text: str
    contacts: list[CrisisContact]
    is_default_text: bool


def crisis_resources_for_user(*, user: User) -> CrisisResources:
    """The crisis text and contacts of the user's clinic, or the default text; one query.

    Someone without a clinic (a superuser) sees the default text and no contacts.
    """
    clinic = user.clinic
    custom = (clinic.crisis_text.strip() if clinic else "") or ""
    contacts = list(CrisisContact.objects.filter(clinic_id=clinic.pk)) if clinic else []
    return CrisisResources(
        text=custom or DEFAULT_CRISIS_TEXT, contacts=contacts, is_default_text=not custom
    )
