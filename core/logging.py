"""Log filters that keep the development console readable.

Every static file and favicon request, and a full traceback for every refused (403) or
missing (404) page, buried the lines that matter (emails printed by the worker, real
errors). A refusal is expected behaviour: one line says it happened.
"""

import logging

QUIET_PREFIXES = ("/static/", "/favicon.ico")


class QuietRequestsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.server":
            request_line = str(record.args[0]) if record.args else ""
            status = getattr(record, "status_code", None)
            # "GET /static/css/kindwork.css HTTP/1.1": dropped unless it failed.
            path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
            if path.startswith(QUIET_PREFIXES) and (status is None or status < 400):
                return False
        if record.name == "django.request" and getattr(record, "status_code", None) in (403, 404):
            record.exc_info = None
            record.exc_text = None
        return True
