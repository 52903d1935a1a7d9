"""Reading and writing image files outside TensorFlow (apply, export, info, synthetic data).

One place that knows about EXIF orientation, grayscale/RGBA/16-bit files and atomic writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from translate.errors import UserError

# What apply and evaluate read (OpenCV decodes them all) ...
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# ... and what training reads: TensorFlow's decoders, which have no TIFF.
TRAINING_SUFFIXES = tuple(s for s in IMAGE_SUFFIXES if not s.startswith(".tif"))
OUTPUT_FORMATS = ("png", "jpg", "webp")  # what apply writes (--format)
_WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def exif_orientation(path) -> int:
    """The EXIF orientation tag (1..8) of an image file; 1 when absent or unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            value = im.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return int(value) if value in range(1, 9) else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright as the EXIF orientation tag says (as PIL's exif_transpose)."""
    ops = {
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: np.swapaxes(x, 0, 1),
        6: lambda x: np.rot90(x, 3),
        7: lambda x: np.rot90(np.swapaxes(x, 0, 1), 2),
        8: lambda x: np.rot90(x, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(image)) if op else image


def read_image(path, channels: int | None = 3) -> np.ndarray:
    """An image file as HxWxC uint8 (uint16 for 16-bit files), upright, RGB(A) channel order.

    channels=3: grayscale is repeated and alpha dropped; 1: converted to gray; None: as stored.
    """
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc}); check the path") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise UserError(f"{path}: not a readable image (JPEG, PNG, BMP or WebP expected)")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] >= 3:
        order = [2, 1, 0, 3][: image.shape[2]]
        image = image[:, :, order]
    image = apply_orientation(image, exif_orientation(path))
    if channels == 3:
        image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3]
    elif channels == 1 and image.shape[2] >= 3:
        image = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)[:, :, None]
    return np.ascontiguousarray(image)


def _to_storable(array: np.ndarray, suffix: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    if array.dtype == np.uint16 and suffix != ".png":
        array = (array // 257).astype(np.uint8)
    if array.dtype not in (np.uint8, np.uint16):
        raise UserError(f"cannot write a {array.dtype} image; give uint8, uint16 or float in [0, 1]")
    return array


def encode_image(array: np.ndarray, suffix: str, quality: int = 95) -> bytes:
    """RGB(A)/gray HxW[xC] pixels to the bytes of a .png/.jpg/.webp/.bmp file."""
    import cv2

    suffix = suffix.lower()
    if suffix not in _WRITE_SUFFIXES:
        raise UserError(
            f"cannot write images as {suffix or 'no suffix'}; use one of {', '.join(_WRITE_SUFFIXES)}"
        )
    array = _to_storable(array, suffix)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] >= 3:
        if suffix in (".jpg", ".jpeg"):
            array = array[:, :, :3]
        array = array[:, :, [2, 1, 0, 3][: array.shape[2]]]
    params = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, buf = cv2.imencode(suffix, np.ascontiguousarray(array), params)
    if not ok:
        raise UserError(f"could not encode an image of shape {array.shape} as {suffix}")
    return buf.tobytes()


def write_image_atomic(path, array: np.ndarray, quality: int = 95) -> None:
    """Write an image (format from the suffix) via a temporary file and os.replace."""
    from translate.io_utils import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, encode_image(array, path.suffix, quality))
