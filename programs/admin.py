from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.access import scoped_to_clinic
from programs.models import Enrolment, Group, Program, ProgramVersion, ProgramWeek, ProgramWeekItem


class ProgramWeekInline(admin.StackedInline):
    model = ProgramWeek
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["title", "clinic", "delivery", "archived_at"]
    list_filter = ["delivery"]
    search_fields = ["title"]
    inlines = [ProgramWeekInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), "clinic")


@admin.register(ProgramWeekItem)
class ProgramWeekItemAdmin(admin.ModelAdmin):
    list_display = ["week", "exercise", "schedule_kind"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(
            request.user, super().get_queryset(request), "week__program__clinic"
        )


@admin.register(ProgramVersion)
class ProgramVersionAdmin(admin.ModelAdmin):
    list_display = ["program", "number", "created_at"]
    readonly_fields = ["program", "number", "snapshot", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), "program__clinic")


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "clinician", "clinic"]
    raw_id_fields = ["members", "clinician"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), "clinic")


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["client", "program", "current_week", "status", "next_week_on"]
    list_filter = ["status"]
    raw_id_fields = ["client", "clinician", "group"]
    readonly_fields = ["version", "round"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped_to_clinic(request.user, super().get_queryset(request), "client__clinic")
