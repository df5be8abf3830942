from django.urls import path

from records import views

app_name = "records"

urlpatterns = [
    path("portal/export/", views.client_export_page, name="export"),
    path("portal/export/download/", views.client_export_download, name="export-download"),
    path(
        "clinician/clients/<int:client_id>/export/",
        views.clinician_export_download,
        name="clinician-export",
    ),
    path(
        "clinician/clients/<int:client_id>/report/",
        views.pre_session_report_page,
        name="pre-session-report",
    ),
    path(
        "clinician/clients/<int:client_id>/report.pdf",
        views.pre_session_report_download,
        name="pre-session-report-pdf",
    ),
]
