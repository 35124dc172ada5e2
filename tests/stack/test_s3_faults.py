"""S3 silent or slow while the site is busy: pages still render, an upload fails kindly and fast.

The app servers reach the S3 API through a relay (deploy/stack/faults.py) that the tests make
hold every connection without answering, or pass each chunk on only after 3 seconds, longer
than AWS_S3_TIMEOUT. The CDN stand-in reads the bucket directly, as CloudFront keeps serving
what it has. Meanwhile three members read question pages (one with a picture) and vote, and a
fourth asks a question with pictures: the form must come back within 10 seconds with a message
next to each picture and everything typed still in it, and once S3 answers again (and the
short pause uploads take after a failure is over) pictures go up again.

The last tests check the same pipeline in-process against the suite's S3 API server, with the
failures raised where botocore raises them: what an upload leaves behind goes to the orphan
sweep, and a worker stops trying S3 for a while after it failed to answer.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from storages.backends.s3 import S3Storage

from polls import images
from polls.images import NOT_STORED, STORAGE_RETRY_SECONDS, ImageNotStored, store_image
from polls.models import Image
from tests.polls import upload_corpus as corpus
from tests.stack.clients import Answer, Visitor, wait_for
from tests.stack.faults import (
    Drill,
    TimedLoad,
    ask_with_pictures,
    make_drill,
    source,
    worker_timeouts,
)

UPLOAD_BOUND = 10.0  # seconds: the longest anyone may wait for a failed upload's answer
# Each chunk held 3 s, longer than the app servers' AWS_S3_TIMEOUT (2 s): S3 "answers", too late.
FAULTS = {"unreachable": "blackhole", "slowed": "delay 3"}

_PUBLISH = """
import json
from polls.models import Question
question = Question.objects.get(title={title!r})
question.status = Question.Status.PUBLISHED
question.save()
choices = dict(question.choices.values_list("text", "pk"))
print(json.dumps({{"slug": question.slug, "choices": choices}}))
"""


@pytest.fixture(scope="module")
def drill(stack) -> Drill:
    """Three readers, two plain questions, and a published question with a picture, asked
    through the form while S3 is well."""
    readers = make_drill(stack, "s3-drill", members=3, questions=2)
    asker = Visitor(stack, source=source(3, 100))
    asker.log_in(readers.usernames[0])
    title = f"Which colour suits this picture best? ({uuid.uuid4().hex[:6]})"
    asked = ask_with_pictures(asker, title, {"image": corpus.jpeg((320, 240))})
    assert asked.answer.status == 302, asked.answer.body[:2000]
    output = stack.run_python("manage.py", "shell", "-c", _PUBLISH.format(title=title))
    pictured = json.loads(output.strip().splitlines()[-1])
    return Drill(readers.usernames, [*readers.questions, pictured])


@pytest.fixture(scope="module")
def asker(stack) -> Visitor:
    member = make_drill(stack, "s3-asker", members=1, questions=0)
    visitor = Visitor(stack, source=source(3, 101))
    visitor.log_in(member.usernames[0])
    return visitor


def picture_messages(answer: Answer) -> int:
    return answer.body.decode().count(html.escape(NOT_STORED))


def keeps_what_was_typed(answer: Answer, typed: dict[str, str]) -> bool:
    page = html.unescape(answer.body.decode())
    return all(value in page for value in typed.values())


@pytest.mark.parametrize("fault", FAULTS)
def test_pages_render_and_uploads_fail_kindly_within_10_seconds(stack, drill, asker, fault, figure):
    timeouts_before = worker_timeouts(stack)
    accepted_before = stack.relay("s3")["accepted"]
    with TimedLoad(stack, drill, group=4 if fault == "unreachable" else 5) as load:
        wait_for(lambda: len(load.samples) >= 10, "the readers to get going")
        broken = time.monotonic()
        stack.relay("s3", FAULTS[fault])
        try:
            one = ask_with_pictures(asker, f"Drill {fault}: one picture?", {"image": corpus.jpeg()})
            three = ask_with_pictures(
                asker,
                f"Drill {fault}: three pictures?",
                {slot: corpus.jpeg() for slot in ("image", "choices-0-image", "choices-1-image")},
            )
            last_failure = time.monotonic()
            pictured_page = asker.get(f"/q/{drill.slugs[-1]}/")
            reads_since = len(load.between(broken, last_failure, "read"))
            wait_for(
                lambda: len(load.between(broken, time.monotonic(), "read")) >= reads_since + 10,
                "more reads while S3 is out",
            )
        finally:
            relay = stack.relay("s3", "forward")
        mended = time.monotonic()

    # Each worker that met the fault pauses uploads for STORAGE_RETRY_SECONDS after its last
    # failure; after that, pictures go up again wherever the next request lands.
    time.sleep(max(0.0, last_failure + STORAGE_RETRY_SECONDS - time.monotonic()))
    again = ask_with_pictures(asker, f"Drill {fault}: and now?", {"image": corpus.jpeg()})

    during = load.between(broken, mended)
    pictured_reads = [s for s in during if s.path == f"/q/{drill.slugs[-1]}/" and s.kind == "read"]
    server_errors = [sample for sample in load.samples if sample.status >= 500]
    timeouts = worker_timeouts(stack) - timeouts_before
    figure(
        f"S3 {fault} ({FAULTS[fault]}) under load: {len(during)} requests, "
        f"{len(server_errors)} 5xx; an upload failed with its message in {one.seconds:.1f} s, "
        f"three pictures in one form in {three.seconds:.1f} s (bound {UPLOAD_BOUND:g} s); "
        f"{timeouts} worker timeouts; pictures go up again once S3 is back and the "
        f"{STORAGE_RETRY_SECONDS:g} s pause after a failure is over"
    )
    # The app servers did try S3 through the relay.
    assert relay["accepted"] > accepted_before
    for asked, pictures in ((one, 1), (three, 3)):
        assert asked.answer.status == 400, asked.answer.status
        assert asked.seconds <= UPLOAD_BOUND
        assert picture_messages(asked.answer) == pictures
        assert keeps_what_was_typed(asked.answer, asked.typed)
    assert load.failures == []
    assert server_errors == []
    assert len(pictured_reads) >= 2
    assert all(sample.status == (200 if sample.kind == "read" else 302) for sample in during)
    # The page with a picture names it on the CDN, from the stored sizes: no S3 call.
    assert pictured_page.status == 200
    assert f'src="https://{stack.cdn_host}/display/'.encode() in pictured_page.body
    assert timeouts == 0
    assert again.answer.status == 302, picture_messages(again.answer)


# --- the pipeline in-process ---------------------------------------------------------------------


class FlakyS3:
    """S3Storage.save raising ``error`` (when set) for names under ``prefix``, as botocore
    raises it; ``asked`` lists every name S3 was asked to store."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.error: Exception | None = None
        self.prefix = ""
        self.asked: list[str] = []
        save = S3Storage.save

        def flaky_save(storage, name, content, max_length=None):
            self.asked.append(name)
            if self.error is not None and name.startswith(self.prefix):
                raise self.error
            return save(storage, name, content, max_length)

        monkeypatch.setattr(S3Storage, "save", flaky_save)


