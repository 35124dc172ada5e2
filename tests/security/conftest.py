"""Fixtures of the security tests: a Chromium that keeps its console log (the stack is shared)."""

from __future__ import annotations

import pytest

import tests.conftest as shared


@pytest.fixture
def console_browser(tmp_path):
    """tests/conftest.py's Chromium, with every console message kept for driver.get_log()."""
    driver = shared.start_chromium(tmp_path / "chromium-profile", console_log=True)
    try:
        yield driver
    finally:
        driver.quit()
