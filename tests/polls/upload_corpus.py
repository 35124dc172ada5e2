"""Uploads the image pipeline must refuse, built in code: no binary files in the repository.

Each case is a file name, its bytes and a fragment of the message the person must see. The
cases are built once, when the test module is imported; the slowest (the 144-megapixel bomb)
takes a fraction of a second because it is a blank 1-bit image.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from typing import NamedTuple

from PIL import Image

# The test lowers settings.MAX_UPLOAD_BYTES to this, so the oversized file stays small.
MAX_UPLOAD_BYTES = 1024 * 1024

NOT_ACCEPTED = "not an image Beebeta accepts (JPEG, PNG, WebP or GIF)"
DAMAGED = "damaged or incomplete"
MORE_THAN_IMAGE = "contains more than an image"
TOO_MANY_PIXELS = "Beebeta accepts at most 40 megapixels, and 10,000 pixels on a side"
TOO_MANY_FRAMES = "more than 300 frames"


class BadUpload(NamedTuple):
    label: str
    name: str
    content: bytes
    message: str


# --- Valid images to start from ----------------------------------------------------------------


def noise(size: tuple[int, int] = (64, 48), mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Random pixels: they compress badly, so cutting the file anywhere cuts pixel data."""
    bands = Image.getmodebands(mode)
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * bands))


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (64, 48), **options) -> bytes:
    return encode(noise(size), "JPEG", quality=90, **options)


def png(size: tuple[int, int] = (64, 48), **options) -> bytes:
    return encode(noise(size), "PNG", **options)


def gif(size: tuple[int, int] = (64, 48), **options) -> bytes:
    return encode(noise(size).convert("P"), "GIF", **options)


def webp(size: tuple[int, int] = (64, 48), **options) -> bytes:
    return encode(noise(size), "WEBP", quality=80, **options)


