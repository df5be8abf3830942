"""The installable app's per-person offline key, for the page's meta tag."""

from django import template

from accounts.offline import offline_cache_key

register = template.Library()


@register.simple_tag
def offline_key(user: object) -> str:
    """The signed-in client's key; empty for anyone else (staff, anonymous)."""
    return offline_cache_key(user)
