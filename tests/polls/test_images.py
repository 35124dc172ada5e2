"""The image pipeline on local disk: what it refuses, what it keeps, and where the files go."""

from __future__ import annotations

import io
import re
import warnings
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import FileSystemStorage, storages
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import ExifTags, ImageCms
from PIL import Image as PILImage

from polls import images
from polls.images import ImageRejected, store_image
from polls.models import Choice, Image
from tests.polls import upload_corpus as corpus

pytestmark = pytest.mark.django_db

BAD_UPLOADS = corpus.bad_uploads()
HEX = "[0-9a-f]{32}"
MONTH = r"\d{4}/\d{2}"


@pytest.fixture(autouse=True)
def disk(local_media: Path) -> Path:
    return local_media


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    # The browser's content type is whatever the sender says; the pipeline must not care.
    return SimpleUploadedFile(name, content, content_type=content_type)


def read(storage_name: str, name: str) -> bytes:
    with storages[storage_name].open(name) as file:
        return file.read()


def opened(storage_name: str, name: str) -> PILImage.Image:
    return PILImage.open(io.BytesIO(read(storage_name, name)))


def solid_jpeg(size: tuple[int, int], **options) -> bytes:
    # Flat colour: quick to encode at any size, and small.
    return corpus.encode(PILImage.new("RGB", size, (200, 120, 40)), "JPEG", **options)


def assert_bare_jpeg(content: bytes) -> None:
    rendition = PILImage.open(io.BytesIO(content))
    assert rendition.format == "JPEG"
    assert len(rendition.getexif()) == 0
    assert b"Exif" not in content
    assert "icc_profile" not in rendition.info
    assert "comment" not in rendition.info
    # Ends where a JPEG ends: nothing carried along after the image.
    assert content.endswith(b"\xff\xd9")


# --- Refused ------------------------------------------------------------------------------------


def test_corpus_has_at_least_forty_distinct_bad_uploads():
    assert len(BAD_UPLOADS) >= 40
    assert len({case.label for case in BAD_UPLOADS}) == len(BAD_UPLOADS)


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=[case.label for case in BAD_UPLOADS])
def test_bad_upload_is_refused_with_a_message_and_leaves_nothing(case, settings, disk):
    settings.MAX_UPLOAD_BYTES = corpus.MAX_UPLOAD_BYTES
    with pytest.raises(ImageRejected, match=re.escape(case.message)):
        store_image(upload(case.name, case.content))
    assert files_under(disk) == []
    assert not Image.objects.exists()


def test_pillow_uses_our_pixel_limit_and_its_warning_refuses(settings):
    # The limit and the warning filter hold for the call only: other Pillow users keep theirs.
    before = PILImage.MAX_IMAGE_PIXELS
    with images._pillow_limits():
        assert settings.MAX_IMAGE_PIXELS == PILImage.MAX_IMAGE_PIXELS
        with pytest.raises(PILImage.DecompressionBombWarning):
            warnings.warn("big", PILImage.DecompressionBombWarning, stacklevel=1)
    assert before == PILImage.MAX_IMAGE_PIXELS


def test_a_file_exactly_at_the_size_limit_is_accepted(settings):
    settings.MAX_UPLOAD_BYTES = corpus.MAX_UPLOAD_BYTES
    photo = corpus.jpeg()
    # Zero padding after the end marker is what some cameras write, and is allowed.
    padded = photo + b"\0" * (corpus.MAX_UPLOAD_BYTES - len(photo))
    image = store_image(upload("big.jpg", padded))
    assert read("originals", image.original.name) == padded


def test_size_limit_in_the_message_follows_the_setting(settings):
    settings.MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    oversized = corpus.jpeg() + b"\0" * (5 * 1024 * 1024)
    with pytest.raises(ImageRejected, match="larger than 5 MB"):
        store_image(upload("big.jpg", oversized))


