from django.contrib import admin
from django.urls import include, path

from clinic import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("api/", include("clinic.api_urls")),
    path("", include("accounts.urls")),
    path("", include("homework.urls")),
]
