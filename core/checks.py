"""System checks on settings that would make an installation unsafe."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def demo_mode_only_in_development(app_configs, **kwargs) -> list[Error]:
    """DEMO_MODE lets demo staff skip the second factor: never with DEBUG off."""
    if getattr(settings, "DEMO_MODE", False) and not settings.DEBUG:
        return [
            Error(
                "DEMO_MODE is on while DEBUG is off.",
                hint="The demo relaxes two-step verification; it is for bin/run on your own "
                "machine only. Unset DEMO_MODE for a real installation.",
                id="kindwork.E001",
            )
        ]
    return []
