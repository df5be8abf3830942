from django.urls import path

from homework import views

app_name = "homework"

urlpatterns = [
    # Client portal
    path("portal/", views.today, name="today"),
    # Clinician pages
    path("clinician/", views.dashboard, name="dashboard"),
]
