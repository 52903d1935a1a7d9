"""Small file helpers: atomic writes, so a kill never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    """The process umask (Linux reads it without changing it; elsewhere set and restore)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_mode(path, directory: bool = False) -> None:
    """Give a file or folder made by mkstemp/mkdtemp (0600/0700) the permissions the user's
    umask gives a normal one, so that e.g. a TF Serving process of another user can read it."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_read_umask())


def atomic_write_bytes(path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
