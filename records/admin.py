"""Admin for records: the export log, and the page where an admin exports a clinic.

Superusers may export any clinic; a clinic's own admin (staff, role admin) only
theirs. The export log is read-only and scoped the same way.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from accounts.access import scoped_to_clinic
from accounts.models import Clinic, Role, User
from core.forms import CheckedForm
from records.exports import export_clinic
from records.models import ExportRecord
from records.overview import clinic_overview
from records.views import download


def may_export_clinics(user: User) -> bool:
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or (user.role == Role.ADMIN and user.clinic_id))
    )


class ClinicExportForm(CheckedForm):
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.none(),
        label="Clinic",
        error_messages={
            "required": "Choose a clinic.",
            "invalid_choice": "Choose one of the clinics listed.",
        },
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = scoped_to_clinic(user, Clinic.objects.all(), "pk")


@admin.register(ExportRecord)
class ExportRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "format", "actor", "subject", "clinic"]
    list_filter = ["kind", "format"]
    list_select_related = ["actor", "subject", "clinic"]
    date_hierarchy = "created_at"
    change_list_template = "admin/records/exportrecord/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), "clinic")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_export_clinics(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_export_clinics(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self) -> list:
        return [
            path(
                "export-clinic/",
                self.admin_site.admin_view(self.export_clinic_view),
                name="records_exportrecord_export_clinic",
            ),
            *super().get_urls(),
        ]

    def export_clinic_view(self, request: HttpRequest) -> HttpResponse:
        if not may_export_clinics(request.user):
            raise PermissionDenied("Only a clinic's admin can export it.")
        status = 200
        if request.method == "POST":
            form = ClinicExportForm(request.POST, user=request.user)
            if form.is_valid():
                return download(
                    export_clinic(admin=request.user, clinic=form.cleaned_data["clinic"])
                )
            status = 400
        else:
            form = ClinicExportForm(user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": "Export a clinic",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/records/exportrecord/export_clinic.html", context, status=status
        )


def clinic_overview_view(request: HttpRequest) -> HttpResponse:
    """/admin/clinic-overview/: the clinic's figures for its admins (counts, no person).

    The same people as the clinic export: a clinic's own admin sees theirs; a superuser
    chooses a clinic. Wrapped in admin_site.admin_view by clinic/urls.py, so anyone
    without staff status is sent to the admin's login first.
    """
    user = request.user
    if not may_export_clinics(user):
        raise PermissionDenied("Only a clinic's admin can see its overview.")
    clinics = scoped_to_clinic(user, Clinic.objects.all(), "pk").order_by("name", "pk")
    chosen = request.GET.get("clinic", "")
    if chosen:
        if not chosen.isdigit():
            raise Http404("No such clinic.")
        clinic = clinics.filter(pk=int(chosen)).first()
        if clinic is None:
            raise Http404("No such clinic.")
    else:
        clinic = clinics.first()
    overview = clinic_overview(clinic=clinic) if clinic is not None else None
    context = {
        **admin.site.each_context(request),
        "title": f"Clinic overview: {clinic.name}" if clinic else "Clinic overview",
        "subtitle": None,
        "overview": overview,
        "chart": overview.adherence_chart() if overview else None,
        "clinics": clinics if user.is_superuser else None,
        "clinic": clinic,
    }
    return TemplateResponse(request, "admin/records/clinic_overview.html", context)
