"""Make a VAPID key pair for Web Push: print it, or write the development pair once."""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifications.push import vapid_keys_generate


class Command(BaseCommand):
    help = "Print a new VAPID key pair, or with --dev-file write one to the var folder if none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dev-file",
            action="store_true",
            help="Write the pair to VAPID_DEV_KEYS_FILE unless it exists (bin/run does this).",
        )

    def handle(self, *args: Any, dev_file: bool = False, **options: Any) -> None:
        if dev_file:
            path = settings.VAPID_DEV_KEYS_FILE
            if path.exists():
                return
            private, public = vapid_keys_generate()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"private": private, "public": public}))
            path.chmod(0o600)
            self.stdout.write(f"Wrote a development VAPID key pair to {path}")
            return
        private, public = vapid_keys_generate()
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}\nVAPID_PUBLIC_KEY={public}")
