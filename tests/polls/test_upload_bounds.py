"""The work one request's pictures may cause: at most DATA_UPLOAD_MAX_NUMBER_FILES files,
MAX_REQUEST_PIXELS decoded across all of them, taken from each header before it is decoded, and
no picture read once they have taken UPLOAD_REQUEST_SECONDS.
Refusals are sentences beside the picture; the rest of the form is kept. (The time the worst
accepted request takes is measured by `make bench-uploads`, not here.)"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from polls import images
from polls.models import Image, Question
from tests.polls.test_ask import ASK, ask_data, errors_of, kept_token, value_of

pytestmark = pytest.mark.django_db

MEGAPIXEL = (1000, 1000)
OVER_BUDGET = (
    "This picture was not read: with the pictures sent along with it, it comes to more than "
    "2.5 megapixels, the most Beebeta reads at once. The others are kept: choose this one again "
    "and send the form."
)


@pytest.fixture
def asker(client, alice, settings, local_media):
    settings.MODERATE_FIRST_QUESTIONS = 0
    settings.MAX_REQUEST_PIXELS = 2_500_000
    client.force_login(alice)
    return client


def png(name: str, size: tuple[int, int] = MEGAPIXEL) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (30, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(size: tuple[int, int]) -> SimpleUploadedFile:
    """A PNG that declares ``size`` and holds a hundred bytes of pixels: decoding it fails."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", *size, 8, 2, 0, 0, 0))
    pixels = _chunk(b"IDAT", zlib.compress(b"\0" * 100))
    return SimpleUploadedFile("header.png", b"\x89PNG\r\n\x1a\n" + header + pixels, "image/png")


def four_pictures() -> dict:
    data = ask_data(("Sea", "Lake", "River"), title="Which water would you swim in?")
    data |= {"image": png("q.png"), "choices-0-image": png("sea.png")}
    return data | {"choices-1-image": png("lake.png"), "choices-2-image": png("river.png")}


def test_pictures_past_the_request_budget_are_refused_beside_their_fields(asker):
    response = asker.post(ASK, four_pictures())
    assert response.status_code == 400
    html = response.content.decode()
    # The question's picture and the first choice's fit in 2.5 megapixels; the next two do not.
    assert errors_of(html, "id_image") == [] and errors_of(html, "id_choices-0-image") == []
    assert errors_of(html, "id_choices-1-image") == [OVER_BUDGET]
    assert errors_of(html, "id_choices-2-image") == [OVER_BUDGET]
    assert Image.objects.count() == 2 and not Question.objects.exists()
    assert value_of(html, "title") == "Which water would you swim in?"
    assert value_of(html, "choices-2-text") == "River"

    # Sent again with the two kept and the other two chosen again: a new request, a new budget.
    again = ask_data(("Sea", "Lake", "River"), title="Which water would you swim in?")
    again |= {
        "kept_image": kept_token(html, "kept_image"),
        "choices-0-kept_image": kept_token(html, "choices-0-kept_image"),
        "choices-1-image": png("lake.png"),
        "choices-2-image": png("river.png"),
    }
    assert asker.post(ASK, again).status_code == 302
    question = Question.objects.get()
    assert question.image is not None
    assert all(choice.image is not None for choice in question.choices.all())
    assert Image.objects.count() == 4


def test_pictures_past_the_request_time_are_refused_unread(asker, settings):
    settings.UPLOAD_REQUEST_SECONDS = 0  # the first picture is always read, then none
    settings.MAX_REQUEST_PIXELS = 100_000_000
    response = asker.post(ASK, four_pictures())
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_of(html, "id_image") == []
    refused = (
        "This picture was not read: the pictures sent before it took all the time one form may "
        "take. The others are kept: choose this one again and send the form."
    )
    for slot in ("id_choices-0-image", "id_choices-1-image", "id_choices-2-image"):
        assert errors_of(html, slot) == [refused]
    assert Image.objects.count() == 1
    assert value_of(html, "choices-0-text") == "Sea"


def test_the_budget_is_taken_from_the_header_before_anything_is_decoded(settings):
    budget = images.PixelBudget(1_000_000)
    # Within the budget the file is decoded, and found to have no pixels.
    with pytest.raises(images.ImageRejected, match="damaged or incomplete"):
        images.store_image(png_header_only((900, 900)), pixels=images.PixelBudget(1_000_000))
    # Past it, the header alone refuses it: the missing pixels are never looked for.
    settings.MAX_REQUEST_PIXELS = 1_000_000
    with pytest.raises(images.ImageRejected, match="the most Beebeta reads at once"):
        images.store_image(png_header_only((1100, 1000)), pixels=budget)
    assert budget.left == 1_000_000
    assert not Image.objects.exists()


def test_a_refused_file_keeps_its_share_of_the_budget_spent():
    budget = images.PixelBudget(1_000_000)
    with pytest.raises(images.ImageRejected, match="damaged or incomplete"):
        images.store_image(png_header_only((800, 800)), pixels=budget)
    assert budget.left == 1_000_000 - 640_000


def test_more_files_than_the_form_has_slots_are_refused_before_any_is_read(asker, settings):
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 13  # the question and twelve choices
    data = ask_data(tuple(f"Choice {n}" for n in range(12)))
    data["image"] = png("q.png", (10, 10))
    for n in range(12):
        data[f"choices-{n}-image"] = png(f"{n}.png", (10, 10))
    data["extra"] = png("extra.png", (10, 10))
    response = asker.post(ASK, data)
    assert response.status_code == 400
    assert not Image.objects.exists() and not Question.objects.exists()
