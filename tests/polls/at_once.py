"""Requests released together from many threads, for the limits that must hold under a burst."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from django.db import connection
from django.http import HttpResponse
from django.test import Client

from tests.cache_connections import close_memcached_connections


def statuses_at_once(
    count: int, client_for: Callable[[int], Client], send: Callable[[Client, int], HttpResponse]
) -> Counter:
    """Make ``count`` clients (``client_for(n)``), then have each ``send`` its request at the
    same moment from a thread of its own; the statuses of the answers."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(count)

    def one(number: int) -> None:
        client = client_for(number)
        start.wait()
        response = send(client, number)
        with lock:
            statuses[response.status_code] += 1
        connection.close()
        # A hundred threads a test would otherwise leave their sockets open until garbage
        # collection, against memcached's limit on connections.
        close_memcached_connections()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses
