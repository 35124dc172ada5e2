"""Shared fixtures: the cast of users, questions, and a clean cache per test.

The suite runs against the real services that ``tests/services.py`` starts
(MariaDB, two memcached nodes): run it through ``make test``.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches as django_caches
from django.utils import timezone

from polls.models import Choice, Question, Tag
from tests.cache_connections import close_memcached_connections
from tests.s3 import s3_bucket  # noqa: F401  (a fixture for every test module)

# --- Figures ----------------------------------------------------------------------------
# The reliability tests measure something worth reading (requests sent, failures, seconds to
# converge): they report it with the `figure` fixture, and the run prints every figure at its
# end and writes them to test-output/figures.json (the README's table quotes them).

_FIGURES: list[dict[str, str]] = []


@pytest.fixture
def figure(request) -> Callable[[str], None]:
    """figure("0 of 3,000 requests failed; ..."): one line for this test in the run's summary."""

    def report(text: str) -> None:
        _FIGURES.append({"test": request.node.nodeid, "figure": text})

    return report


# --- Parallel runs (pytest-xdist) --------------------------------------------------------
# `make test` runs the suite in two worker processes against the same servers: each worker has
# its own test database (pytest-django's suffix) and every test its own cache prefix (below).
# Tests that share something heavier run in one worker, one after another: every test of the
# end-to-end stack (one stack per worker and session, so only one is ever started), the replica,
# which one of its tests kills, and `make run`.
_SERIAL_GROUPS = {"stack": "stack", "test_replica.py": "replica", "test_make_run.py": "make-run"}
# And some run alone, the other worker waiting between its tests: the stack's, which time what
# a loaded two-core machine would slow down, and the replica's, which read the servers' query
# logs and need the replica not to lag behind the other worker's writes.
_ALONE_GROUPS = {"stack", "replica"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "alone: the test runs while no other test does")
    if not os.environ.get("BEEBETA_TEST_SERVICES"):
        raise pytest.UsageError(
            "The tests need their MariaDB and memcached: run `make test`, or "
            "`.venv/bin/python tests/services.py -- .venv/bin/python -m pytest ...`."
        )


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ARG001
    for item in items:
        uses_stack = "stack" in getattr(item, "fixturenames", ())
        group = _SERIAL_GROUPS.get("stack" if uses_stack else item.path.parent.name)
        group = group or _SERIAL_GROUPS.get(item.path.name)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
        if group in _ALONE_GROUPS:
            item.add_marker(pytest.mark.alone)


