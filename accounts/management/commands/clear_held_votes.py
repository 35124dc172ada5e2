"""Remove votes held for people who never confirmed (HELD_VOTE_HOURS), expired links and old
outbox messages. Run hourly in production (deploy/systemd/beebeta-clear-held-votes.timer)."""

from __future__ import annotations

from accounts import outbox, services
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Remove unconfirmed held votes, expired email links and old outbox messages."

    def run_once(self, **options) -> str:
        held, links = services.clear_held_votes()
        messages = outbox.clear_old()
        return (
            f"clear_held_votes: {held} held votes, {links} expired links, "
            f"{messages} old outbox messages removed"
        )
