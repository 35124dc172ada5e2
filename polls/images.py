"""The image pipeline: check an upload, render the sizes pages show, store all three files.

An upload is hostile until proven otherwise. It is refused before anything is decoded when its
byte size, its declared pixel size or its frame count is over the limits; it is identified by its
content (never by its name or the browser's content type); it must decode completely and end
where its format ends. What pages show is never the upload itself but JPEG renditions encoded
afresh, so no metadata (EXIF, GPS, ICC, XMP, comments) and no smuggled bytes survive. The
original is kept byte for byte in the private "originals" storage, for moderators.

Every rendition is a JPEG on white: images with transparency are flattened onto white, which is
what the site's light cards show anyway, and one format keeps the pages and the CDN simple.

A storage that fails is the person's problem only as a sentence next to the picture: an S3 that
errs, or does not answer within its timeouts (AWS_S3_TIMEOUT), makes the upload fail with
NOT_STORED, the form keeps everything else, and the worker then leaves S3 alone for a few
seconds instead of waiting on it for every picture of the form.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import struct
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as S3ConnectionError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from polls.models import Choice, Image, Question

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)

# Detected format -> extension and content type of the stored original. MPO is what Pillow calls
# a camera JPEG carrying a second picture (stereo or depth); it is a JPEG to everyone else.
ACCEPTED_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
MAX_SIDE = 10_000
MAX_FRAMES = 300
DISPLAY_SIDE = 1200
THUMBNAIL_SIDE = 192
JPEG_QUALITY = 85
ALT_TEXT_MAX = Image._meta.get_field("alt_text").max_length

NOT_ACCEPTED = "This file is not an image Beebeta accepts (JPEG, PNG, WebP or GIF)."
DAMAGED = "The image is damaged or incomplete."
MORE_THAN_IMAGE = "This file contains more than an image, so it was refused."
EMPTY = "The file is empty."
NOT_STORED = (
    "The picture could not be saved just now, so it was not kept. Everything else you typed is "
    "still here: choose the picture again in a minute, or go on without it."
)
# After S3 failed to answer, or answered so slowly that one picture took SLOW_STORAGE_SECONDS,
# uploads fail at once for STORAGE_RETRY_SECONDS instead of each waiting out the S3 timeouts
# again: a form with a picture in every slot must not hold its worker for minutes.
STORAGE_RETRY_SECONDS = 10.0
SLOW_STORAGE_SECONDS = 5.0

# Tags, not bare words: the name must end where an HTML parser ends a tag name. Compressed
# pixels are random bytes, and a bare "<svg" turns up by chance in about one 5 MB photo in a
# hundred; requiring the delimiter makes that one in several thousand.
_MARKUP = re.compile(rb"<(?:script|html|svg|!doctype)[\s/>]|<\?php", re.IGNORECASE)
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_WHITE = (255, 255, 255)


class ImageRejected(Exception):
    """The upload is not stored; str(exc) is a sentence to show the person who sent it."""


class ImageNotStored(ImageRejected):
    """The upload was fine, but the storage (S3) failed or did not answer."""


@dataclass(frozen=True)
class Rendition:
    content: bytes
    width: int
    height: int


class PixelBudget:
    """The pixels the pictures of one request may still decode, from MAX_REQUEST_PIXELS.

    Each picture's size is read from its header and taken from the budget before it is
    decoded, so however many files a request carries, decoding them costs at most this much.
    A picture refused later (damaged, say) keeps its share spent: the work was done.
    """

    def __init__(self, pixels: int | None = None) -> None:
        self.left = settings.MAX_REQUEST_PIXELS if pixels is None else pixels

    def spend(self, size: tuple[int, int]) -> None:
        pixels = size[0] * size[1]
        if pixels > self.left:
            megapixels = f"{settings.MAX_REQUEST_PIXELS / 1_000_000:.1f}".removesuffix(".0")
            raise ImageRejected(
                f"This picture was not read: with the pictures sent along with it, it comes to "
                f"more than {megapixels} megapixels, the most Beebeta reads at once. The others "
                "are kept: choose this one again and send the form."
            )
        self.left -= pixels


def store_image(
    upload: UploadedFile,
    *,
    user: User | AnonymousUser | None = None,
    alt_text: str = "",
    pixels: PixelBudget | None = None,
) -> Image:
    """Check ``upload``, store it with its renditions and return the saved Image row.

    Raises ImageRejected, with a message for the user, when the file is refused; then nothing
    is left in storage. Raises ImageNotStored (an ImageRejected) when the storage fails or does
    not answer; keys it may have written are then deleted, or, when S3 does not answer, left to
    `clear_orphan_images` by an image row nothing uses. Call it outside any transaction the
    caller may roll back: the files are written at once and would outlive a row that is rolled
    back. ``pixels``: the request's budget, shared by every picture it carries (a budget of
    its own, MAX_REQUEST_PIXELS, when none is given).
    """
    data = _read_upload(upload)
    if _MARKUP.search(data):
        raise ImageRejected(MORE_THAN_IMAGE)
    with _pillow_limits():
        image_format, display, thumbnail = _check_and_render(data, pixels or PixelBudget())
    uploader = user if user is not None and user.is_authenticated else None
    return _save(data, image_format, display, thumbnail, uploader, alt_text.strip())


# --- Reading and checking ---------------------------------------------------------------------


def _read_upload(upload: UploadedFile) -> bytes:
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size == 0:
        raise ImageRejected(EMPTY)
    if upload.size is not None and upload.size > limit:
        raise ImageRejected(_too_large_message(limit))
    upload.seek(0)
    # One byte more than allowed tells an oversized file from one exactly at the limit, without
    # ever reading the rest of it, whatever size the upload claimed.
    data = upload.read(limit + 1)
    if not data:
        raise ImageRejected(EMPTY)
    if len(data) > limit:
        raise ImageRejected(_too_large_message(limit))
    return data


def _too_large_message(limit: int) -> str:
    if limit >= 1024 * 1024:
        amount = f"{limit / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    else:
        amount = f"{limit // 1024} KB"
    return f"The file is larger than {amount}, the most Beebeta accepts."


def _too_many_pixels_message(size: tuple[int, int] | None = None) -> str:
    megapixels = f"{settings.MAX_IMAGE_PIXELS / 1_000_000:.1f}".removesuffix(".0")
    limits = f"at most {megapixels} megapixels, and {MAX_SIDE:,} pixels on a side"
    if size is None:
        return f"This image has too many pixels: Beebeta accepts {limits}."
    return f"This image is {size[0]:,} × {size[1]:,} pixels: Beebeta accepts {limits}."


@contextlib.contextmanager
def _pillow_limits() -> Iterator[None]:
    # Pillow's own guard against decompression bombs reads a module global, and below twice the
    # limit only warns; for this call the limit is ours and the warning is an error. Both are
    # process-wide: right for gunicorn's single-threaded sync workers. Under threads one call's
    # exit could restore Pillow's default during another's decode; _check_header still holds.
    previous = PILImage.MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            yield
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous


def _check_and_render(data: bytes, pixels: PixelBudget) -> tuple[str, Rendition, Rendition]:
    picture = _open(data)
    try:
        _check_header(picture)
        pixels.spend(picture.size)
        _decode(picture)
        _check_ends_where_format_ends(picture.format or "", data)
        return picture.format or "", *_render(picture)
    except ImageRejected:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        # A GIF frame may reach outside the canvas the header declared.
        raise ImageRejected(_too_many_pixels_message()) from None
    except Exception as error:
        # Pillow raises many kinds of errors on hostile input; none of them may become a 500.
        logger.info("image refused while decoding: %r", error)
        raise ImageRejected(DAMAGED) from error
    finally:
        picture.close()


def _open(data: bytes) -> PILImage.Image:
    # Image.open reads the header only (WebP checks the canvas against the limit before its
    # decoder allocates anything), so nothing big is allocated here.
    try:
        return PILImage.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP", "GIF"])
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_message()) from None
    except Exception as error:
        # A file that starts like one of ours but does not parse was cut short or mangled.
        looks_like_ours = data.startswith(_MAGIC) or _is_webp(data)
        logger.info("image refused while opening: %r", error)
        raise ImageRejected(DAMAGED if looks_like_ours else NOT_ACCEPTED) from None


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _check_header(picture: PILImage.Image) -> None:
    if picture.format not in ACCEPTED_FORMATS:
        raise ImageRejected(NOT_ACCEPTED)
    width, height = picture.size
    if width * height > settings.MAX_IMAGE_PIXELS or max(width, height) > MAX_SIDE:
        raise ImageRejected(_too_many_pixels_message(picture.size))
    # Counting GIF frames walks the file without decoding pixels; APNG and WebP declare it.
    if getattr(picture, "n_frames", 1) > MAX_FRAMES:
        raise ImageRejected(f"This animation has more than {MAX_FRAMES} frames.")


def _decode(picture: PILImage.Image) -> None:
    picture.seek(0)
    if picture.format in ("JPEG", "MPO"):
        # libjpeg can decode at 1/2, 1/4 or 1/8 scale; a big photo then never exists at full
        # size in memory. It still reads every byte, so a truncated file is still refused.
        factor = _shrink_factor(picture.size)
        if factor > 1:
            picture.draft(None, (picture.width // factor, picture.height // factor))
    # Pillow refuses truncated data here (LOAD_TRUNCATED_IMAGES stays False).
    picture.load()


def _check_ends_where_format_ends(image_format: str, data: bytes) -> None:
    if image_format == "JPEG":
        _check_jpeg_trailer(data)
        return
    end = _FORMAT_END[image_format](data)
    if end is None or end > len(data):
        raise ImageRejected(DAMAGED)
    if end < len(data):
        # Bytes after the end are how a file is made to be an image and an archive or a page
        # at once; nothing an image needs is there.
        raise ImageRejected(MORE_THAN_IMAGE)


# A ZIP reader finds its archive from the end record in the file's last 64 KiB; a PDF
# reader looks for its header anywhere near the start.
_ZIP_END_RECORD = b"PK\x05\x06"
_ZIP_TAIL = 65_557
_PDF_HEADER = b"%PDF-"


def _check_jpeg_trailer(data: bytes) -> None:
    """JPEGs straight from phones often carry data after their end marker (a motion
    photo's video, a maker's trailer), so bytes after the end are allowed there; the
    renditions are re-encoded without them and the original is never served. What is
    refused is a file that another program would open as an archive or a document."""
    if _jpeg_end(data) is None:
        raise ImageRejected(DAMAGED)
    if _ZIP_END_RECORD in data[-_ZIP_TAIL:] or _PDF_HEADER in data:
        raise ImageRejected(MORE_THAN_IMAGE)


def _jpeg_end(data: bytes) -> int | None:
    # Some cameras pad a JPEG with zeros after its end marker; that much is allowed.
    if data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return len(data)
    last_marker = data.rfind(b"\xff\xd9")
    return None if last_marker < 0 else last_marker + 2


def _png_end(data: bytes) -> int | None:
    position = 8
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        position += 12 + length
        if kind == b"IEND":
            return position
    return None


def _gif_end(data: bytes) -> int | None:
    if len(data) < 13:
        return None
    position: int | None = 13 + _gif_colour_table_size(data[10])
    while position is not None and position < len(data):
        block = data[position]
        if block == 0x3B:  # trailer
            return position + 1
        if block == 0x21:  # extension: label, then data sub-blocks
            position = _skip_gif_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 11 <= len(data):  # image descriptor
            position += 10 + _gif_colour_table_size(data[position + 9])
            position = _skip_gif_sub_blocks(data, position + 1)  # after the LZW code size
        else:
            return None
    return None


def _gif_colour_table_size(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _skip_gif_sub_blocks(data: bytes, position: int) -> int | None:
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            return position
    return None


def _webp_end(data: bytes) -> int | None:
    # The RIFF header gives the length of everything after its first 8 bytes.
    return 8 + int.from_bytes(data[4:8], "little") if len(data) >= 12 else None


_FORMAT_END = {
    "JPEG": _jpeg_end,
    "MPO": _jpeg_end,
    "PNG": _png_end,
    "GIF": _gif_end,
    "WEBP": _webp_end,
}


# --- Rendering --------------------------------------------------------------------------------


def _render(picture: PILImage.Image) -> tuple[Rendition, Rendition]:
    icc_profile = picture.info.get("icc_profile")
    ImageOps.exif_transpose(picture, in_place=True)
    # Each step frees the image before it as soon as its result exists: next to the decoded
    # frame there is at most one full-size copy (a mode change or the flattening), and the
    # renditions are made from a copy reduced by a whole factor to about twice their size.
    working = _replace(picture, _flat_8bit(picture))
    factor = _shrink_factor(working.size)
    if factor > 1:
        working = _replace(working, working.reduce(factor))
    working = _replace(working, _as_srgb(working, icc_profile))
    return _encode(_fit_within(working, DISPLAY_SIDE)), _encode(_centre_square(working))


def _replace(old: PILImage.Image, new: PILImage.Image) -> PILImage.Image:
    if new is not old:
        old.close()  # releases its pixels now, not when the last reference goes
    return new


def _shrink_factor(size: tuple[int, int]) -> int:
    # Keep at least twice what the renditions need, so the final resampling has pixels to work
    # with: the long side for the display size, the short side for the thumbnail's crop.
    long_side, short_side = max(size), min(size)
    return max(1, min(long_side // (2 * DISPLAY_SIDE), short_side // (2 * THUMBNAIL_SIDE)))


def _flat_8bit(picture: PILImage.Image) -> PILImage.Image:
    """The picture as 8-bit RGB, grey or CMYK, with any transparency on white."""
    if picture.mode.startswith("I"):
        # 16-bit grey: scaled down, rather than everything above 255 clipped to white.
        return picture.convert("I").point(lambda value: value / 256).convert("L")
    if "transparency" in picture.info or picture.mode == "PA":
        return _on_white(picture.convert("RGBA"))
    if picture.mode in ("RGBA", "LA"):
        return _on_white(picture)
    if picture.mode in ("RGB", "L", "CMYK"):
        return picture
    # Palette and bilevel images: resampling needs real colours, not palette indices.
    return picture.convert("RGB")


def _on_white(image: PILImage.Image) -> PILImage.Image:
    background = PILImage.new("RGB", image.size, _WHITE)
    background.paste(image, mask=image)  # the mask is the image's own alpha
    return background


def _as_srgb(image: PILImage.Image, icc_profile: bytes | None) -> PILImage.Image:
    # The profile is not kept, so colours are converted to what browsers assume (sRGB): a wide
    # gamut phone photo would otherwise look washed out, a CMYK file wrongly coloured.
    if icc_profile and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode="RGB")
            if converted is not None:  # None only for a conversion in place
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: show the colours as they are
    return image if image.mode == "RGB" else image.convert("RGB")


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _fit_within(image: PILImage.Image, side: int) -> PILImage.Image:
    width, height = image.size
    if width <= side and height <= side:
        return image  # never enlarged
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, PILImage.Resampling.LANCZOS)


def _centre_square(image: PILImage.Image) -> PILImage.Image:
    # A small image gives a smaller square rather than an enlarged, blurred one; pages read the
    # stored size.
    side = min(THUMBNAIL_SIDE, *image.size)
    return ImageOps.fit(image, (side, side), PILImage.Resampling.LANCZOS)


def _encode(image: PILImage.Image) -> Rendition:
    # Pillow writes EXIF, ICC and XMP only when asked, but copies a JPEG comment from info.
    image.info.clear()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return Rendition(buffer.getvalue(), image.width, image.height)


# --- Storing ----------------------------------------------------------------------------------


def _save(
    original: bytes,
    image_format: str,
    display: Rendition,
    thumbnail: Rendition,
    uploader: User | None,
    alt_text: str,
) -> Image:
    extension, content_type = ACCEPTED_FORMATS[image_format]
    month = timezone.now().strftime("%Y/%m")
    # Random names, never the uploaded one; the original gets its own, so a public rendition's
    # key says nothing about where the private original is.
    rendition = uuid.uuid4().hex
    planned = [
        (storages["originals"], f"{month}/{uuid.uuid4().hex}.{extension}", original, content_type),
        (storages["default"], f"display/{month}/{rendition}.jpg", display.content, "image/jpeg"),
        (storages["default"], f"thumbs/{month}/{rendition}.jpg", thumbnail.content, "image/jpeg"),
    ]
    started = time.monotonic()
    if _uploads_paused_until > started:
        raise ImageNotStored(NOT_STORED)
    written: list[tuple[Storage, str]] = []
    try:
        for storage, name, content, file_type in planned:
            # Listed before the write: a write that fails half-way may still leave an object.
            written.append((storage, name))
            written[-1] = (storage, storage.save(name, _content_file(content, file_type)))
        image = _create_row(written, display, thumbnail, uploader, alt_text)
    except (S3ConnectionError, HTTPClientError) as error:
        # S3 did not answer (or not in time): deleting now would wait out the same timeouts.
        logger.warning("S3 did not answer while storing an upload: %r", error)
        _pause_uploads()
        unwritten = [(storage, name) for storage, name, _, _ in planned[len(written) :]]
        _leave_for_orphan_sweep([*written, *unwritten], display, thumbnail)
        raise ImageNotStored(NOT_STORED) from error
    except (BotoCoreError, ClientError) as error:
        # S3 answered with an error (throttling, a 500, a refusal): it can take the deletes.
        logger.warning("S3 refused an upload: %r", error)
        _delete_quietly(written)
        raise ImageNotStored(NOT_STORED) from error
    except BaseException:
        _delete_quietly(written)
        raise
    if time.monotonic() - started > SLOW_STORAGE_SECONDS:
        logger.warning("S3 took %.1f s to store an upload", time.monotonic() - started)
        _pause_uploads()
    return image


# Until when (time.monotonic()) uploads fail without trying S3. Per process: the app servers'
# sync workers handle one request at a time.
_uploads_paused_until = 0.0


def _pause_uploads() -> None:
    global _uploads_paused_until
    _uploads_paused_until = time.monotonic() + STORAGE_RETRY_SECONDS


def _leave_for_orphan_sweep(
    files: list[tuple[Storage, str]], display: Rendition, thumbnail: Rendition
) -> None:
    """Record the keys an upload may have left behind as an image nothing uses, so
    `clear_orphan_images` deletes them once S3 answers again (deleting a key that was never
    written is harmless). No form ever hands this image out."""
    try:
        _create_row(files, display, thumbnail, None, "")
    except Exception:
        logger.exception("could not record %s for the orphan sweep", [name for _, name in files])


class _TypedContentFile(ContentFile):
    # django-storages sends this as the object's Content-Type; the extension would give the same
    # answer, but only if the server's mimetypes tables know it.
    content_type: str


def _content_file(content: bytes, content_type: str) -> ContentFile:
    file = _TypedContentFile(content)
    file.content_type = content_type
    return file


def _create_row(
    written: list[tuple[Storage, str]],
    display: Rendition,
    thumbnail: Rendition,
    uploader: User | None,
    alt_text: str,
) -> Image:
    (_, original_name), (_, display_name), (_, thumbnail_name) = written
    return Image.objects.create(
        original=original_name,
        display=display_name,
        display_width=display.width,
        display_height=display.height,
        thumbnail=thumbnail_name,
        thumbnail_width=thumbnail.width,
        thumbnail_height=thumbnail.height,
        # The form checks the length; a longer text must not fail the whole upload.
        alt_text=alt_text[:ALT_TEXT_MAX],
        uploaded_by=uploader,
    )


def _delete_quietly(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:
            # The upload's own error matters more; the orphan sweep cannot find these, so log.
            logger.exception("could not delete %s after a failed upload", name)


# --- Originals, for moderators -----------------------------------------------------------------


def original_response(image: Image) -> HttpResponseBase:
    """The original of ``image``, for staff (the admin checks who asks). On S3 a redirect to a
    URL that S3 signs and lets expire (the storage's querystring_expire); on disk, where nothing
    serves the files, the file itself."""
    storage = storages["originals"]
    name = image.original.name
    if getattr(storage, "querystring_auth", False):
        return HttpResponseRedirect(storage.url(name))
    extension = name.rsplit(".", 1)[-1].lower()
    types = {ext: content_type for ext, content_type in ACCEPTED_FORMATS.values()}
    try:
        opened = storage.open(name, "rb")
    except FileNotFoundError as missing:
        raise Http404("This picture's original is gone.") from missing
    response = FileResponse(opened, content_type=types.get(extension, "application/octet-stream"))
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Deleting ---------------------------------------------------------------------------------


def delete_image_files(image: Image) -> None:
    """Delete the three files of ``image`` (not the row)."""
    # The model's FileField points at the default storage; originals live elsewhere.
    storages["originals"].delete(image.original.name)
    storages["default"].delete(image.display.name)
    storages["default"].delete(image.thumbnail.name)


def delete_orphan_images(*, older_than: timedelta) -> int:
    """Delete images no question or choice uses, uploaded before ``older_than`` ago.

    They come from ask forms that were abandoned after the upload. Returns how many went.
    """
    cutoff = timezone.now() - older_than
    candidates = Image.objects.filter(
        created_at__lt=cutoff, question__isnull=True, choice__isnull=True
    )
    return sum(_delete_if_orphan(pk) for pk in candidates.values_list("pk", flat=True))


def _delete_if_orphan(pk: int) -> bool:
    # Locked and checked again: a form may have attached the image since the listing, and cannot
    # while the lock is held. Files before the row: if a delete fails, the unused row stays for
    # the next run instead of files that no row leads to.
    with transaction.atomic():
        image = Image.objects.select_for_update().filter(pk=pk).first()
        if image is None or _is_used(image):
            return False
        delete_image_files(image)
        image.delete()
    return True


def _is_used(image: Image) -> bool:
    return (
        Question.objects.filter(image=image).exists() or Choice.objects.filter(image=image).exists()
    )
