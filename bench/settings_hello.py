"""Beebeta's settings with one more route: "hello through the stack" (bench/views.py)."""

from beebeta.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_hello"