class Unreadable(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("read before the size was checked")


def test_a_claimed_size_over_the_limit_is_refused_before_reading(settings):
    settings.MAX_UPLOAD_BYTES = corpus.MAX_UPLOAD_BYTES
    claimed = InMemoryUploadedFile(
        Unreadable(corpus.jpeg()), "image", "a.jpg", "image/jpeg", corpus.MAX_UPLOAD_BYTES + 1, None
    )
    with pytest.raises(ImageRejected, match="larger than 1 MB"):
        store_image(claimed)


def test_files_written_before_a_failure_are_deleted(monkeypatch, disk):
    def refuse_thumbnails(self, name, content, max_length=None):
        if name.startswith("thumbs/"):
            raise OSError("disk full")
        return original_save(self, name, content, max_length)

    original_save = FileSystemStorage.save
    monkeypatch.setattr(FileSystemStorage, "save", refuse_thumbnails)
    with pytest.raises(OSError, match="disk full"):
        store_image(upload("a.jpg", corpus.jpeg()))
    assert files_under(disk) == []
    assert not Image.objects.exists()


def test_files_are_deleted_when_the_row_cannot_be_saved(monkeypatch, disk):
    def fail(**fields):
        raise RuntimeError("database gone")

    monkeypatch.setattr(Image.objects, "create", fail)
    with pytest.raises(RuntimeError, match="database gone"):
        store_image(upload("a.jpg", corpus.jpeg()))
    assert files_under(disk) == []


# --- Accepted -----------------------------------------------------------------------------------


def phone_photo() -> bytes:
    """300x200 as stored, left half red, right half blue; EXIF says rotate it, and where it was."""
    picture = PILImage.new("RGB", (300, 200), (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, 150, 200))
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned 90° clockwise
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (51.0, 30.0, 12.5),
            ExifTags.GPS.GPSLongitudeRef: "W",
            ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
        }
    )
    return corpus.encode(picture, "JPEG", quality=95, exif=exif)


