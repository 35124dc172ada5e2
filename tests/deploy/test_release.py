"""A release (deploy/release.py) installs on an instance from its own wheels only, checked
against the lock's hashes, and an instance fetches its revision's release from the bucket
(deploy/instance.py fetch-release)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from deploy import instance, release


def tiny_wheel(folder: Path, *, body: str = "ANSWER = 42\n") -> Path:
    """A real (if minimal) wheel of a module, `beebeta_probe`."""
    name, version = "beebeta_probe", "1.0"
    files = {
        f"{name}.py": body.encode(),
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def probe_answer(venv: Path) -> str:
    answer = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import beebeta_probe; print(beebeta_probe.ANSWER)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return answer.stdout.strip()


def make_release(
    tmp_path: Path,
    *,
    python: str = release.python_tag(),
    tamper: bool = False,
    with_venv: bool = False,
):
    wheels = tmp_path / "build" / "wheels"
    wheels.mkdir(parents=True)
    wheel = tiny_wheel(wheels)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if tamper:
        wheel.unlink()
        tiny_wheel(wheels, body="ANSWER = 666\n")
    tarball = tmp_path / "beebeta-abc123.tar.gz"
    built_at = tmp_path / "build" / "venv"
    manifest = {"revision": "abc123", "python": python, "wheels": [], "imports": ["beebeta_probe"]}
    with tarfile.open(tarball, "w:gz") as tar:
        if with_venv:
            subprocess.run([sys.executable, "-m", "venv", str(built_at)], check=True)
            pip = [str(built_at / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, "--no-index", str(wheel)], check=True)
            tar.add(built_at, arcname="venv", filter=release.without_interpreter_links)
            manifest["venv"] = str(built_at)
        tar.add(wheels, arcname="wheels")
        static = tmp_path / "build" / "static" / "css"
        static.mkdir(parents=True)
        (static / "beebeta.0123456789ab.css").write_text("body{}")
        tar.add(static.parent, arcname="static")
        for name, text in (
            (release.RELEASE_LOCK, f"beebeta_probe==1.0 --hash=sha256:{digest}\n"),
            ("release.json", json.dumps(manifest)),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return tarball


def test_a_release_installs_from_its_own_wheels(tmp_path):
    tarball = make_release(tmp_path)
    venv, static = tmp_path / "venv", tmp_path / "static"
    manifest = release.install(tarball, venv=venv, static=static)
    assert manifest["revision"] == "abc123"
    assert probe_answer(venv) == "42"
    assert (static / "css" / "beebeta.0123456789ab.css").read_text() == "body{}"


def test_a_wheel_that_is_not_the_locked_one_is_refused(tmp_path):
    tarball = make_release(tmp_path, tamper=True)
    with pytest.raises(release.ReleaseError, match="(?i)hash"):
        release.install(tarball, venv=tmp_path / "venv", static=tmp_path / "static")


def test_a_release_for_another_python_is_refused(tmp_path):
    tarball = make_release(tmp_path, python="2.7")
    with pytest.raises(release.ReleaseError, match="for Python 2.7"):
        release.install(tarball, venv=tmp_path / "venv", static=tmp_path / "static")
    assert not (tmp_path / "venv").exists()


def test_an_instance_fetches_its_revisions_release(s3_bucket, tmp_path):
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="releases/abc123.tar.gz", Body=b"x")
    fetched = tmp_path / "release.tar.gz"
    assert instance.fetch_release(s3_bucket.client, s3_bucket.name, "abc123", fetched)
    assert fetched.read_bytes() == b"x"
    # A revision nobody released: the instance builds its virtualenv the slow way.
    assert not instance.fetch_release(s3_bucket.client, s3_bucket.name, "def456", fetched)


def test_the_command_line_says_what_went_wrong(tmp_path):
    tarball = make_release(tmp_path, python="2.7")
    result = subprocess.run(
        [sys.executable, str(Path(release.__file__)), "install", str(tarball)]
        + ["--venv", str(tmp_path / "venv"), "--static", str(tmp_path / "static")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "the release is for Python 2.7" in result.stderr


def test_the_release_lock_names_each_wheel_by_the_hash_of_its_file(tmp_path):
    wheel = tiny_wheel(tmp_path)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert release.wheel_lock(tmp_path) == f"beebeta_probe==1.0 --hash=sha256:{digest}\n"


def test_the_virtualenv_of_a_release_is_moved_into_place(tmp_path):
    tarball = make_release(tmp_path, with_venv=True)
    shutil.rmtree(tmp_path / "build")  # the machine it was made on is not this one
    venv = tmp_path / "srv" / "venv"
    release.install(tarball, venv=venv, static=tmp_path / "static")
    pip_script = (venv / "bin" / "pip").read_text().splitlines()[0]
    assert pip_script.startswith(f"#!{venv}/bin/python")
    assert probe_answer(venv) == "42"
