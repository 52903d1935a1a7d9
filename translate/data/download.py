"""Downloads that resume and verify, and archive extraction that cannot escape its folder.

Nothing half-done is ever left where a finished thing is expected: downloads grow in a `.part`
file (resumed with an HTTP Range request), archives extract into a temporary sibling folder that
is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import posixpath
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from translate.errors import UserError
from translate.io_utils import publish_mode

CHUNK = 1 << 16


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def download(
    url: str, dest, sha256: str | None = None, progress: bool = True,
    expected_by: str = "the card says",
) -> str:
    """Fetch `url` to `dest` (resuming `dest.part`), check sha256 when given; return the digest.

    expected_by: where sha256 came from, for the error message."""
    from translate import __version__

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"translate/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the partial file is no prefix of this one: start over
            part.unlink()
            return download(url, dest, sha256, progress)
        raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"cannot reach {url} ({reason}); check the network or the card's url") from None
    with response:
        resumed = start and response.status == 206
        if start and not resumed:
            start = 0  # the server ignored Range: take the whole file again
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        received = start
        try:
            with open(part, "ab" if resumed else "wb") as f, _progress(progress) as bar:
                task = bar.add_task(f"{dest.name}{' (resumed)' if resumed else ''}", total=total,
                                    completed=start)
                while block := response.read(CHUNK):
                    f.write(block)
                    received += len(block)
                    bar.update(task, completed=received)
        except (OSError, http.client.HTTPException) as exc:
            raise UserError(
                f"download of {url} interrupted after {received} bytes ({type(exc).__name__}); "
                "run the same command again to resume"
            ) from None
    if total is not None and received != total:
        raise UserError(
            f"download of {url} interrupted after {received} of {total} bytes; "
            "run the same command again to resume"
        )
    digest = sha256_of(part)
    if sha256 and digest != sha256.lower():
        part.unlink()
        raise UserError(
            f"{url}: checksum mismatch (got sha256 {digest}, {expected_by} {sha256}); the "
            "download was deleted: fix the card's sha256 or the url"
        )
    os.replace(part, dest)
    return digest


def _check_member(name: str, archive: Path) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise UserError(
            f"{archive}: refusing member {name!r}, which would land outside the dataset folder; "
            "the archive is unsafe"
        )


def _extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_member(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UserError(f"{archive}: refusing symbolic link member {info.filename!r}")
        zf.extractall(into)


def _extract_tar(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            _check_member(member.name, archive)
            if member.issym() or member.islnk():
                base = "" if member.islnk() else posixpath.dirname(member.name)
                target = posixpath.normpath(posixpath.join(base, member.linkname))
                if os.path.isabs(member.linkname) or target.split("/")[0] == "..":
                    raise UserError(
                        f"{archive}: refusing member {member.name!r}, a link to "
                        f"{member.linkname!r} outside the dataset folder; the archive is unsafe"
                    )
            elif not (member.isfile() or member.isdir()):
                raise UserError(f"{archive}: refusing special file member {member.name!r}")
        try:
            tf.extractall(into, filter="data")
        except tarfile.FilterError as exc:
            raise UserError(f"{archive}: refusing unsafe member ({exc})") from None


def extract_archive(archive, target, folder: str = "") -> Path:
    """Extract safely into `target` (which must not exist), all or nothing.

    The archive's single top folder (or `folder`) becomes `target`; members with absolute
    paths, `..` or links leaving the archive are refused before anything is written.
    """
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extracting", dir=target.parent))
    try:
        try:
            if zipfile.is_zipfile(archive):
                _extract_zip(archive, tmp)
            elif tarfile.is_tarfile(archive):
                _extract_tar(archive, tmp)
            else:
                raise UserError(f"{archive}: not a zip or tar archive; delete it and fetch again")
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise UserError(f"{archive}: damaged archive ({exc}); delete it and fetch again") from None
        top = [p for p in tmp.iterdir() if p.name != "__MACOSX" and not p.name.startswith(".")]
        root = tmp
        if folder and (tmp / folder).is_dir():
            root = tmp / folder
        elif len(top) == 1 and top[0].is_dir():
            root = top[0]
        publish_mode(root, directory=True)
        os.replace(root, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def archive_name(url: str) -> str:
    """The file name the download is kept under: the URL's last plain path segment."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    return name if name and name not in (".", "..") else "download"
