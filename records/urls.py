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
]
