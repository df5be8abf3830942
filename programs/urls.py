from django.urls import path

from programs import views

app_name = "programs"

urlpatterns = [
    path("clinician/programs/", views.program_list, name="program-list"),
    path("clinician/programs/new/", views.program_edit, name="program-create"),
    path("clinician/programs/<int:program_id>/", views.program_detail, name="program-detail"),
    path("clinician/programs/<int:program_id>/edit/", views.program_edit, name="program-edit"),
    path("clinician/programs/<int:program_id>/copy/", views.program_copy, name="program-copy"),
    path("clinician/programs/<int:program_id>/enrol/", views.program_enrol, name="program-enrol"),
    path("clinician/groups/", views.group_list, name="group-list"),
    path("clinician/groups/new/", views.group_edit, name="group-create"),
    path("clinician/groups/<int:group_id>/", views.group_detail, name="group-detail"),
    path("clinician/groups/<int:group_id>/edit/", views.group_edit, name="group-edit"),
    path(
        "clinician/enrolments/<int:enrolment_id>/<slug:action>/",
        views.enrolment_action,
        name="enrolment-action",
    ),
    path("clinician/assign-many/", views.assign_many, name="assign-many"),
]
