"""Send the emails waiting in the outbox (accounts/outbox.py).

Run on a timer in production (deploy/systemd/beebeta-send-outbox.timer, every 10 seconds);
`make run` keeps it going in the background with --every.
"""

from __future__ import annotations

from accounts import outbox
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Send the emails waiting in the outbox; refused ones are tried again later."

    def run_once(self, **options) -> str:
        delivery = outbox.deliver()
        return f"send_outbox: {delivery.sent} sent, {delivery.refused} to try again"
