"""URLs of the REST API: /api/v1/... plus the OpenAPI schema and its docs.

Every route added here needs a row in tests/api/test_authorization_matrix.py,
which walks these patterns and fails on a route it does not know.
"""

from django.conf import settings
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from core.api import not_found
from homework import api as homework_api
from measures import api as measures_api
from outreach import api as outreach_api
from programs import api as programs_api
from records import api as records_api

# path() routes, so the id converter (CallerScopedMixin: int) makes ids numbers:
# anything else is not a route at all and gets the JSON 404 below.
router = SimpleRouter(trailing_slash=True, use_regex_path=False)
router.register("invitations", accounts_api.InvitationViewSet, basename="invitation")
router.register("exercises", homework_api.ExerciseViewSet, basename="exercise")
router.register("clients", homework_api.ClientViewSet, basename="client")
router.register("assignments", homework_api.AssignmentViewSet, basename="assignment")
router.register("completions", homework_api.CompletionViewSet, basename="completion")
router.register(
    "measure-assignments", measures_api.MeasureAssignmentViewSet, basename="measure-assignment"
)
router.register(
    "measure-responses", measures_api.MeasureResponseViewSet, basename="measure-response"
)
router.register("risk-flags", measures_api.RiskFlagViewSet, basename="risk-flag")
router.register(
    "push-subscriptions", outreach_api.PushSubscriptionViewSet, basename="push-subscription"
)
router.register("programs", programs_api.ProgramViewSet, basename="program")
router.register("groups", programs_api.GroupViewSet, basename="group")
router.register("enrolments", programs_api.EnrolmentViewSet, basename="enrolment")

v1 = [
    path("auth/token/", accounts_api.TokenCreateView.as_view(), name="token"),
    path("auth/token/logout/", accounts_api.TokenLogoutView.as_view(), name="token-logout"),
    path(
        "auth/token/logoutall/", accounts_api.TokenLogoutAllView.as_view(), name="token-logoutall"
    ),
    path("auth/login/", accounts_api.SessionLoginView.as_view(), name="session-login"),
    path("auth/logout/", accounts_api.SessionLogoutView.as_view(), name="session-logout"),
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("me/preferences/", outreach_api.PreferencesView.as_view(), name="me-preferences"),
    path("me/progress/", homework_api.OwnProgressView.as_view(), name="me-progress"),
    path("me/phrases/", homework_api.PhrasesView.as_view(), name="me-phrases"),
    path("today/", homework_api.TodayView.as_view(), name="today"),
    path("instruments/", measures_api.InstrumentListView.as_view(), name="instruments"),
    path("me/measures/", measures_api.OwnMeasuresView.as_view(), name="me-measures"),
    path("me/what-helps/", measures_api.OwnInsightsView.as_view(), name="me-what-helps"),
    path("me/export/", records_api.OwnExportView.as_view(), name="me-export"),
    path("what-helps/", measures_api.CaseloadInsightsView.as_view(), name="what-helps"),
    path("exports/", records_api.ClientExportView.as_view(), name="exports"),
    path("inbox/", homework_api.InboxView.as_view(), name="inbox"),
    path("clients/<int:pk>/report/", records_api.ClientReportView.as_view(), name="client-report"),
    path(
        "clients/<int:pk>/report/pdf/",
        records_api.ClientReportPdfView.as_view(),
        name="client-report-pdf",
    ),
    path(
        "me/crisis-resources/",
        accounts_api.CrisisResourcesView.as_view(),
        name="me-crisis-resources",
    ),
    path("bulk-assignments/", programs_api.BulkAssignmentView.as_view(), name="bulk-assignments"),
    *router.urls,
]


class SchemaView(SpectacularAPIView):
    # JSON first, so errors (a POST here, say) read like every other API error;
    # ?format=yaml still gives YAML.
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


# Swagger UI styles itself inline; its scripts stay under the site's strict policy.
DOCS_CSP = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
}
docs_view = csp_override(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api:schema"))

app_name = "api"

urlpatterns = [
    path("v1/", include((v1, "v1"))),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", docs_view, name="docs"),
    # Last: any other URL under /api/ answers a JSON 404, a newline in it too (the
    # fuzzer sends one; "." alone stops at it and the HTML 404 page answered).
    re_path(r"^(?P<path>(?s:.*))\Z", not_found, name="not-found"),
]
