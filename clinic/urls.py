from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from clinic import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("api/", include("clinic.api_urls")),
    path("", include("accounts.urls")),
    path("", include("audit.urls")),
    path("", include("homework.urls")),
    path("", include("measures.urls")),
    path("", include("outreach.urls")),
    path("", include("records.urls")),
    path("", include("programs.urls")),
]

# The benchmarks' framework floor (bench/floor.py): only when KINDWORK_BENCH_FLOOR=1.
if settings.BENCH_FLOOR:
    urlpatterns.insert(0, path("bench/floor/", include("bench.floor")))
