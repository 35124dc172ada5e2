"""/healthz on the stack keeps its memcached connections: the balancer's checks, every few
seconds from every nginx, must not open a connection each (hundreds of connections for
hundreds of checks, as it once did)."""

from __future__ import annotations

from pymemcache.client.base import Client as PymemcacheClient

from deploy.stack.processes import HOST
from deploy.stack.topology import Stack
from tests.stack.test_outages import health_checks

ROUNDS = 50
# Everything else on the stack that may connect meanwhile (the timers' loops, a worker that
# starts) stays far below the two connections a check would open if it did not reuse them.
OTHERS = 10


def connections_accepted(nodes: list[PymemcacheClient]) -> int:
    return sum(int(node.stats()[b"total_connections"]) for node in nodes)


def test_health_checks_through_nginx_reuse_memcached_connections(stack: Stack, figure):
    nodes = [PymemcacheClient((HOST, stack.ports[name])) for name in ("memcached-1", "memcached-2")]
    try:
        # Every worker that answers a check opens its connections once; warm them all first.
        assert all(answer.status == 200 for answer in health_checks(stack, 10))
        before = connections_accepted(nodes)
        answers = health_checks(stack, ROUNDS)
        opened = connections_accepted(nodes) - before
    finally:
        for node in nodes:
            node.close()
    assert all(answer.status == 200 for answer in answers)
    figure(f"{len(answers)} /healthz through both nginx opened {opened} memcached connections")
    assert opened <= OTHERS, f"{opened} connections for {len(answers)} checks"
