"""The memcached cache backend Beebeta runs in production."""

from __future__ import annotations

from django.core.cache.backends.memcached import PyMemcacheCache
from pymemcache.client.rendezvous import RendezvousHash


class GroupedRendezvousHash(RendezvousHash):
    """Rendezvous hashing that places a key by the part of it in braces, when it has one.

    Keys that name the same group ("qs:{3f2a...}", "c:{3f2a...}", "b:7:{3f2a...}": a question,
    its counts and a visitor's ballot) live on the same node, so fetching them together is one
    round trip however many nodes there are. Keys without braces are placed by the whole key.
    """

    def get_node(self, key: str | bytes) -> object:
        text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        start = text.find("{")
        end = text.find("}", start + 1)
        if start >= 0 and end > start + 1:
            text = text[start + 1 : end]
        return super().get_node(text)


class PersistentPyMemcacheCache(PyMemcacheCache):
    """PyMemcacheCache that keeps its connections between requests.

    Django's memcached backends disconnect every node when a request finishes.
    With pymemcache's HashClient that also throws away which nodes were marked
    dead, so a dead node would cost a connect timeout on every request instead
    of once per ``dead_timeout``. Connections are per thread, so keeping them
    is safe.
    """

    def close(self, **kwargs: object) -> None:
        pass
