from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The first-run demo: eight weeks of made-up practice for the demo clinic's people.

    At the top of the layers because it uses every app's models; nothing imports it.
    """

    name = "demo"
    verbose_name = "Demo"
