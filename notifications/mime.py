"""The outbox's email message: Django's, built with header classes made once per process.

The standard library's `email.headerregistry.HeaderRegistry` creates a new class with
`type()` for every header of every message (about 30 per multipart email), which was
a third of the worker's time per email at clinic scale (docs/benchmarks.md: 3.8 ms
to build a reminder, 2.4 ms with the classes reused). The classes depend only on the
header's name, so one made earlier serves as well: the bytes are identical
(tests/notifications/test_mime.py). Everything else is Django's EmailMessage.
"""

import email.policy
from email.headerregistry import HeaderRegistry
from functools import lru_cache

from django.core.mail import EmailMultiAlternatives


class _ReusingHeaderRegistry(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


@lru_cache(maxsize=16)
def reusing_header_classes(policy: email.policy.Policy) -> email.policy.Policy:
    """`policy` with a header factory that reuses its header classes (one per policy)."""
    return policy.clone(header_factory=_ReusingHeaderRegistry())


class OutboxMessage(EmailMultiAlternatives):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (Content-ID without brackets, PNG bytes): pictures the HTML part shows as
        # <img src="cid:...">. They go beside the HTML in a multipart/related part, as
        # RFC 2387 has it, so mail apps show them in place rather than as attachments.
        self.inline_images: list[tuple[str, bytes]] = []

    def message(self, *, policy: email.policy.Policy = email.policy.default):
        if isinstance(policy, email.policy.EmailPolicy):
            policy = reusing_header_classes(policy)
        msg = super().message(policy=policy)
        if self.inline_images:
            html = msg.get_body(preferencelist=("html",))
            for content_id, png in self.inline_images:
                html.add_related(
                    png,
                    maintype="image",
                    subtype="png",
                    cid=f"<{content_id}>",
                    disposition="inline",
                )
        return msg
