from django.urls import path

from homework.views import assignments, clinician, exercises, portal, reminders, weeks
from homework.views import calendar as calendar_views
from homework.views import exports as export_views
from homework.views import measures as measure_views

app_name = "homework"

urlpatterns = [
    # --- Exercise library and assignments (clinician) ---
    path("clinician/exercises/", exercises.exercise_list, name="exercise-list"),
    path("clinician/exercises/new/", exercises.exercise_create, name="exercise-create"),
    path(
        "clinician/exercises/<int:exercise_id>/", exercises.exercise_detail, name="exercise-detail"
    ),
    path(
        "clinician/exercises/<int:exercise_id>/copy/", exercises.exercise_copy, name="exercise-copy"
    ),
    path(
        "clinician/exercises/<int:exercise_id>/edit/", exercises.exercise_edit, name="exercise-edit"
    ),
    path(
        "clinician/exercises/<int:exercise_id>/archive/",
        exercises.exercise_archive,
        name="exercise-archive",
    ),
    path(
        "clinician/exercises/<int:exercise_id>/restore/",
        exercises.exercise_restore,
        name="exercise-restore",
    ),
    path(
        "clinician/clients/<int:client_id>/assign/",
        assignments.assignment_create,
        name="assignment-create",
    ),
    path(
        "clinician/assignments/<int:assignment_id>/",
        assignments.assignment_edit,
        name="assignment-edit",
    ),
    path(
        "clinician/assignments/<int:assignment_id>/pause/",
        assignments.assignment_pause,
        name="assignment-pause",
    ),
    path(
        "clinician/assignments/<int:assignment_id>/resume/",
        assignments.assignment_resume,
        name="assignment-resume",
    ),
    path(
        "clinician/assignments/<int:assignment_id>/end/",
        assignments.assignment_end,
        name="assignment-end",
    ),
    # --- end exercise library and assignments ---
    # --- Practice, review and progress (client portal and clinician) ---
    path("portal/", portal.today, name="today"),
    path("portal/practice/<int:assignment_id>/", portal.practice, name="practice"),
    path("portal/practice/<int:assignment_id>/log/", portal.log, name="log"),
    path("portal/history/", portal.history, name="history"),
    path(
        "portal/history/<int:completion_id>/correct/",
        portal.completion_edit,
        name="completion-edit",
    ),
    path("portal/progress/", portal.progress, name="progress"),
    path("portal/phrases/", portal.phrases, name="phrases"),
    path("clinician/", clinician.dashboard, name="dashboard"),
    path("clinician/clients/<int:client_id>/", clinician.client_detail, name="client-detail"),
    path(
        "clinician/completions/<int:completion_id>/feedback/",
        clinician.feedback_create_view,
        name="feedback-create",
    ),
    # --- end practice, review and progress ---
    # --- Reminders and weekly summaries ---
    path("portal/reminders/", reminders.preferences, name="reminder-preferences"),
    path(
        "reminders/settings/<str:token>/",
        reminders.preferences_signed,
        name="reminder-preferences-signed",
    ),
    path("portal/weeks/<str:monday>/", weeks.client_week_page, name="client-week"),
    path("clinician/weeks/<str:monday>/", weeks.clinician_week_page, name="clinician-week"),
    # --- end reminders and weekly summaries ---
    # --- Measures, insights, export, calendar ---
    path("portal/measures/", measure_views.client_measures, name="measures"),
    path("portal/measures/<int:measure_id>/", measure_views.measure_answer, name="measure-answer"),
    path(
        "portal/measures/answers/<int:response_id>/",
        measure_views.client_response_detail,
        name="measure-response",
    ),
    path("portal/what-helps/", measure_views.client_what_helps, name="what-helps"),
    path("portal/export/", export_views.client_export_page, name="export"),
    path("portal/export/download/", export_views.client_export_download, name="export-download"),
    path("portal/calendar/", calendar_views.calendar_page, name="calendar"),
    path("portal/calendar/new/", calendar_views.calendar_create, name="calendar-create"),
    path("portal/calendar/revoke/", calendar_views.calendar_revoke, name="calendar-revoke"),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar-feed"),
    path(
        "clinician/clients/<int:client_id>/measures/",
        measure_views.clinician_measures,
        name="clinician-measures",
    ),
    path(
        "clinician/measures/<int:measure_id>/end/",
        measure_views.clinician_measure_end,
        name="clinician-measure-end",
    ),
    path(
        "clinician/measures/answers/<int:response_id>/",
        measure_views.clinician_response_detail,
        name="clinician-measure-response",
    ),
    path("clinician/insights/", measure_views.clinician_insights, name="insights"),
    path(
        "clinician/clients/<int:client_id>/export/",
        export_views.clinician_export_download,
        name="clinician-export",
    ),
    # --- end measures, insights, export, calendar ---
]