def test_phone_photo_is_turned_upright_and_loses_its_exif_and_location():
    content = phone_photo()
    assert PILImage.open(io.BytesIO(content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    image = store_image(upload("IMG_0001.jpg", content))

    display_bytes = read("default", image.display.name)
    thumbnail_bytes = read("default", image.thumbnail.name)
    assert_bare_jpeg(display_bytes)
    assert_bare_jpeg(thumbnail_bytes)
    display = PILImage.open(io.BytesIO(display_bytes)).convert("RGB")
    assert display.size == (200, 300) == (image.display_width, image.display_height)
    # Turned clockwise, the red left half is now on top.
    red, _, blue = display.getpixel((100, 30))
    assert red > 200 and blue < 60
    red, _, blue = display.getpixel((100, 270))
    assert red < 60 and blue > 200
    assert (image.thumbnail_width, image.thumbnail_height) == (192, 192)


def test_original_is_kept_byte_for_byte_in_the_private_storage(disk):
    content = phone_photo()
    image = store_image(upload("IMG_0001.jpg", content))
    assert read("originals", image.original.name) == content
    assert re.fullmatch(rf"{MONTH}/{HEX}\.jpg", image.original.name)
    # Outside MEDIA_ROOT: nothing serves it.
    assert (disk / "originals" / image.original.name).is_file()
    assert not (disk / "media" / image.original.name).exists()


def test_phone_jpeg_with_a_video_after_its_end_is_accepted_without_it(disk):
    # Motion photos append a video (with its own stray FF D9 bytes) after the JPEG.
    trailer = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40 + b"\xff\xd9mdat"
    image = store_image(upload("PXL_0001.MP.jpg", corpus.jpeg((320, 240)) + trailer))
    display = read("default", image.display.name)
    assert trailer not in display and b"ftypmp42" not in display
    assert (image.display_width, image.display_height) == (320, 240)


@pytest.mark.parametrize(
    "tail", [corpus.zip_archive(), b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF"], ids=["zip", "pdf"]
)
def test_jpeg_that_is_also_an_archive_or_a_document_is_refused(tail, disk):
    with pytest.raises(ImageRejected, match="more than an image"):
        store_image(upload("a.jpg", corpus.jpeg() + tail))
    assert not Image.objects.exists()


def test_keys_are_fresh_for_every_upload_whatever_the_name(disk):
    first = store_image(upload("a.jpg", corpus.jpeg()))
    second = store_image(upload("a.jpg", corpus.jpeg()))

    for image in (first, second):
        assert re.fullmatch(rf"display/{MONTH}/{HEX}\.jpg", image.display.name)
        assert re.fullmatch(rf"thumbs/{MONTH}/{HEX}\.jpg", image.thumbnail.name)
        # A public rendition's key does not lead to the private original.
        assert Path(image.original.name).stem != Path(image.display.name).stem
    names = {first.display.name, first.thumbnail.name, second.display.name, second.thumbnail.name}
    assert len(names) == 4
    assert first.original.name != second.original.name
    assert len(files_under(disk)) == 6


@pytest.mark.parametrize("name", corpus.HOSTILE_NAMES, ids=range(len(corpus.HOSTILE_NAMES)))
def test_hostile_file_names_are_accepted_and_stored_under_safe_keys(name, disk):
    image = store_image(upload(name, corpus.png(), content_type="text/html"))

    assert re.fullmatch(rf"display/{MONTH}/{HEX}\.jpg", image.display.name)
    assert re.fullmatch(rf"thumbs/{MONTH}/{HEX}\.jpg", image.thumbnail.name)
    assert re.fullmatch(rf"{MONTH}/{HEX}\.png", image.original.name)
    stored = files_under(disk)
    assert len(stored) == 3
    assert all(path.resolve().is_relative_to(disk.resolve()) for path in stored)


def test_format_comes_from_the_content_not_the_name_or_content_type():
    image = store_image(upload("holiday.jpg", corpus.png(), content_type="image/jpeg"))
    assert image.original.name.endswith(".png")
    assert opened("originals", image.original.name).format == "PNG"


@pytest.mark.parametrize(("mode", "ink"), [("RGBA", (0, 160, 0, 255)), ("LA", (40, 255))])
def test_png_with_transparency_is_flattened_onto_white(mode, ink):
    picture = PILImage.new(mode, (100, 80), 0)
    picture.paste(ink, (50, 0, 100, 80))
    image = store_image(upload("logo.png", corpus.encode(picture, "PNG")))

    display = opened("default", image.display.name)
    assert display.mode == "RGB"
    assert display.getpixel((10, 40)) == pytest.approx((255, 255, 255), abs=3)
    expected = ink[:3] if mode == "RGBA" else (ink[0],) * 3
    assert display.getpixel((90, 40)) == pytest.approx(expected, abs=12)
    assert image.original.name.endswith(".png")


def test_palette_gif_with_a_transparent_colour_is_flattened_onto_white():
    picture = PILImage.new("P", (40, 40), 0)
    picture.putpalette([0, 0, 0, 255, 0, 0])
    picture.paste(1, (20, 0, 40, 40))
    image = store_image(upload("a.gif", corpus.encode(picture, "GIF", transparency=0)))
    display = opened("default", image.display.name)
    assert display.getpixel((5, 20)) == pytest.approx((255, 255, 255), abs=3)
    assert display.getpixel((35, 20))[0] > 200


def test_webp_is_accepted_and_rendered_as_jpeg():
    image = store_image(upload("a.webp", corpus.webp((120, 90))))
    assert image.original.name.endswith(".webp")
    assert opened("default", image.display.name).format == "JPEG"
    assert (image.display_width, image.display_height) == (120, 90)


def test_animated_gif_is_rendered_from_its_first_frame():
    frames = [PILImage.new("RGB", (64, 64), colour) for colour in ("red", "lime", "blue")]
    content = corpus.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = store_image(upload("party.gif", content))

    red, green, blue = opened("default", image.display.name).getpixel((32, 32))
    assert red > 200 and green < 60 and blue < 60
    assert read("originals", image.original.name) == content


def test_sixteen_bit_grey_png_keeps_its_tones():
    picture = PILImage.new("I;16", (50, 50), 32768)
    image = store_image(upload("scan.png", corpus.encode(picture, "PNG")))
    red, green, blue = opened("default", image.display.name).getpixel((25, 25))
    assert 110 < red < 145 and red == green == blue


def test_cmyk_jpeg_becomes_rgb():
    picture = PILImage.new("CMYK", (50, 50), (0, 255, 255, 0))  # red in ink
    image = store_image(upload("print.jpg", corpus.encode(picture, "JPEG")))
    display = opened("default", image.display.name)
    assert display.mode == "RGB"
    red, green, blue = display.getpixel((25, 25))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize(
    "options",
    [
        {"icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()},
        {"comment": b"camera serial 42"},
    ],
    ids=["colour-profile", "comment"],
)
def test_colour_profile_and_comment_are_not_kept(options):
    content = corpus.encode(PILImage.new("RGB", (80, 60), "teal"), "JPEG", **options)
    image = store_image(upload("a.jpg", content))
    assert_bare_jpeg(read("default", image.display.name))
    assert_bare_jpeg(read("default", image.thumbnail.name))


@pytest.mark.parametrize(
    ("size", "display", "thumbnail"),
    [
        ((3000, 2000), (1200, 800), (192, 192)),
        ((2000, 3000), (800, 1200), (192, 192)),
        # Large enough that libjpeg decodes it at reduced scale first.
        ((6000, 4000), (1200, 800), (192, 192)),
        ((1200, 1200), (1200, 1200), (192, 192)),
        # Never enlarged: the thumbnail is the biggest centred square there is.
        ((100, 80), (100, 80), (80, 80)),
        ((10_000, 50), (1200, 6), (50, 50)),
    ],
)
def test_rendition_sizes(size, display, thumbnail):
    image = store_image(upload("a.jpg", solid_jpeg(size)))

    assert (image.display_width, image.display_height) == display
    assert (image.thumbnail_width, image.thumbnail_height) == thumbnail
    assert opened("default", image.display.name).size == display
    assert opened("default", image.thumbnail.name).size == thumbnail


def test_uploader_and_alt_text_are_recorded(alice):
    image = store_image(upload("a.jpg", corpus.jpeg()), user=alice, alt_text="  A red bike  ")
    image.refresh_from_db()
    assert image.uploaded_by == alice
    assert image.alt_text == "A red bike"


def test_anonymous_uploader_is_recorded_as_nobody():
    image = store_image(upload("a.jpg", corpus.jpeg()), user=AnonymousUser())
    assert image.uploaded_by is None


# --- clear_orphan_images ----------------------------------------------------------------------


def uploaded(hours_ago: float) -> Image:
    image = store_image(upload("a.jpg", corpus.jpeg()))
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return image


def files_exist(image: Image) -> bool:
    return (
        storages["originals"].exists(image.original.name)
        and storages["default"].exists(image.display.name)
        and storages["default"].exists(image.thumbnail.name)
    )


def files_gone(image: Image) -> bool:
    return not (
        storages["originals"].exists(image.original.name)
        or storages["default"].exists(image.display.name)
        or storages["default"].exists(image.thumbnail.name)
    )


def clear_orphan_images(*args: str) -> str:
    out = StringIO()
    call_command("clear_orphan_images", *args, stdout=out)
    return out.getvalue()


def test_clear_orphan_images_removes_old_unused_images_only(make_question):
    old_orphan = uploaded(hours_ago=25)
    on_question = uploaded(hours_ago=48)
    on_choice = uploaded(hours_ago=48)
    recent_orphan = uploaded(hours_ago=2)
    question = make_question(image=on_question)
    Choice.objects.filter(question=question).update(image=on_choice)

    assert "1 image" in clear_orphan_images()

    assert set(Image.objects.values_list("pk", flat=True)) == {
        on_question.pk,
        on_choice.pk,
        recent_orphan.pk,
    }
    assert files_gone(old_orphan)
    assert all(files_exist(image) for image in (on_question, on_choice, recent_orphan))


def test_clear_orphan_images_takes_the_age_in_hours():
    orphan = uploaded(hours_ago=3)
    assert "0 images" in clear_orphan_images()
    assert "1 image" in clear_orphan_images("--hours", "2")
    assert not Image.objects.exists()
    assert files_gone(orphan)


def test_clear_orphan_images_refuses_an_age_under_an_hour():
    # A form that has just uploaded its images has not saved its question yet.
    with pytest.raises(CommandError):
        call_command("clear_orphan_images", "--hours", "0")
