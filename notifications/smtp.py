"""The SMTP backend the outbox sends through: Django's, with the outbox's bytes.

Django's backend builds every message with the standard library's email API and parses
each envelope address with its header parser. For an `OutboxMessage` this backend sends
the bytes `notifications.mime.outbox_bytes` writes, and takes a plain ASCII envelope
address as it stands; anything else goes down Django's path unchanged. The connection
handling, TLS, timeouts and errors are Django's.
"""

import smtplib

from django.core.mail.backends import smtp

from notifications.mime import OutboxMessage, outbox_bytes, simple_envelope_address


class OutboxSmtpBackend(smtp.EmailBackend):
    def _send(self, email_message) -> bool:
        recipients = email_message.recipients()
        if not recipients:
            return False  # as Django's backend: nothing to build or send
        raw = outbox_bytes(email_message) if isinstance(email_message, OutboxMessage) else None
        if raw is None:
            return super()._send(email_message)
        from_email = self.prep_address(email_message.from_email)
        recipients = [self.prep_address(address) for address in recipients]
        try:
            self.connection.sendmail(from_email, recipients, raw)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True

    def prep_address(self, address, force_ascii=True) -> str:
        plain = simple_envelope_address(str(address))
        return plain if plain is not None else super().prep_address(address, force_ascii)
