"""The stack's read replica: production's settings send the lists to it and the rest to the
primary (beebeta/replica.py; tests/test_replica.py covers lag, pinning and a dead replica)."""

from __future__ import annotations

from pymemcache.client.base import Client as MemcacheClient

from deploy.stack.processes import HOST
from deploy.stack.services import mariadb_sql, replica_status
from deploy.stack.topology import Stack
from tests.stack.clients import request, through_balancer


def selects_from(port: int, table: str) -> int:
    logged = mariadb_sql(port, "SELECT argument FROM mysql.general_log WHERE command_type='Query'")
    return sum(
        1 for line in logged.splitlines() if line.startswith("SELECT") and f"`{table}`" in line
    )


def test_the_stack_reads_its_lists_from_the_replica(stack: Stack):
    primary, replica = stack.ports["mariadb"], stack.ports["replica"]
    status = replica_status(replica)
    assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    for port in (primary, replica):
        mariadb_sql(port, "SET GLOBAL log_output='TABLE'; TRUNCATE mysql.general_log")
        mariadb_sql(port, "SET GLOBAL general_log=1")
    # Nothing the session's other tests read may answer from the cache: these pages read their
    # lists from MySQL. (Sessions are written through to MySQL, so no one is logged out.)
    for node in ("memcached-1", "memcached-2"):
        MemcacheClient((HOST, stack.ports[node]), connect_timeout=2, timeout=2).flush_all()
    try:
        connection = through_balancer(stack)
        try:
            for path in ("/?order=most-voted", "/tags/", "/search/?q=replica+stack"):
                assert request(connection, "GET", path).status == 200, path
        finally:
            connection.close()
        assert selects_from(replica, "polls_tag") > 0
        assert selects_from(primary, "polls_tag") == 0
    finally:
        for port in (primary, replica):
            mariadb_sql(port, "SET GLOBAL general_log=0; TRUNCATE mysql.general_log")
