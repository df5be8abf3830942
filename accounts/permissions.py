"""Who may call an API endpoint, by role. Which objects they may see is accounts.access."""

from typing import ClassVar

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, views
from rest_framework.request import Request

from accounts.models import Role


class _RolePermission(permissions.BasePermission):
    roles: ClassVar[tuple[str, ...]] = ()
    message = _("This endpoint is not for your account.")

    def has_permission(self, request: Request, view: views.APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in self.roles)


class IsClinician(_RolePermission):
    roles = (Role.CLINICIAN,)


class IsClient(_RolePermission):
    roles = (Role.CLIENT,)


class GetsNotifications(_RolePermission):
    """Whoever the outbox notifies on a device: clients (reminders, news) and clinicians
    (urgent flags, a client's message)."""

    roles = (Role.CLIENT, Role.CLINICIAN)


class CaseloadReads(_RolePermission):
    """Clinicians and their supervisors read a caseload; only clinicians write."""

    roles = (Role.CLINICIAN, Role.SUPERVISOR)

    def has_permission(self, request: Request, view: views.APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.role == Role.CLINICIAN


class ClinicianWrites(_RolePermission):
    """Clinicians, supervisors and clients read (each what they may see); only clinicians
    write."""

    roles = (Role.CLINICIAN, Role.SUPERVISOR, Role.CLIENT)

    def has_permission(self, request: Request, view: views.APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.role == Role.CLINICIAN


class ClientWrites(_RolePermission):
    """Clinicians, supervisors and clients read (each what they may see); only clients
    write."""

    roles = (Role.CLINICIAN, Role.SUPERVISOR, Role.CLIENT)

    def has_permission(self, request: Request, view: views.APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.role == Role.CLIENT
