"""A release: built once, installed by every instance as it is, never from the package index.

    python deploy/release.py build [--out DIR]                 a release of the committed HEAD
    python deploy/release.py upload --bucket B [--endpoint-url URL] TARBALL
    python3 deploy/release.py install TARBALL --venv DIR --static DIR

A release is one tarball, ``beebeta-<revision>.tar.gz``, holding the wheels of every locked
dependency (requirements.lock, hashes checked when they are built), ``release.lock`` (each of
those wheels by the hash of its file), a virtualenv made from them and byte-compiled, which an
instance only unpacks and moves into place (or, if it does not run there, remakes from the
wheels, checking release.lock's hashes), the collected static files
(hashed names, as STATIC_MANIFEST serves them) and ``release.json`` (revision, Python version,
platform). `make release` builds it and, with RELEASE_BUCKET, uploads it under
``releases/<revision>.tar.gz``, where instances of that revision fetch it at boot
(deploy/instance.py fetch-release) and install it: the virtualenv unpacked (or made from the
wheels alone, ``--no-index``, hashes checked) and the static files copied, so a boot neither
reaches the package index, nor compiles anything, nor runs collectstatic.

``install`` uses the standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = "requirements.lock"
# The release's own lock: each wheel in it by the hash of its file. The build checked every
# download against requirements.lock; a wheel it compiled itself (mysqlclient's, from the
# checked source) has a hash only the build knows, which the instance then checks.
RELEASE_LOCK = "release.lock"


class ReleaseError(RuntimeError):
    pass


def revision(root: Path = ROOT) -> str:
    return subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def python_tag() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _run(argv: list[str], **kwargs) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603
    if result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-2000:]
        raise ReleaseError(f"{' '.join(argv[:4])}... failed:\n{output}")


def wheel_lock(wheels: Path) -> str:
    """A requirements file pinning each wheel in ``wheels`` to its version and file hash."""
    lines = []
    for wheel in sorted(wheels.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"


def make_venv(venv: Path, python: str, wheels: Path, lock: Path) -> None:
    """A virtualenv at ``venv`` holding exactly the wheels ``lock`` names, by their hashes,
    from ``wheels`` alone."""
    _run([python, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index"]
    _run([*pip, "--find-links", str(wheels), "--require-hashes", "-r", str(lock)])


def build(out: Path, root: Path = ROOT) -> Path:
    """The release of the committed HEAD (never the work tree's changes) as a tarball in out."""
    rev = revision(root)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="beebeta-release-") as scratch:
        folder = Path(scratch)
        app, wheels, static = folder / "app", folder / "wheels", folder / "static"
        app.mkdir()
        archive = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(root), "archive", "--format=tar", "HEAD"],  # noqa: S607
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(app, filter="data")
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--require-hashes",
                "--wheel-dir",
                str(wheels),
                "-r",
                str(app / LOCK),
            ]
        )
        (folder / RELEASE_LOCK).write_text(wheel_lock(wheels))
        # The virtualenv itself, made from those wheels and byte-compiled here once: unpacking
        # it is all an instance does (install() moves it to its own path).
        venv = folder / "venv"
        make_venv(venv, sys.executable, wheels, folder / RELEASE_LOCK)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATA_DIR": str(folder / "data"),
            "STATIC_ROOT": str(static),
            "STATIC_MANIFEST": "true",
        }
        _run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=app, env=env)
        manifest = {
            "revision": rev,
            "python": python_tag(),
            "platform": platform.machine(),
            "wheels": sorted(path.name for path in wheels.iterdir()),
            "venv": str(venv),
            # What a moved virtualenv must import to count as working.
            "imports": ["django", "gunicorn", "MySQLdb"],
        }
        tarball = out / f"beebeta-{rev}.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            tar.add(wheels, arcname="wheels")
            tar.add(venv, arcname="venv", filter=without_interpreter_links)
            tar.add(static, arcname="static")
            tar.add(app / LOCK, arcname=LOCK)
            tar.add(folder / RELEASE_LOCK, arcname=RELEASE_LOCK)
            for name, text in (("release.json", json.dumps(manifest, indent=2)),):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, fileobj=io.BytesIO(data))
    return tarball


