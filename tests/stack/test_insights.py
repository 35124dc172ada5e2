"""The stack keeps refresh_insights running, as production's timer does, and the demo's pushed
question shows its flags through the balancer."""

from __future__ import annotations

from deploy.stack.topology import Stack
from tests.stack.clients import request, through_balancer

PUSHED = "/q/should-the-city-build-a-new-football-stadium/"


def test_the_demos_push_is_flagged_and_the_insights_loop_runs(stack: Stack):
    connection = through_balancer(stack)
    try:
        answer = request(connection, "GET", PUSHED)
    finally:
        connection.close()
    assert answer.status == 200
    assert "A burst of votes, and many new accounts" in answer.body.decode()
    assert stack.procs["insights"].alive()
