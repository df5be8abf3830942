"""Who may see what: the one place for access rules, used by every view.

Objects that exist but are not the caller's answer 404, exactly like objects
that do not exist, so nothing leaks about other clinics or other clients.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from accounts.models import Invitation, Role, User
from core.compiled import CompiledModels


def role_required(*roles: str) -> Callable:
    """View decorator: log in first, then only the given roles (others get 403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise PermissionDenied("This page is not for your account.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


clinician_required = role_required(Role.CLINICIAN)
client_required = role_required(Role.CLIENT)

# Roles that read a caseload: the clinician whose it is and a supervisor of that clinician.
CASELOAD_READER_ROLES = (Role.CLINICIAN, Role.SUPERVISOR)
# Only these change a client's record; a supervisor reads and never writes.
CASELOAD_WRITER_ROLES = (Role.CLINICIAN,)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def may_write_caseload(user: User) -> bool:
    """Whether this person may change a client's plans, questionnaires and feedback."""
    return user.is_authenticated and user.role in CASELOAD_WRITER_ROLES


def caseload_reader_required(view: Callable) -> Callable:
    """Clinicians and supervisors read the page; only a clinician may send it a form.

    A supervisor's POST is refused here, before the view runs, so no page that both
    shows and changes a record can be used by a supervisor to change it.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.role not in CASELOAD_READER_ROLES:
            raise PermissionDenied("This page is not for your account.")
        if request.method not in SAFE_METHODS and not may_write_caseload(request.user):
            raise PermissionDenied("A supervisor reads this record but does not change it.")
        return view(request, *args, **kwargs)

    return wrapper


# Pages every person has, such as their own settings: any role, but logged in.
account_required = role_required(*Role.values)


def scoped_to_clinic(user: User, queryset: QuerySet, clinic_lookup: str) -> QuerySet:
    """Limit an admin queryset to the staff member's clinic; superusers see everything.

    `clinic_lookup` is the path from the queryset's model to its clinic id, e.g.
    "clinic" for users, "user__clinic" for client profiles, "pk" for clinics.
    """
    if user.is_superuser:
        return queryset
    if not user.clinic_id:
        return queryset.none()
    return queryset.filter(**{clinic_lookup: user.clinic_id})


def rule_compiles_for(user: User) -> bool:
    """Whether `clients_visible_to(user)` is a query of the user's clinic and id alone (a
    clinician of a clinic), so a query built from it can be compiled once per process
    with `clinician_stand_in` (core.compiled)."""
    return user.role == Role.CLINICIAN and user.clinic_id is not None


def clinician_stand_in(clinic_id: int, clinician_id: int) -> User:
    """An unsaved clinician of that clinic and id: all the access rule reads of one."""
    return User(pk=clinician_id, role=Role.CLINICIAN, clinic_id=clinic_id)


def clients_visible_to(user: User) -> QuerySet[User]:
    """Clients a user may see.

    A clinician sees their caseload, a supervisor the caseloads of the clinicians of
    their own clinic they supervise, an admin their clinic's clients (a superuser
    every client), a client themself.
    """
    clients = User.objects.filter(role=Role.CLIENT)
    if user.role == Role.CLINICIAN:
        return clients.filter(clinic_id=user.clinic_id, client_profile__clinician=user)
    if user.role == Role.SUPERVISOR:
        # The clinic is checked on both sides: a supervision link that crossed clinics
        # (the admin refuses one, but data outlives rules) shows nothing.
        return clients.filter(
            clinic_id=user.clinic_id,
            client_profile__clinician__in=User.objects.filter(
                supervisors=user, role=Role.CLINICIAN, clinic_id=user.clinic_id
            ),
        )
    if user.is_superuser:
        return clients
    if user.role == Role.ADMIN:
        return clients.filter(clinic_id=user.clinic_id) if user.clinic_id else clients.none()
    return clients.filter(pk=user.pk)


CLIENT_DEACTIVATED = (
    "This client's account is deactivated, so nothing new can be given to them. "
    "An admin of your clinic can reactivate it."
)
CLIENT_DISCHARGED = (
    "Work with this client has ended (discharged). Reopen their record to give them anything new."
)


def client_closed_reason(client: User) -> str | None:
    """Why nothing new may be written for this client, or None when they are open.

    The one rule for every write (plans, questionnaires, feedback, practice logs), from
    the portal and the API alike: a deactivated account or a discharged client.
    """
    if not client.is_active:
        return CLIENT_DEACTIVATED
    profile = getattr(client, "client_profile", None)
    if profile is not None and profile.discharged_at is not None:
        return CLIENT_DISCHARGED
    return None


def _client_visible_to(user: User, client_id: int) -> QuerySet[User]:
    return clients_visible_to(user).select_related("client_profile").filter(pk=client_id)


# A clinician opening one of their clients (every client page, report and form): the
# access rule itself, compiled once per process (core.compiled), as the caseload is;
# tests/core/test_compiled.py compares it with the rule for every kind of reader.
_CLINICIANS_CLIENT = CompiledModels(
    lambda clinic_id, clinician_id, client_id: _client_visible_to(
        clinician_stand_in(clinic_id, clinician_id), client_id
    ),
    int,
    int,
    int,
)
# A primary key's range (BigAutoField): a larger number in a URL names nobody.
KEY_RANGE = range(-(2**63), 2**63)


def client_for_user_or_404(user: User, client_id: int) -> User:
    if client_id not in KEY_RANGE:
        raise Http404("No such client.")
    if rule_compiles_for(user):
        found = _CLINICIANS_CLIENT.all(user.clinic_id, user.pk, client_id)
        client = found[0] if found else None
    else:
        client = _client_visible_to(user, client_id).first()
    if client is None:
        raise Http404("No such client.")
    return client


def invitations_visible_to(user: User) -> QuerySet[Invitation]:
    """A clinician sees the client invitations for their own caseload; an admin their clinic's.

    Superusers run the whole installation and see everything.
    """
    if user.role == Role.CLINICIAN:
        return Invitation.objects.filter(clinic_id=user.clinic_id, clinician=user)
    if user.is_superuser:
        return Invitation.objects.all()
    if user.role == Role.ADMIN and user.clinic_id:
        return Invitation.objects.filter(clinic_id=user.clinic_id)
    return Invitation.objects.none()


def invitation_for_user_or_404(user: User, invitation_id: int) -> Invitation:
    invitation = invitations_visible_to(user).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation
