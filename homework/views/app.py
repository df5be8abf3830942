"""The installable app: the web app manifest, the service worker and the per-person key
that keeps one person's offline copies of their pages apart from anyone else's.

Both files are served at the site root: a service worker controls only the paths
under its own URL, and it must control /portal/. Neither is a static file, because
the manifest names the client's clinic and the worker must not be cached for long.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_GET

from accounts.models import Role, User

# The header a cacheable portal page carries: the service worker stores a page only
# under the cache of the person it was rendered for.
OFFLINE_KEY_HEADER = "X-Offline-Cache-Key"
THEME_COLOUR = "#1d5c63"  # --accent in static/css/kindwork.css


def offline_cache_key(user: object) -> str:
    """A client's offline cache name part: stable per person, not their id, not guessable.

    Empty for anyone else: only the client portal is kept for offline use."""
    if not isinstance(user, User) or user.role != Role.CLIENT:
        return ""
    return salted_hmac("homework.offline-cache", str(user.pk), algorithm="sha256").hexdigest()[:24]


def offline_cacheable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a client page the installed app may keep for offline use."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        key = offline_cache_key(request.user)
        if key and request.method == "GET" and response.status_code == 200:
            response[OFFLINE_KEY_HEADER] = key
        return response

    return wrapped


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    clinic = getattr(request.user, "clinic", None) if request.user.is_authenticated else None
    name = clinic.name if clinic is not None and clinic.name else settings.SITE_NAME
    today = reverse("homework:today")
    body = {
        "id": today,
        "name": name,
        "short_name": name[:12],
        "description": "Your self-compassion practice between sessions.",
        "start_url": today,
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    # It names the clinic of whoever asked: never shared between people.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        render_to_string("app/sw.js", {"key_header": OFFLINE_KEY_HEADER}),
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on navigation; never serve them a stale one.
    response["Cache-Control"] = "no-cache"
    return response
