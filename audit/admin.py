"""The audit trail in the admin (read-only, searchable) and the client erasure action."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.access import scoped_to_clinic
from accounts.admin import UserAdmin
from accounts.models import Role, User
from audit.models import AuditEvent
from audit.services import client_erase


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes events here, superusers included."""

    list_display = [
        "created_at",
        "actor",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "client",
        "ip_address",
    ]
    list_filter = ["action", "actor_role", "object_type", "created_at"]
    list_select_related = ["actor", "client"]
    search_fields = [
        "actor__email",
        "actor__full_name",
        "client__email",
        "client__full_name",
        "=object_id",
        "=ip_address",
    ]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # A clinic's own admin sees the events about its people: acting or concerned.
        clinic_id = request.user.clinic_id
        if not clinic_id:
            return queryset.none()
        return queryset.filter(Q(client__clinic_id=clinic_id) | Q(actor__clinic_id=clinic_id))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# The erase action extends the accounts admin from here, so that accounts never
# imports audit (audit depends on accounts, not the other way round). This app
# comes after accounts in INSTALLED_APPS, so the registration below replaces it.
class ErasableUserAdmin(UserAdmin):
    actions = [*UserAdmin.actions, "erase"]

    @admin.action(
        description="Erase selected clients (deletes their clinical data)…", permissions=["erase"]
    )
    def erase(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        clients = list(scoped_to_clinic(request.user, queryset, "clinic").filter(role=Role.CLIENT))
        skipped = queryset.count() - len(clients)
        if request.POST.get("confirm") != "erase":
            return TemplateResponse(
                request,
                "admin/audit/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase clients",
                    "subtitle": None,
                    "opts": self.opts,
                    "clients": clients,
                    "skipped": skipped,
                    "queryset": queryset,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for client in clients:
            client_erase(client=client, actor=request.user, request=request)
        note = (
            f" {skipped} selected account(s) were not clients and were left alone."
            if skipped
            else ""
        )
        self.message_user(request, f"{len(clients)} client(s) erased.{note}", messages.SUCCESS)
        return None


admin.site.unregister(User)
admin.site.register(User, ErasableUserAdmin)
