"""Links reversed once per process: a page's navigation and rows repeat the same ones.

`reverse()` walks the URL patterns each time (about 20 microseconds); the dashboard
and the today page call it twenty to seventy times a view (docs/benchmarks.md). The
answer depends on the name, the arguments, the current application namespace, the
URLconf and the script prefix, so all of them are the key; a name that does not
reverse raises each time, as before (exceptions are not cached).
"""

from collections.abc import Hashable
from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

_CACHE_SIZE = 8192


@lru_cache(maxsize=_CACHE_SIZE)
def _reversed(
    name: str,
    args: tuple,
    kwargs: tuple,
    current_app: str | None,
    urlconf: str | None,
    prefix: str,
) -> str:
    return reverse(name, args=args, kwargs=dict(kwargs), current_app=current_app, urlconf=urlconf)


def reverse_cached(
    name: str,
    args: tuple = (),
    kwargs: dict[str, Hashable] | None = None,
    current_app: str | None = None,
) -> str:
    """`reverse(name, args=args, kwargs=kwargs, current_app=current_app)`, remembered."""
    key = (name, tuple(args), tuple(sorted((kwargs or {}).items())), current_app)
    try:
        hash(key)
    except TypeError:  # an argument that cannot be a key: reverse it every time
        return reverse(name, args=args, kwargs=kwargs, current_app=current_app)
    return _reversed(*key, get_urlconf(), get_script_prefix())