def without_interpreter_links(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leaves out a virtualenv's links to the Python it was made with (an absolute path on the
    building machine): the instance's `venv --upgrade` links its own."""
    return None if member.issym() and member.name.startswith("venv/bin/") else member


def key_of(rev: str) -> str:
    return f"releases/{rev}.tar.gz"


def upload(tarball: Path, bucket: str, endpoint_url: str | None = None) -> str:
    import boto3

    rev = tarball.name.removeprefix("beebeta-").removesuffix(".tar.gz")
    client = boto3.client("s3", endpoint_url=endpoint_url)
    client.upload_file(str(tarball), bucket, key_of(rev))
    return f"s3://{bucket}/{key_of(rev)}"


def install(tarball: Path, *, venv: Path, static: Path, python: str = sys.executable) -> dict:
    """Unpack the release, make ``venv`` from its wheels alone and copy its static files into
    ``static``; its manifest."""
    # Beside the virtualenv's place, so moving it there is a rename, not a copy.
    venv.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".release-", dir=venv.parent) as scratch:
        folder = Path(scratch)
        # GNU tar unpacks thousands of files several times faster than tarfile; the wheels only
        # if the virtualenv has to be made again. The release holds no absolute or upward path.
        _run(["tar", "-xzf", str(tarball), "-C", str(folder), "--exclude=wheels"])
        manifest = json.loads((folder / "release.json").read_text())
        version = subprocess.run(  # noqa: S603 - the interpreter asked for
            [python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if version != manifest["python"]:
            raise ReleaseError(f"the release is for Python {manifest['python']}, not {version}")
        built = folder / "venv"
        if built.is_dir() and _relocate(built, manifest, venv, python):
            static.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder / "static", static, dirs_exist_ok=True)
            return manifest
        with tarfile.open(tarball) as tar:
            wheels = [member for member in tar.getmembers() if member.name.startswith("wheels")]
            tar.extractall(folder, members=wheels, filter="data")
        make_venv(venv, python, folder / "wheels", folder / RELEASE_LOCK)
        static.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder / "static", static, dirs_exist_ok=True)
    return manifest


def _relocate(built: Path, manifest: dict, venv: Path, python: str) -> bool:
    """Move the release's virtualenv, made at ``manifest["venv"]``, to ``venv``: its scripts name
    their interpreter by path, so those paths are rewritten. False (and nothing left at ``venv``) if
    it then does not run here, say on another build of Python; the wheels remain."""
    if venv.exists():
        shutil.rmtree(venv)
    shutil.move(str(built), str(venv))
    old, new = manifest["venv"].encode(), str(venv).encode()
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if old in data:
                script.write_bytes(data.replace(old, new))
    # Its interpreter links and pyvenv.cfg then name this machine's Python.
    _run([python, "-m", "venv", "--upgrade", str(venv)])
    checked = subprocess.run(  # noqa: S603 - the release's own interpreter
        [str(venv / "bin" / "python"), "-c", f"import {', '.join(manifest['imports'])}"],
        capture_output=True,
        check=False,
    )
    if checked.returncode != 0:
        shutil.rmtree(venv)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/release.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("build", help="build the release of HEAD")
    built.add_argument("--out", type=Path, default=ROOT / "var" / "release")
    sent = commands.add_parser("upload", help="upload a release to the releases bucket")
    sent.add_argument("tarball", type=Path)
    sent.add_argument("--bucket", required=True)
    sent.add_argument("--endpoint-url", default=None)
    placed = commands.add_parser("install", help="install a release on this machine")
    placed.add_argument("tarball", type=Path)
    placed.add_argument("--venv", type=Path, required=True)
    placed.add_argument("--static", type=Path, required=True)
    placed.add_argument("--python", default=sys.executable)
    options = parser.parse_args(argv)
    try:
        if options.command == "build":
            print(build(options.out))
        elif options.command == "upload":
            print(upload(options.tarball, options.bucket, options.endpoint_url))
        else:
            manifest = install(
                options.tarball, venv=options.venv, static=options.static, python=options.python
            )
            print(f"release {manifest['revision']}: {len(manifest['wheels'])} wheels installed")
    except (ReleaseError, subprocess.CalledProcessError) as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
