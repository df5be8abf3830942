"""The installable app's per-person offline key, for the page's meta tag."""

from django import template
from django.contrib.auth.models import AnonymousUser

from homework.views.app import offline_cache_key

register = template.Library()


@register.simple_tag
def offline_key(user: AnonymousUser | object) -> str:
    return offline_cache_key(user)  # type: ignore[arg-type]
