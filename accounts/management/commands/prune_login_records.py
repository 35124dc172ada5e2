"""Remove the login lockout's rows once they can no longer lock anyone out (accounts/
login_records.py). Run every 15 minutes in production
(deploy/systemd/beebeta-prune-login-records.timer)."""

from __future__ import annotations

from accounts import login_records
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Remove failed-login records older than LOGIN_COOLOFF_MINUTES, and any access log."

    def run_once(self, **options) -> str:
        return f"prune_login_records: {login_records.prune()} rows removed"
