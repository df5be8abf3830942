from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import ClientProfile, Clinic, Invitation, User


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "created_at"]
    search_fields = ["name"]


class ClientProfileInline(admin.StackedInline):
    model = ClientProfile
    fk_name = "user"
    extra = 0
    can_delete = False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "clinic", "is_active"]
    list_filter = ["role", "clinic", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "role", "clinic", "timezone"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["email", "role", "clinic", "timezone", "password1", "password2"]}),
    ]
    inlines = [ClientProfileInline]
    actions = ["deactivate"]

    @admin.action(description="Deactivate selected accounts (ends their sessions)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_deactivate(user=user)
        self.message_user(request, f"{queryset.count()} account(s) deactivated.", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "clinic", "status", "created_at", "expires_at"]
    list_filter = ["role", "clinic"]
    search_fields = ["email"]
    exclude = ["token_hash"]
    readonly_fields = ["send_count", "accepted_at", "revoked_at", "accepted_user", "created_at"]
