"""The demo installation's accounts: recognised by their address, and only with DEMO_MODE.

DEMO_MODE is refused by a system check unless DEBUG is on (core.checks), so nothing here
can loosen a production installation.
"""

from django.conf import settings

from accounts.models import User

DEMO_DOMAIN = "@demo.kindwork"


def is_demo_account(user: User) -> bool:
    # DEBUG too, not only the system check: a server started without running the
    # checks must not relax anything either.
    return bool(settings.DEMO_MODE and settings.DEBUG) and user.email.endswith(DEMO_DOMAIN)
