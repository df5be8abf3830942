"""An email backend for outbox tests: fails on cue, otherwise keeps mail in mail.outbox.

Select it with `settings.MAILERS`; queue exceptions on the class (shared by every
instance, since the outbox asks `mailers.default` for a new one per batch).
"""

from django.core.mail.backends.locmem import EmailBackend


class ScriptedBackend(EmailBackend):
    open_errors: list[Exception] = []
    send_errors: list[Exception] = []
    before_send = None  # called with the messages before each send, if set
    opened = 0
    closed = 0

    @classmethod
    def reset(cls) -> None:
        cls.open_errors = []
        cls.send_errors = []
        cls.before_send = None
        cls.opened = 0
        cls.closed = 0

    connected = False

    def open(self) -> bool:
        """Like the SMTP backend: connect once, and say whether this call connected."""
        if self.connected:
            return False
        if self.open_errors:
            raise self.open_errors.pop(0)
        self.connected = True
        type(self).opened += 1
        return True

    def close(self) -> None:
        if self.connected:
            self.connected = False
            type(self).closed += 1

    def send_messages(self, messages) -> int:
        if type(self).before_send is not None:
            type(self).before_send(messages)
        if self.send_errors:
            raise self.send_errors.pop(0)
        return super().send_messages(messages)
