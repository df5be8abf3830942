from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("accounts/settings/privacy/", views.record_views, name="record-views"),
]
