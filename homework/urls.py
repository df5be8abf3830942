from django.urls import path

from homework.views import clinician, portal

app_name = "homework"

urlpatterns = [
    # --- Exercise library and assignments (clinician) ---
    # --- end exercise library and assignments ---
    # --- Practice, review and progress (client portal and clinician) ---
    path("portal/", portal.today, name="today"),
    path("clinician/", clinician.dashboard, name="dashboard"),
    # --- end practice, review and progress ---
    # --- Reminders and weekly summaries ---
    # --- end reminders and weekly summaries ---
]
