from django.urls import path

from outreach import views

app_name = "outreach"

urlpatterns = [
    path("portal/reminders/", views.preferences, name="reminder-preferences"),
    path("portal/reminders/channels/", views.channels, name="reminder-channels"),
    path(
        "portal/reminders/devices/<int:device_id>/remove/",
        views.device_remove,
        name="push-device-remove",
    ),
    path(
        "reminders/settings/<str:token>/",
        views.preferences_signed,
        name="reminder-preferences-signed",
    ),
    path("portal/weeks/<str:monday>/", views.client_week_page, name="client-week"),
    path(
        "clinician/notifications/",
        views.clinician_notifications,
        name="clinician-notifications",
    ),
    path(
        "clinician/notifications/devices/<int:device_id>/remove/",
        views.clinician_device_remove,
        name="clinician-device-remove",
    ),
    path("clinician/weeks/<str:monday>/", views.clinician_week_page, name="clinician-week"),
    path("portal/calendar/", views.calendar_page, name="calendar"),
    path("portal/calendar/new/", views.calendar_create, name="calendar-create"),
    path("portal/calendar/revoke/", views.calendar_revoke, name="calendar-revoke"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]
