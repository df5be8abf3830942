"""The admin's side of accounts: clinics, people, invitations and caseloads.

Everything that has a rule goes through accounts.services (inviting, deactivating,
moving a client), so the admin cannot do what the portal would refuse. Superusers
see every clinic; a staff member with a clinic sees only that clinic.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, AdminForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts import services
from accounts.access import scoped_to_clinic
from accounts.forms import (
    ClientProfileAdminForm,
    ClinicAdminForm,
    InvitationAdminForm,
    UserAdminChangeForm,
    UserAdminCreationForm,
    form_data,
)
from accounts.models import ClientProfile, Clinic, CrisisContact, Invitation, Role, User

admin.site.site_header = f"{settings.SITE_NAME} administration"
admin.site.site_title = f"{settings.SITE_NAME} administration"
admin.site.index_title = "Clinics, people and records"

# Groups are not used (a role decides what a person may do), and API tokens are ended
# with "log out everywhere": neither list helps an admin, so neither is shown.
for _unused_model in (Group, AuthToken):
    if admin.site.is_registered(_unused_model):
        admin.site.unregister(_unused_model)


def _confirm_action(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    explanation: str,
    button: str,
) -> TemplateResponse:
    """An intermediate "are you sure?" page for an admin action, posted back with confirm."""
    return TemplateResponse(
        request,
        "admin/accounts/confirm_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": model_admin.opts,
            "explanation": explanation,
            "button": button,
            "objects": list(queryset),
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


def _invite_clinician_url(clinic: Clinic | None = None) -> str:
    url = reverse("admin:accounts_invitation_add") + f"?role={Role.CLINICIAN}"
    return f"{url}&clinic={clinic.pk}" if clinic else url


class ClinicScopedAdmin(admin.ModelAdmin):
    """Rows and clinic choices limited to the staff member's clinic (superusers: all)."""

    clinic_lookup = "clinic"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), self.clinic_lookup)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Clinic:
            kwargs["queryset"] = scoped_to_clinic(request.user, Clinic.objects.all(), "pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CrisisContactInline(admin.StackedInline):
    model = CrisisContact
    extra = 1
    fields = ["label", "phone", "url", "position"]
    verbose_name = "crisis phone number or link"
    verbose_name_plural = "Crisis phone numbers and links (shown to clients on Help now)"


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    form = ClinicAdminForm
    inlines = [CrisisContactInline]
    list_display = [
        "name",
        "timezone",
        "clinicians",
        "clients",
        "created_at",
        "closed_at",
        "invite",
    ]
    search_fields = ["name"]
    list_filter = ["timezone"]
    readonly_fields = ["closed_at"]
    actions = ["close"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A clinic holds clinical records that must be kept: it is closed, not deleted.
        return False

    def has_close_permission(self, request: HttpRequest) -> bool:
        # The installation's administrators close clinics, not a clinic's own admin.
        return request.user.is_superuser

    @admin.action(
        description="Close selected clinics (deactivates every account, keeps data)…",
        permissions=["close"],
    )
    def close(self, request: HttpRequest, queryset: QuerySet[Clinic]) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            return _confirm_action(
                request,
                self,
                queryset,
                action="close",
                title="Close clinics",
                explanation=(
                    "Every account of these clinics is deactivated and logged out, and their "
                    "open invitations are withdrawn. Clients' records, practice and "
                    "questionnaires are kept, and can still be exported here. Accounts can "
                    "be reactivated one by one later."
                ),
                button="Yes, close",
            )
        deactivated = sum(services.clinic_close(clinic=clinic) for clinic in queryset)
        self.message_user(
            request,
            f"{queryset.count()} clinic(s) closed; {deactivated} account(s) deactivated. "
            "Their records are kept.",
            messages.SUCCESS,
        )
        return None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Clinic]:
        # Counted in the one list query, so the page costs the same for any number of clinics.
        return (
            super()
            .get_queryset(request)
            .annotate(
                clinician_count=Count(
                    "users", filter=Q(users__role=Role.CLINICIAN, users__is_active=True)
                ),
                client_count=Count(
                    "users", filter=Q(users__role=Role.CLIENT, users__is_active=True)
                ),
            )
        )

    @admin.display(description="Active clinicians", ordering="clinician_count")
    def clinicians(self, clinic: Clinic) -> int:
        return clinic.clinician_count

    @admin.display(description="Active clients", ordering="client_count")
    def clients(self, clinic: Clinic) -> int:
        return clinic.client_count

    @admin.display(description="Invite")
    def invite(self, clinic: Clinic) -> str:
        return format_html('<a href="{}">Invite a clinician</a>', _invite_clinician_url(clinic))

    def save_model(self, request: HttpRequest, obj: Clinic, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The logo goes through the branding service, which stores it whole or not at all.
        logo = form.cleaned_data.get("logo_upload")
        if logo is not None or form.cleaned_data.get("remove_logo"):
            services.clinic_branding_update(
                clinic=obj,
                display_name=obj.display_name,
                accent_colour=obj.accent_colour,
                logo_data=logo,
                remove_logo=bool(form.cleaned_data.get("remove_logo")),
            )

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # The logo's storage failed in save_model (disk full, store away): the whole
            # change was rolled back with it, so say so and show the form again.
            if "logo" not in getattr(error, "error_dict", {}):
                raise
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            return redirect(request.get_full_path())

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        obj = kwargs.get("obj")
        if obj is not None:
            context["invite_clinician_url"] = _invite_clinician_url(obj)
        return super().render_change_form(request, context, *args, **kwargs)

    def response_add(self, request: HttpRequest, obj: Clinic, post_url_continue=None):
        # A new clinic needs people: offer the next step right away.
        self.message_user(
            request,
            format_html(
                'Next, <a href="{}">invite the first clinician of {}</a>.',
                _invite_clinician_url(obj),
                obj.name,
            ),
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)


class ClientProfileInline(admin.StackedInline):
    model = ClientProfile
    form = ClientProfileAdminForm
    fk_name = "user"
    extra = 0
    max_num = 1
    can_delete = False
    verbose_name = "Clinician and reminder preferences"
    verbose_name_plural = verbose_name


def _save_profile_through_service(
    profile: ClientProfile, changed: list[str], *, actor: User
) -> None:
    """Moving a client goes through the service (the client is told, the move audited);
    other preferences save as they are."""
    with transaction.atomic():
        if profile.pk and "clinician" in changed:
            services.client_reassign(client=profile.user, clinician=profile.clinician, actor=actor)
        profile.save()


@admin.register(User)
class UserAdmin(ClinicScopedAdmin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    add_form_template = "admin/accounts/user/add_form.html"
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "clinic", "is_active", "last_login"]
    list_filter = ["role", "clinic", "is_active", "is_staff", "is_superuser"]
    list_select_related = ["clinic"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "role", "clinic", "timezone"]}),
        ("Emails", {"fields": ["weekly_summary_email"]}),
        (
            "Supervision",
            {
                "fields": ["supervises"],
                "description": (
                    "For a supervisor: whose caseloads they may read. They never change a "
                    "record and never see reflections a client kept private."
                ),
            },
        ),
        (
            "Access",
            {
                "fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"],
                "description": (
                    "Untick “Active” to deactivate the account: it is logged out everywhere "
                    "at once and cannot log in again until reactivated."
                ),
            },
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["email", "full_name", "role", "clinic", "clinician", "timezone"]}),
        ("Password", {"fields": ["usable_password", "password1", "password2"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["supervises"]
    actions = ["deactivate", "reactivate"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # People leave through erasure (audit's "Erase" action), which keeps the audit
        # trail; a plain delete would fail on or destroy their records.
        return False

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return super().has_delete_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A clinic's own admin must not be able to hand out more power than they have.
            fields += ["is_superuser", "is_staff", "groups", "user_permissions"]
        return fields

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list:
        return [ClientProfileInline] if obj is not None and obj.is_client else []

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {**(extra_context or {}), "invite_clinician_url": _invite_clinician_url()}
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if not change and obj.is_client:
            ClientProfile.objects.create(user=obj, clinician=form.cleaned_data["clinician"])
        if deactivating:
            services.user_deactivate(user=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ClientProfile:
            return super().save_formset(request, form, formset, change)
        # save(commit=False) also records what changed, for the admin's history message.
        profiles = formset.save(commit=False)
        changed = {id(profile): fields for profile, fields in formset.changed_objects}
        for profile in profiles:
            _save_profile_through_service(profile, changed.get(id(profile), []), actor=request.user)
        return None

    @admin.action(description="Deactivate selected accounts (logs them out everywhere)…")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            return _confirm_action(
                request,
                self,
                queryset.filter(is_active=True),
                action="deactivate",
                title="Deactivate accounts",
                explanation=(
                    "These people are logged out everywhere and cannot log in until "
                    "reactivated. Nothing they wrote is deleted; “Reactivate” undoes this."
                ),
                button="Yes, deactivate",
            )
        count = 0
        for user in queryset.filter(is_active=True):
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot deactivate yourself.", messages.WARNING)
                continue
            services.user_deactivate(user=user)
            count += 1
        self.message_user(
            request,
            f"{count} account(s) deactivated. Choose “Reactivate” to undo.",
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Reactivate selected accounts")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset.filter(is_active=False))
        for user in users:
            services.user_reactivate(user=user)
        self.message_user(request, f"{len(users)} account(s) reactivated.", messages.SUCCESS)


@admin.register(ClientProfile)
class ClientProfileAdmin(ClinicScopedAdmin):
    """Caseloads: which clinician holds which client. Change the clinician to move a client."""

    clinic_lookup = "user__clinic"
    form = ClientProfileAdminForm
    list_display = ["user", "clinician", "clinic", "weekly_summary", "reminders_paused_until"]
    list_filter = [("user__clinic", admin.RelatedOnlyFieldListFilter), "clinician"]
    list_select_related = ["user__clinic", "clinician"]
    search_fields = ["user__email", "user__full_name", "clinician__email", "clinician__full_name"]
    readonly_fields = ["user", "created_at"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return ["user", *ClientProfileAdminForm.Meta.fields, "created_at"]

    @admin.display(description="Clinic", ordering="user__clinic__name")
    def clinic(self, profile: ClientProfile) -> Clinic | None:
        return profile.user.clinic

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Clients arrive through an invitation (or the user form), never as a bare profile.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ClientProfile, form, change: bool) -> None:
        _save_profile_through_service(obj, form.changed_data, actor=request.user)


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("pending", "Pending"),
            ("accepted", "Accepted"),
            ("revoked", "Withdrawn"),
            ("expired", "Expired"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invitation]):
        now = timezone.now()
        unused = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        match self.value():
            case "pending":
                return queryset.filter(unused, expires_at__gt=now)
            case "accepted":
                return queryset.filter(accepted_at__isnull=False)
            case "revoked":
                return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=False)
            case "expired":
                return queryset.filter(unused, expires_at__lte=now)
        return queryset


@admin.register(Invitation)
class InvitationAdmin(ClinicScopedAdmin):
    """Read-only log of invitations; new ones go through the service (never a token field)."""

    list_display = [
        "email",
        "full_name",
        "role",
        "clinic",
        "clinician",
        "status",
        "send_count",
        "created_at",
        "expires_at",
    ]
    list_filter = [InvitationStatusFilter, "role", "clinic"]
    list_select_related = ["clinic", "clinician"]
    search_fields = ["email", "full_name"]
    # token_hash is deliberately absent: not shown, not editable, not searchable.
    fields = [
        "clinic",
        "role",
        "email",
        "full_name",
        "clinician",
        "invited_by",
        "status",
        "send_count",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_user",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["resend", "revoke"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # No filtering by hash in the address bar either: it would tell whether a token is live.
        return not lookup.startswith("token_hash") and super().lookup_allowed(
            lookup, value, request
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Kept as a record; withdraw instead.
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Invite a clinician (or a client on a clinician's behalf) through the service."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        user = request.user
        form = InvitationAdminForm(
            form_data(request),
            initial={"clinic": request.GET.get("clinic"), "role": request.GET.get("role")},
            clinics=scoped_to_clinic(user, Clinic.objects.all(), "pk"),
            clinicians=scoped_to_clinic(
                user, User.objects.filter(role=Role.CLINICIAN, is_active=True), "clinic"
            ),
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                invitation = services.invitation_create(
                    clinic=data["clinic"],
                    email=data["email"],
                    full_name=data["full_name"],
                    role=data["role"],
                    clinician=data["clinician"],
                    invited_by=user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._invitation_sent(request, invitation)
        return self._invite_form(request, form, extra_context)

    def _invitation_sent(self, request: HttpRequest, invitation: Invitation) -> HttpResponse:
        self.log_addition(request, invitation, [{"added": {}}])
        self.message_user(
            request,
            f"Invitation on its way to {invitation.email}. They set their password through "
            f"the link; the email's delivery shows under Email outbox.",
            messages.SUCCESS,
        )
        changelist = reverse("admin:accounts_invitation_changelist")
        return redirect(f"{changelist}?clinic__id__exact={invitation.clinic_id}")

    def _invite_form(
        self, request: HttpRequest, form: InvitationAdminForm, extra_context: dict | None
    ) -> HttpResponse:
        fieldsets = [
            (None, {"fields": ["clinic", "role", "email", "full_name"]}),
            (
                "Client invitations only",
                {
                    "fields": ["clinician"],
                    "description": "Clients are usually invited by their clinician from "
                    "the clinician pages; choose the clinician whose caseload they join.",
                },
            ),
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite a clinician or client",
            "subtitle": None,
            "opts": self.opts,
            "adminform": AdminForm(form, fieldsets, {}),
            "errors": form.errors,
            "add": True,
            "has_view_permission": self.has_view_permission(request),
            "invitation_valid_days": settings.INVITATION_VALID_DAYS,
            **(extra_context or {}),
        }
        return TemplateResponse(
            request,
            "admin/accounts/invitation/invite.html",
            context,
            status=200,
        )

    @admin.action(
        description="Resend selected invitations (new link, old one stops)", permissions=["add"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        sent = 0
        for invitation in queryset:
            try:
                services.invitation_resend(invitation=invitation)
            except ValidationError:
                continue
            sent += 1
        skipped = queryset.count() - sent
        note = f" {skipped} were already accepted or withdrawn." if skipped else ""
        self.message_user(request, f"{sent} invitation(s) sent again.{note}", messages.SUCCESS)

    @admin.action(description="Withdraw selected invitations", permissions=["add"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        withdrawn = sum(services.invitation_revoke(invitation=i) for i in queryset)
        self.message_user(request, f"{withdrawn} invitation(s) withdrawn.", messages.SUCCESS)


# --- Second-factor devices -------------------------------------------------------------
# django-otp's own admin can show a device's secret and QR code, which would let an admin
# copy someone's authenticator. Here a superuser may only see that a device exists and
# delete it (for a person who lost both phone and recovery codes); they then enrol again.


class SecondFactorAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "user__full_name"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser


for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)
    admin.site.register(_device_model, SecondFactorAdmin)
