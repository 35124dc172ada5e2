"""A vote moves the cached entries it read before committing (reads.hold, reads.update_held),
and drops every entry that anyone else stored in between, or that was not there to move."""

from __future__ import annotations

import time

from django.core.cache import cache

from polls import reads
from polls.tallies import Counts

KEY = "held-entry"


def test_an_entry_unchanged_since_it_was_held_is_moved_in_place():
    cache.set(KEY, "before", 60)
    held = reads.hold([KEY])
    assert held.value(KEY) == "before"
    reads.update_held(held, {KEY: ("after", 60)})
    assert cache.get(KEY) == "after"


def test_an_entry_stored_by_someone_else_meanwhile_is_dropped():
    cache.set(KEY, "before", 60)
    held = reads.hold([KEY])
    cache.set(KEY, "a reader's copy, maybe of rows read before the commit", 60)
    reads.update_held(held, {KEY: ("after", 60)})
    assert cache.get(KEY) is None


def test_an_entry_that_was_not_cached_when_held_is_dropped_whatever_came_since():
    held = reads.hold([KEY])
    assert held.value(KEY) is None
    cache.set(KEY, "a reader's copy, maybe of rows read before the commit", 60)
    reads.update_held(held, {KEY: ("after", 60)})
    assert cache.get(KEY) is None


def test_nothing_to_move_means_dropped():
    cache.set(KEY, "before", 60)
    held = reads.hold([KEY])
    reads.update_held(held, {KEY: None})
    assert cache.get(KEY) is None


def test_moved_counts_keep_the_moment_they_were_read_from_mysql():
    counts = Counts(voters=3, by_choice={1: 2, 2: 1}, read_at=time.time() - 50)
    moved = counts.moved(voters=1, choices=[2], previous=[])
    assert (moved.voters, moved.by_choice) == (4, {1: 2, 2: 2})
    assert moved.read_at == counts.read_at and moved.stamp != counts.stamp
    changed = moved.moved(voters=0, choices=[1], previous=[2])
    assert changed.by_choice == {1: 3, 2: 1}
