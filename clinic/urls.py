from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from clinic import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/", include("clinic.api_urls")),
    path("", include("accounts.urls")),
    path("", include("audit.urls")),
    path("", include("homework.urls")),
    path("", include("measures.urls")),
    path("", include("outreach.urls")),
    path("", include("records.urls")),
]

# The benchmarks' framework floor (bench/floor.py): only when KINDWORK_BENCH_FLOOR=1.
if settings.BENCH_FLOOR:
    urlpatterns.insert(0, path("bench/floor/", include("bench.floor")))

# JSON under /api/, the site's pages elsewhere (core/errors.py).
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
