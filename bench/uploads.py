"""What the worst ask POST Beebeta accepts costs a worker: `make bench-uploads`.

    .venv/bin/python -m bench.uploads [--rounds N] [--out bench/uploads.md]

One request may carry DATA_UPLOAD_MAX_NUMBER_FILES pictures (the question's and one per
choice), each within MAX_UPLOAD_BYTES and MAX_IMAGE_PIXELS, and all of them together within
MAX_REQUEST_PIXELS, taken from their headers before anything is decoded. The worst accepted
request is therefore thirteen pictures that share the whole budget; this builds it in each
accepted format (flat colours with a gradient: the most pixels a file of at most
MAX_UPLOAD_BYTES can hold), posts it to /ask/ as a signed-in member through Django's whole
request path (middleware, form, checks, decoding, renditions, storage, the question's rows), and
reports the wall clock and the CPU time of the process (one request at a time, as a sync worker
serves them); the worst is the one with the most CPU, which other work on the machine moves
less than the wall clock. These rows measure the pixel budget alone: UPLOAD_REQUEST_SECONDS,
which refuses the rest of a request's pictures once they have taken that long, is lifted for
them, and the worst format is then posted once more with it in force, as served. For
comparison it also posts thirteen pictures at the per-file limit, which every earlier version
decoded in full, with the budget in force and without it.

It runs on the embedded default in a temporary folder (SQLite, the local-memory cache, media on
the local disk): S3 would add its own network time, which AWS_S3_TIMEOUT bounds separately. The
upload and question rates per account are raised for the run, and its questions publish at
once. Writes the figures to --out (bench/uploads.md).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = {
    "PNG": ("png", "image/png", {}),
    "GIF": ("gif", "image/gif", {}),
    "WebP lossless": ("webp", "image/webp", {"lossless": True}),
    "WebP": ("webp", "image/webp", {}),
    "JPEG": ("jpg", "image/jpeg", {"quality": 90}),
}


@dataclass
class Measured:
    name: str
    kind: str
    files: int
    megapixels: float
    status: int
    stored: int
    wall: list[float]
    cpu: list[float]

    def row(self) -> str:
        wall, cpu = statistics.median(self.wall), statistics.median(self.cpu)
        spread = f"{min(self.wall):.2f}–{max(self.wall):.2f}"
        return (
            f"| {self.name} | {self.files} | {self.megapixels:,.0f} | {self.status}, "
            f"{self.stored} stored | {wall:.2f} ({spread}) | {cpu:.2f} |"
        )


def _set_up(data_dir: str) -> None:
    os.environ.update(
        {
            "DATA_DIR": data_dir,
            "DEBUG": "false",
            "REQUEST_LOG": "false",
            "ALLOWED_HOSTS": "testserver",
            "UPLOADS_PER_ACCOUNT": "1000000",
            "UPLOADS_PER_CLIENT": "1000000",
            "QUESTIONS_PER_ACCOUNT": "1000000",
            "QUESTIONS_PER_CLIENT": "1000000",
            # Published at once, so no run of questions waits for review (a limit of its own).
            "MODERATE_FIRST_QUESTIONS": "0",
            "DJANGO_SETTINGS_MODULE": "beebeta.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


_encoded: dict[tuple[str, int], bytes] = {}


def _picture(kind: str, side: int, name: str):
    """A picture of ``side`` x ``side`` in ``kind``: encoded once, sent as often as needed
    (each upload is checked, decoded and stored afresh whatever its bytes)."""
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image as PILImage

    extension, content_type, options = FORMATS[kind]
    if (kind, side) not in _encoded:
        picture = PILImage.linear_gradient("L").resize((side, side)).convert("RGB")
        picture.paste((200, 90, 160), (0, 0, side // 2, side))
        buffer = io.BytesIO()
        picture.save(buffer, kind.split()[0].upper(), **options)
        _encoded[kind, side] = buffer.getvalue()
    data = _encoded[kind, side]
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise SystemExit(f"a {kind} of {side} px is {len(data):,} bytes, over MAX_UPLOAD_BYTES")
    return SimpleUploadedFile(f"{name}.{extension}", data, content_type=content_type)


def _request(kind: str, side: int, number: int) -> dict:
    from django.conf import settings

    choices = settings.DATA_UPLOAD_MAX_NUMBER_FILES - 1
    data = {
        "title": f"Which of these pictures is best, round {number}?",
        "description": "",
        "tags": "",
        "kind": "single",
        "max_choices": "",
        "closes_at": "",
        "results_visibility": "always",
        "confirm": "1",
        "choices-TOTAL_FORMS": str(choices),
        "choices-INITIAL_FORMS": str(choices),
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": str(choices),
        "image": _picture(kind, side, "question"),
    }
    for index in range(choices):
        data[f"choices-{index}-text"] = f"Picture {index + 1}"
        data[f"choices-{index}-image"] = _picture(kind, side, f"choice{index}")
    return data


_numbers = iter(range(1_000_000))


def measure(client, name: str, kind: str, side: int, rounds: int) -> Measured:
    from polls.models import Image

    files = _request(kind, side, 0)
    count = sum(1 for key in files if key.endswith("image"))
    result = Measured(name, kind, count, count * side * side / 1e6, 0, 0, [], [])
    for _ in range(rounds):
        data = _request(kind, side, next(_numbers))
        before = Image.objects.count()
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.post("/ask/", data)
        result.wall.append(time.perf_counter() - wall)
        result.cpu.append(time.process_time() - cpu)
        result.status, result.stored = response.status_code, Image.objects.count() - before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "uploads.md"))
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="beebeta-uploads-") as data_dir:
        _set_up(data_dir)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client

        member = get_user_model().objects.create_user(username="uploader")
        client = Client()
        client.force_login(member)
        files = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        shared = math.isqrt(settings.MAX_REQUEST_PIXELS // files)
        at_limit = math.isqrt(settings.MAX_IMAGE_PIXELS)
        # The pixel budget alone first: no time bound cutting a request short.
        served_seconds = settings.UPLOAD_REQUEST_SECONDS
        settings.UPLOAD_REQUEST_SECONDS = 10**6
        results = []
        for kind in FORMATS:
            name = f"worst accepted: {files} {kind} sharing MAX_REQUEST_PIXELS"
            results.append(measure(client, name, kind, shared, args.rounds))
            print(results[-1].row(), flush=True)
        # By CPU time: the wall clock says more about what else the machine is doing.
        worst = max(results, key=lambda r: statistics.median(r.cpu))
        worst_kind = worst.kind
        settings.UPLOAD_REQUEST_SECONDS = served_seconds
        name = f"the same with UPLOAD_REQUEST_SECONDS at {served_seconds} s, as served"
        results.append(measure(client, name, worst_kind, shared, args.rounds))
        settings.UPLOAD_REQUEST_SECONDS = 10**6
        print(results[-1].row(), flush=True)
        name = f"{files} {worst_kind} at MAX_IMAGE_PIXELS each, the budget refusing"
        results.append(measure(client, name, worst_kind, at_limit, args.rounds))
        print(results[-1].row(), flush=True)
        budget = settings.MAX_REQUEST_PIXELS
        settings.MAX_REQUEST_PIXELS = files * at_limit * at_limit
        name = "the same without a request budget (as before it existed)"
        results.append(measure(client, name, worst_kind, at_limit, 1))
        settings.MAX_REQUEST_PIXELS = budget
        print(results[-1].row(), flush=True)
    _write(Path(args.out), results, worst, time.time() - started, args.rounds, served_seconds)


def _write(
    out: Path, results: list[Measured], worst: Measured, took: float, rounds: int, seconds: int
) -> None:
    from django.conf import settings

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        "# The worst accepted upload request",
        "",
        "Written by `make bench-uploads` (bench/uploads.py): an ask POST through Django's whole "
        "request path on the embedded default, one request at a time. Seconds: median of "
        f"{rounds} rounds (lowest–highest); CPU is the process's.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Linux "
        f"{platform.release()}; load average at start {load}; the run took {took:.0f} s",
        f"- Bounds: {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files, "
        f"MAX_UPLOAD_BYTES {settings.MAX_UPLOAD_BYTES:,}, MAX_IMAGE_PIXELS "
        f"{settings.MAX_IMAGE_PIXELS:,}, MAX_REQUEST_PIXELS {settings.MAX_REQUEST_PIXELS:,}, "
        f"UPLOAD_REQUEST_SECONDS {seconds} (lifted but where a row says otherwise)",
        "",
        "| request | files | megapixels sent | answer | wall s | CPU s |",
        "| --- | --- | --- | --- | --- | --- |",
        *(result.row() for result in results),
        "",
        f"Worst accepted (by CPU): {worst.name.removeprefix('worst accepted: ')}, "
        f"{statistics.median(worst.cpu):.2f} s of CPU, "
        f"{statistics.median(worst.wall):.2f} s ({max(worst.wall):.2f} s at most) of one "
        "worker's wall clock.",
        "",
    ]
    out.write_text("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
