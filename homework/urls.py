from django.urls import path

from homework.views import app, assignments, audio, caseload, clinician, exercises, portal

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
    path("exercises/<int:exercise_id>/audio/", audio.exercise_audio, name="exercise-audio"),
    path(
        "clinician/exercises/<int:exercise_id>/audio/",
        audio.exercise_audio_attach,
        name="exercise-audio-attach",
    ),
    path(
        "clinician/exercises/<int:exercise_id>/audio/remove/",
        audio.exercise_audio_remove,
        name="exercise-audio-remove",
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
    path("portal/moment/", portal.moment, name="moment"),
    path("portal/practice/<int:assignment_id>/", portal.practice, name="practice"),
    path("portal/practice/<int:assignment_id>/log/", portal.log, name="log"),
    path("portal/history/", portal.history, name="history"),
    path(
        "portal/history/<int:completion_id>/correct/",
        portal.completion_edit,
        name="completion-edit",
    ),
    path("portal/history/<int:completion_id>/", portal.thread, name="thread"),
    path("portal/progress/", portal.progress, name="progress"),
    path("portal/history/<int:completion_id>/grounding/", portal.grounding, name="grounding"),
    path("portal/phrases/", portal.phrases, name="phrases"),
    path("clinician/", clinician.dashboard, name="dashboard"),
    path("clinician/clients/<int:client_id>/", clinician.client_detail, name="client-detail"),
    path(
        "clinician/completions/<int:completion_id>/feedback/",
        clinician.feedback_create_view,
        name="feedback-create",
    ),
    path("clinician/inbox/", clinician.inbox, name="inbox"),
    path(
        "clinician/clients/<int:client_id>/notes/", clinician.note_create_view, name="note-create"
    ),
    path(
        "clinician/clients/<int:client_id>/next-session/",
        clinician.next_session_view,
        name="next-session",
    ),
    # --- end practice, review and progress ---
    # --- The installable app (at the site root, so the worker's scope covers /portal/) ---
    path("manifest.webmanifest", app.manifest, name="manifest"),
    path("sw.js", app.service_worker, name="service-worker"),
    # --- Discharge, reopen and handover (clinician) ---
    path(
        "clinician/clients/<int:client_id>/discharge/",
        caseload.client_discharge,
        name="client-discharge",
    ),
    path("clinician/clients/<int:client_id>/reopen/", caseload.client_reopen, name="client-reopen"),
    path(
        "clinician/clients/<int:client_id>/handover/",
        caseload.handover_offer,
        name="handover-offer",
    ),
    path(
        "clinician/handovers/<int:handover_id>/accept/",
        caseload.handover_accept,
        name="handover-accept",
    ),
    path(
        "clinician/handovers/<int:handover_id>/cancel/",
        caseload.handover_cancel,
        name="handover-cancel",
    ),
    # --- end discharge, reopen and handover ---
]
