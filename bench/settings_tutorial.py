"""The tutorial peer: the F() increment, any number of votes per person (bench/peer/)."""

from bench.settings_peer import *  # noqa: F403
