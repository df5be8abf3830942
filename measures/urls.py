from django.urls import path

from measures import views

app_name = "measures"

urlpatterns = [
    path("portal/measures/", views.client_measures, name="measures"),
    path("portal/measures/<int:measure_id>/", views.measure_answer, name="measure-answer"),
    path(
        "portal/measures/answers/<int:response_id>/",
        views.client_response_detail,
        name="measure-response",
    ),
    path("portal/what-helps/", views.client_what_helps, name="what-helps"),
    path(
        "clinician/clients/<int:client_id>/measures/",
        views.clinician_measures,
        name="clinician-measures",
    ),
    path(
        "clinician/measures/<int:measure_id>/end/",
        views.clinician_measure_end,
        name="clinician-measure-end",
    ),
    path(
        "clinician/measures/answers/<int:response_id>/",
        views.clinician_response_detail,
        name="clinician-measure-response",
    ),
    path("clinician/insights/", views.clinician_insights, name="insights"),
    path(
        "clinician/risk-flags/<int:flag_id>/acknowledge/",
        views.clinician_risk_flag_acknowledge,
        name="risk-flag-acknowledge",
    ),
]