@pytest.fixture(autouse=True)
def _alone_or_together(request) -> Iterator[None]:
    """A lock on a file the workers share: every test holds it shared, a test marked ``alone``
    holds it exclusively, so it starts once the other worker's test is over and no other test
    starts until it is."""
    folder = os.environ.get("BEEBETA_TEST_TMPDIR")
    if not folder:
        yield
        return
    alone = request.node.get_closest_marker("alone") is not None
    with open(Path(folder) / "tests-alone.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ARG001
    # A worker hands its figures to the controller, which prints and keeps them all.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = json.dumps(_FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001
    _FIGURES.extend(json.loads(getattr(node, "workeroutput", {}).get("figures", "[]")))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not _FIGURES:
        return
    terminalreporter.section("figures")
    for entry in _FIGURES:
        terminalreporter.write_line(f"{entry['test']}: {entry['figure']}")
    folder = Path(__file__).resolve().parent.parent / "test-output"
    folder.mkdir(exist_ok=True)
    (folder / "figures.json").write_text(json.dumps(_FIGURES, indent=2) + "\n")


@pytest.fixture(autouse=True)
def _fast_hashing_and_own_cache(settings) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The database rolls back after each test but memcached does not: give
    # every test its own key prefix so no test sees another's entries, even
    # with tests running in parallel against the same nodes. Each change of CACHES makes
    # Django drop its cache objects: their connections are closed first.
    close_memcached_connections()
    empty_cache(settings)
    # Rendered parts and frames live in each process (polls/fragments.py, page_frames.py) and
    # follow settings that never change in production: a test that changes one (PUBLIC_ORIGIN,
    # say) must not find what an earlier test rendered.
    django_caches["fragments"].clear()
    yield
    close_memcached_connections()


def empty_cache(settings) -> None:
    """The cache as this test sees it, emptied: a new key prefix. Never ``cache.clear()`` on the
    suite's memcached: that flushes the nodes under the tests of the other worker too (a rate
    limit's counter gone in the middle of its test, say)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


class DeliveredMail(Sequence):
    """The messages sent so far, read after sending what the outbox holds.

    No request sends email (accounts/outbox.py): each read of this list first runs the outbox's
    sender, as `manage.py send_outbox` would on its timer, so a test reads what would have
    reached the mail server by then. Django's test settings make that sender's backend the
    in-memory one. Tests of the outbox itself read ``django.core.mail.outbox`` directly.
    """

    def __init__(self, sent: list) -> None:
        self._sent = sent

    def _delivered(self) -> list:
        from accounts import outbox

        outbox.deliver()
        return self._sent

    def __getitem__(self, index):
        return self._delivered()[index]

    def __len__(self) -> int:
        return len(self._delivered())

    def __iter__(self) -> Iterator:
        return iter(list(self._delivered()))

    def __eq__(self, other: object) -> bool:
        return list(self._delivered()) == other

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def mailoutbox(mailoutbox) -> DeliveredMail:
    """pytest-django's outbox, read through the email outbox's sender (DeliveredMail)."""
    return DeliveredMail(mailoutbox)


def _user(username: str, **extra):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password="correct horse", **extra
    )


@pytest.fixture
def alice(db):
    return _user("alice")


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def staff(db):
    return _user("sam", is_staff=True, is_superuser=True)


@pytest.fixture
def make_question(db) -> Callable[..., Question]:
    """Make a published question with the given choices (and tags by name)."""

    def make(
        title: str = "Which restaurant serves the best ramen?",
        choices: tuple[str, ...] = ("Ichiran", "Ippudo", "Menya"),
        *,
        tags: tuple[str, ...] = (),
        **fields,
    ) -> Question:
        fields.setdefault("status", Question.Status.PUBLISHED)
        question = Question.objects.create(title=title, **fields)
        # One by one, as the admin and the ask form save them (signals fill search_text).
        for i, text in enumerate(choices):
            Choice.objects.create(question=question, text=text, position=i)
        for name in tags:
            tag, _ = Tag.objects.get_or_create(slug=name.lower(), defaults={"name": name})
            question.tags.add(tag)
        return question

    return make


@pytest.fixture
def local_media(settings, tmp_path) -> Path:
    """Both media storages on the local disk under tmp_path (Django drops its cached
    storage backends when STORAGES changes, and again when the fixture restores it)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
        "originals": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "originals"), "base_url": None},
        },
    }
    return tmp_path


@contextlib.contextmanager
def unreachable_database() -> Iterator[None]:
    """Point the default connection at a port where nothing listens, then put it back."""
    from django.db import connection

    from deploy.stack.processes import free_port

    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = free_port()
    try:
        yield
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()


@pytest.fixture
def question(make_question) -> Question:
    return make_question()


@pytest.fixture
def closed_question(make_question) -> Question:
    return make_question(
        "Was the old stadium better?",
        ("Yes", "No"),
        closes_at=timezone.now() - timedelta(hours=1),
    )


# --- Real Chromium ---------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


def start_chromium(profile: Path, *, console_log: bool = False, page_log: bool = False):
    """Debian's Chromium driven through its matching chromedriver; never downloads anything."""
    # Selenium Manager would try to fetch a driver; the system one is the right one.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    logs = {}
    if console_log:
        # Keeps every console message (CSP violations among them) for driver.get_log().
        logs["browser"] = "ALL"
    if page_log:
        # DevTools events for driver.get_log("performance"): each document the tab shows is
        # one Page.frameNavigated of the main frame (redirects on the way are not).
        logs["performance"] = "ALL"
    if logs:
        options.set_capability("goog:loggingPrefs", logs)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(request) -> Callable[..., Path]:
    """Save numbered screenshots of a browser test under test-output/<test name>/."""
    folder = ROOT / "test-output" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(driver, step: str) -> Path:
        path = folder / f"{next(counter):02d}-{step}.png"
        driver.save_screenshot(str(path))
        return path

    return take


# --- The local stack ------------------------------------------------------------------


@pytest.fixture(scope="session")
def stack():
    """deploy/stack/'s topology (HAProxy, two nginx, two gunicorn, the services), brought up
    once per session for the tests that need it, and always taken down. The app servers reach
    memcached and S3 through relays, which the fault tests make silent or slow."""
    from deploy.stack.topology import Stack

    started = Stack.up(relays=True, announce=lambda message: None)
    try:
        yield started
    finally:
        started.down()
