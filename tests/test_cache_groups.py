"""A question's keys share a memcached node, whatever the number of nodes (beebeta/cache.py)."""

from __future__ import annotations

from beebeta.cache import GroupedRendezvousHash
from polls import cache_keys


def ring(count: int) -> GroupedRendezvousHash:
    return GroupedRendezvousHash(nodes=[f"127.0.0.1:{11211 + n}" for n in range(count)])


def test_a_questions_keys_land_on_one_node_and_questions_spread_over_all():
    hasher = ring(4)
    homes = set()
    for n in range(200):
        slug = f"question-{n}"
        # As Django's memcached backend sends them: with the key prefix and version.
        keys = [cache_keys.question(slug), cache_keys.counts(slug), cache_keys.ballot(n, slug)]
        nodes = {hasher.get_node(f"bb:1:{key}") for key in keys}
        assert len(nodes) == 1, slug
        homes |= nodes
    assert len(homes) == 4


def test_keys_without_a_group_are_placed_by_the_whole_key():
    hasher = ring(4)
    nodes = {hasher.get_node(f"bb:1:list:{n}") for n in range(200)}
    assert len(nodes) == 4
    # Bytes, as pymemcache may pass them, are placed like the same text.
    assert hasher.get_node(b"bb:1:q:{abc}") == hasher.get_node("bb:1:c:{abc}")
