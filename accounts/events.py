"""What accounts tells the apps above it, which it may not import (import-linter layers).

`client_reassigned`: an admin moved a client to another clinician directly (not through a
handover the colleague accepted). Sent inside the move's transaction with `actor` (who
moved them, None for a script), `client` and `handover` (the move as an accepted
handover: from, to, when). The audit app records it (audit/signals.py), so a failing
record rolls the move back with it.
"""

from django.dispatch import Signal

client_reassigned = Signal()