def animation(image_format: str, frames: int, **options) -> bytes:
    # 301 frames of 4x4: big enough to count, small enough to build in milliseconds.
    # Every frame differs from the one before, so no encoder merges two into one.
    images = [Image.new("RGB", (4, 4), (i % 256, i // 256 * 100, 0)) for i in range(frames)]
    return encode(images[0], image_format, save_all=True, append_images=images[1:], **options)


# --- Hand-made files ---------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes that claim a huge RGB picture: a valid header, CRCs included."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def png_with_bad_crc() -> bytes:
    data = bytearray(png())
    # The IHDR's CRC sits at bytes 29-32.
    data[29] ^= 0xFF
    return bytes(data)


def gif_declaring(width: int, height: int, frame: tuple[int, int] = (1, 1)) -> bytes:
    """A tiny GIF whose screen, or whose first frame, claims a huge size."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


def gif_with_comment(comment: bytes) -> bytes:
    data = gif()
    # A comment extension right after the header and global colour table.
    table = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    start = 13 + table
    return data[:start] + b"\x21\xfe" + bytes([len(comment)]) + comment + b"\0" + data[start:]


def webp_with_riff_size(delta: int) -> bytes:
    data = webp()
    size = int.from_bytes(data[4:8], "little") + delta
    return data[:4] + size.to_bytes(4, "little") + data[8:]


def webp_declaring_16383_square() -> bytes:
    data = bytearray(encode(noise((8, 8)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little")
    bits = (bits & ~0x0FFFFFFF) | 16382 | (16382 << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


def jpeg_with_comment(comment: bytes) -> bytes:
    data = jpeg()
    # A COM segment right after the SOI marker.
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def jpeg_with_description(text: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = text  # ImageDescription
    return jpeg(exif=exif)


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "not a picture " * 20)
    return buffer.getvalue()


def blank_1bit_png(width: int, height: int) -> bytes:
    # A blank bilevel image compresses about a thousand to one: a classic decompression bomb.
    return encode(Image.new("1", (width, height)), "PNG")


# --- The corpus --------------------------------------------------------------------------------


def _truncated() -> list[BadUpload]:
    cases = []
    for label, ext, data in (
        ("jpeg", "jpg", jpeg()),
        ("png", "png", png()),
        ("gif", "gif", gif()),
        ("webp", "webp", webp()),
    ):
        half = len(data) // 2
        for point in (12, 40, half, len(data) - 1):
            name = f"photo.{ext}"
            cases.append(BadUpload(f"truncated-{label}-at-{point}", name, data[:point], DAMAGED))
    # Only the end marker or the IEND chunk missing: the pixels all decode.
    cases.append(BadUpload("jpeg-without-end-marker", "a.jpg", jpeg()[:-2], DAMAGED))
    cases.append(BadUpload("png-without-iend", "a.png", png()[:-12], DAMAGED))
    return cases


def _other_files() -> list[BadUpload]:
    not_images = [
        ("text-as-jpeg", "notes.jpg", b"Shopping list: eggs, milk, bread.\n"),
        ("pdf", "report.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        ("zip", "archive.png", zip_archive()),
        ("elf", "program.gif", b"\x7fELF\x02\x01\x01\0" + b"\0" * 56),
        ("exe", "setup.gif", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff" + b"\0" * 48),
        ("one-byte", "a.jpg", b"\xff"),
        ("bmp", "a.bmp", encode(noise(), "BMP")),
        ("tiff", "a.tif", encode(noise(), "TIFF")),
        ("ico", "favicon.ico", encode(noise((32, 32)), "ICO")),
        ("tiff-as-jpeg", "a.jpg", encode(noise(), "TIFF")),
        ("jpeg2000", "a.jp2", encode(noise(), "JPEG2000")),
    ]
    return [
        *(BadUpload(*case, NOT_ACCEPTED) for case in not_images),
        BadUpload("empty", "a.jpg", b"", "The file is empty"),
        BadUpload("gif-magic-then-junk", "a.gif", b"GIF89a" + b"\x07" * 40, DAMAGED),
        BadUpload("png-bad-crc", "a.png", png_with_bad_crc(), DAMAGED),
    ]


def _markup() -> list[BadUpload]:
    script = b"<script>alert(1)</script>"
    with_markup = [
        ("html-as-png", "page.png", b"<!DOCTYPE html>\n<html><body><h1>Hi</h1></body></html>\n"),
        ("svg-with-script", "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg">' + script),
        ("svg-upper-case-as-png", "logo.png", b"<SVG width='10'><rect/></SVG>"),
        ("php-as-gif", "shell.gif", b"GIF89a<?php system($_GET['c']); ?>"),
        ("jpeg-magic-then-html", "a.jpg", b"\xff\xd8\xff\xe0<html>hi</html>"),
        ("png-trailing-html", "a.png", png() + b"<html>" + script),
        ("gif-script-comment", "a.gif", gif_with_comment(script)),
        ("jpeg-php-comment", "a.jpg", jpeg_with_comment(b"<?php echo 1; ?>")),
        ("jpeg-script-in-exif", "a.jpg", jpeg_with_description(script.decode())),
    ]
    return [BadUpload(*case, MORE_THAN_IMAGE) for case in with_markup]


def _polyglots() -> list[BadUpload]:
    return [
        BadUpload("jpeg-zip-polyglot", "a.jpg", jpeg() + zip_archive(), MORE_THAN_IMAGE),
        BadUpload("png-trailing-zip", "a.png", png() + zip_archive(), MORE_THAN_IMAGE),
        BadUpload("gif-trailing-bytes", "a.gif", gif() + b"PK\x03\x04 hidden", MORE_THAN_IMAGE),
        BadUpload("gif-trailing-zip", "a.gif", gif() + zip_archive(), MORE_THAN_IMAGE),
        BadUpload("webp-riff-too-short", "a.webp", webp_with_riff_size(-8), DAMAGED),
        BadUpload("webp-trailing-bytes", "a.webp", webp() + b"\0\0\0\0hidden", MORE_THAN_IMAGE),
        BadUpload("webp-riff-too-long", "a.webp", webp_with_riff_size(+64), DAMAGED),
    ]


def _too_big() -> list[BadUpload]:
    oversized = jpeg() + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(jpeg()))
    return [
        BadUpload("oversize-by-one-byte", "big.jpg", oversized, "larger than 1 MB"),
        BadUpload("png-pixel-flood", "flood.png", png_declaring(30_000, 30_000), TOO_MANY_PIXELS),
        BadUpload("png-too-wide", "wide.png", png_declaring(12_000, 10), "12,000 × 10 pixels"),
        BadUpload("gif-pixel-flood", "flood.gif", gif_declaring(30_000, 30_000), TOO_MANY_PIXELS),
        # Pillow grows the canvas to fit a frame that reaches outside it.
        BadUpload(
            "gif-frame-outside-canvas",
            "a.gif",
            gif_declaring(6_000, 6_000, frame=(7_000, 7_000)),
            TOO_MANY_PIXELS,
        ),
        BadUpload("webp-pixel-flood", "flood.webp", webp_declaring_16383_square(), TOO_MANY_PIXELS),
        BadUpload("png-bomb-144mp", "bomb.png", blank_1bit_png(12_000, 12_000), TOO_MANY_PIXELS),
        # Over the limit but under twice it: Pillow only warns, and the warning must refuse.
        BadUpload("png-bomb-42mp", "bomb.png", blank_1bit_png(7_000, 6_000), TOO_MANY_PIXELS),
        BadUpload("gif-301-frames", "a.gif", animation("GIF", 301), TOO_MANY_FRAMES),
        BadUpload("png-301-frames", "a.png", animation("PNG", 301), TOO_MANY_FRAMES),
        BadUpload(
            "webp-301-frames", "a.webp", animation("WEBP", 301, lossless=True), TOO_MANY_FRAMES
        ),
    ]


def bad_uploads() -> list[BadUpload]:
    return [*_other_files(), *_markup(), *_truncated(), *_polyglots(), *_too_big()]


# Valid content under names that try to escape, inject or overflow: all must be stored safely.
HOSTILE_NAMES = [
    "../../etc/passwd.jpg",
    "..\\..\\windows\\win.ini.jpg",
    "/absolute/path.jpg",
    "a<script>alert(1)</script>.png",
    "x" * 300 + ".jpg",
    "фото 日本 📷.jpg",
    "nul\x00byte.jpg",
    "shell.php.jpg",
    ".htaccess",
    "no-extension",
    "CON.jpg",
    "line\nbreak.jpg",
]
