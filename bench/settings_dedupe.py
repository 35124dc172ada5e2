"""The fair peer: the tutorial's vote plus a unique (user, question) vote row in the same
transaction, so each person votes once (bench/peer/)."""

from bench.settings_peer import *  # noqa: F403

PEER_NAME = "dedupe"
PEER_ONE_VOTE_PER_USER = True
