"""The installable app's per-person offline key, for the page's meta tag."""

from django import template

from accounts.models import User
from homework.views.app import offline_cache_key

register = template.Library()


@register.simple_tag
def offline_key(user: User | None) -> str:
    return offline_cache_key(user)
