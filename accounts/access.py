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


def clients_visible_to(user: User) -> QuerySet[User]:
    """Clients a user may see.

    A clinician sees their caseload, an admin their clinic's clients, a client themself.
    """
    clients = User.objects.filter(role=Role.CLIENT)
    if user.role == Role.CLINICIAN:
        return clients.filter(clinic_id=user.clinic_id, client_profile__clinician=user)
    if user.role == Role.ADMIN:
        if user.is_superuser and user.clinic_id is None:
            return clients
        return clients.filter(clinic_id=user.clinic_id)
    return clients.filter(pk=user.pk)


def client_for_user_or_404(user: User, client_id: int) -> User:
    client = clients_visible_to(user).select_related("client_profile").filter(pk=client_id).first()
    if client is None:
        raise Http404("No such client.")
    return client


def invitations_visible_to(user: User) -> QuerySet[Invitation]:
    """A clinician sees the client invitations for their own caseload."""
    if user.role == Role.CLINICIAN:
        return Invitation.objects.filter(clinic_id=user.clinic_id, clinician=user)
    if user.role == Role.ADMIN:
        if user.is_superuser and user.clinic_id is None:
            return Invitation.objects.all()
        return Invitation.objects.filter(clinic_id=user.clinic_id)
    return Invitation.objects.none()


def invitation_for_user_or_404(user: User, invitation_id: int) -> Invitation:
    invitation = invitations_visible_to(user).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation
