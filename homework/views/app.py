"""The installable app: the web app manifest and the service worker. The per-person key
that keeps one person's offline copies of their pages apart from anyone else's is
accounts.offline's.

Both files are served at the site root: a service worker controls only the paths
under its own URL, and it must control /portal/. Neither is a static file, because
the manifest names the client's clinic and the worker must not be cached for long.
"""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.offline import OFFLINE_KEY_HEADER

THEME_COLOUR = "#1d5c63"  # --accent in static/css/kindwork.css
# How many pages the installed app keeps for one person (Today always stays). Today, a
# practice and a log page per plan need far fewer; the bound is for pages kept with
# query strings (a log page opened from the timer carries ?minutes=).
OFFLINE_MAX_PAGES = 60


@cache
def cache_version() -> str:
    """The offline caches' version: changes with the worker's code and the static files.

    A changed version changes the worker's bytes, so browsers install the new worker,
    which deletes the caches of older versions (pages kept under an older version link
    to static files of that version). Computed once per process, as a deploy restarts it.
    """
    worker = Path(settings.BASE_DIR) / "templates" / "app" / "sw.js"
    digest = hashlib.sha256(worker.read_bytes())
    for folder in map(Path, settings.STATICFILES_DIRS):
        for path in sorted(path for path in folder.rglob("*") if path.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


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
        render_to_string(
            "app/sw.js",
            {
                "key_header": OFFLINE_KEY_HEADER,
                "version": cache_version(),
                "max_pages": OFFLINE_MAX_PAGES,
            },
        ),
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on navigation; never serve them a stale one.
    response["Cache-Control"] = "no-cache"
    return response