@pytest.fixture
def flaky_s3(s3_bucket, monkeypatch) -> FlakyS3:
    # The pause is per process: whatever a test leaves, the next one starts without it.
    monkeypatch.setattr(images, "_uploads_paused_until", 0.0)
    return FlakyS3(monkeypatch)


def a_picture() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.jpg", corpus.jpeg(), content_type="image/jpeg")


@pytest.mark.django_db
def test_an_s3_that_stops_answering_leaves_its_keys_to_the_orphan_sweep(flaky_s3, s3_bucket):
    flaky_s3.error = ReadTimeoutError(endpoint_url="http://s3.invalid/")
    flaky_s3.prefix = "thumbs/"  # the original and the display size are already written
    with pytest.raises(ImageNotStored, match="could not be saved just now"):
        store_image(a_picture())

    left = Image.objects.get()
    assert left.thumbnail.name.startswith("thumbs/")
    assert s3_bucket.keys() == {f"originals/{left.original.name}", left.display.name}
    assert not left.question_set.exists() and not left.choice_set.exists()
    # S3 answers again; the daily sweep finds the keys and deletes them.
    flaky_s3.error = None
    Image.objects.update(created_at=timezone.now() - timedelta(days=2))
    call_command("clear_orphan_images", stdout=StringIO())
    assert s3_bucket.keys() == set()
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_after_s3_failed_to_answer_uploads_fail_at_once_for_a_while(flaky_s3, s3_bucket):
    flaky_s3.error = ConnectTimeoutError(endpoint_url="http://s3.invalid/")
    with pytest.raises(ImageNotStored):
        store_image(a_picture())
    assert len(flaky_s3.asked) == 1
    flaky_s3.error = None
    with pytest.raises(ImageNotStored):
        store_image(a_picture())
    assert len(flaky_s3.asked) == 1  # S3 was not asked again

    images._uploads_paused_until = time.monotonic() - 1  # the pause is over
    image = store_image(a_picture())
    assert f"originals/{image.original.name}" in s3_bucket.keys()


@pytest.mark.django_db
def test_an_error_answer_from_s3_is_a_message_and_leaves_nothing(flaky_s3, s3_bucket):
    error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
    flaky_s3.error = ClientError(error, "PutObject")
    flaky_s3.prefix = "thumbs/"
    with pytest.raises(ImageNotStored, match="could not be saved just now"):
        store_image(a_picture())
    # S3 answered, so it could take the deletes at once; and it is not paused.
    assert s3_bucket.keys() == set()
    assert not Image.objects.exists()
    assert images._uploads_paused_until < time.monotonic()
