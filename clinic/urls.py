from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from clinic import health, metrics
from records.admin import clinic_overview_view


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Browsers ask for /favicon.ico whatever the page says; send them to the real one.
    # Resolved per request: the static manifest may not exist when URLs are imported.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    # Before the admin's own URLs, whose catch-all would answer 404 for it.
    path(
        "admin/clinic-overview/",
        admin.site.admin_view(clinic_overview_view),
        name="clinic-overview",
    ),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon),
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
    path("", include("programs.urls")),
]

# The benchmarks' framework floor (bench/floor.py): only when KINDWORK_BENCH_FLOOR=1.
if settings.BENCH_FLOOR:
    urlpatterns.insert(0, path("bench/floor/", include("bench.floor")))

# JSON under /api/, the site's pages elsewhere (core/errors.py).
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
