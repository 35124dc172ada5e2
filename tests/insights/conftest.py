"""Fixtures for the staff insights tests."""

from __future__ import annotations

import copy
import uuid

import pytest
from django.test import Client

from deploy.stack.processes import free_port


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def member_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def memcached_down(settings) -> None:
    """The production cache backend pointed at a port where nothing listens."""
    caches = copy.deepcopy(settings.CACHES)
    assert caches["default"]["BACKEND"] == "beebeta.cache.PersistentPyMemcacheCache"
    caches["default"]["LOCATION"] = [f"127.0.0.1:{free_port()}"]
    caches["default"]["KEY_PREFIX"] = f"down{uuid.uuid4().hex[:10]}"
    settings.CACHES = caches
