"""FID and KID: how far a set of generated images is from a set of real ones, in Inception space.

Features are the 2048-d average-pool output of Keras' ImageNet InceptionV3. Those weights are
not the 2015 TF graph the original FID code used, so absolute values are comparable between
runs of this tool, not with FIDs printed in papers. The maths follows Heusel et al. (FID) and
Binkowski et al. / clean-fid (KID: unbiased MMD^2, cubic polynomial kernel, over subsets).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from translate.errors import UserError

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    + INCEPTION_WEIGHTS_FILE
)
INCEPTION_SIZE = 299
RANDOM_WEIGHTS = "random"  # an untrained InceptionV3: for tests of the plumbing only


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must be an (N >= 2, D) array of features, got shape {x.shape}")
    return x


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """tr sqrtm(A B) for symmetric PSD A, B, through symmetric eigendecompositions.

    A B has the eigenvalues of A^1/2 B A^1/2, which is symmetric PSD, so the trace is the sum
    of square roots of real, non-negative eigenvalues: no complex parts to discard, and stable
    when N < D leaves the covariances singular (where scipy's sqrtm warns and wobbles).
    """
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum())


def fid(features_a, features_b) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature sets.

    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrtm(S_a S_b), with unbiased covariances.
    With fewer images than dimensions (Inception's 2048; a test split of a hundred images)
    S = X^T X / (N - 1) for the centred features X, and tr sqrtm(S_a S_b) is the sum of the
    singular values of X_b X_a^T / sqrt((N_a - 1)(N_b - 1)): an N x N problem, not D x D.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    diff = a.mean(axis=0) - b.mean(axis=0)
    centred_a, centred_b = a - a.mean(axis=0), b - b.mean(axis=0)
    scale_a, scale_b = 1.0 / (len(a) - 1), 1.0 / (len(b) - 1)
    trace_a, trace_b = scale_a * np.sum(centred_a**2), scale_b * np.sum(centred_b**2)
    if max(len(a), len(b)) <= a.shape[1]:
        singular = np.linalg.svd(centred_b @ centred_a.T, compute_uv=False)
        cross = float(singular.sum()) * np.sqrt(scale_a * scale_b)
    else:
        cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        cross = _trace_sqrt_product(cov_a, cov_b)
    return float(max(diff @ diff + trace_a + trace_b - 2 * cross, 0.0))


class KID(NamedTuple):
    """KID as its mean over subsets and the spread between them (how much to trust it)."""

    mean: float
    std: float


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(u, v) = (u.v / d + 1)^3; x and y have the same number of rows."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kid(
    features_a,
    features_b,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> KID:
    """Kernel Inception Distance: unbiased MMD^2 over `num_subsets` random subsets.

    Each subset draws m rows of each set without replacement (clean-fid's defaults), with m =
    min(max_subset_size, N_a, N_b) for one subset, and at most half the smaller set for several:
    subsets as large as the sets would be the same rows reordered, every value equal, and the
    spread 0 whatever the sets. Unlike FID it is unbiased, so small sets can be compared.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    smaller = min(len(a), len(b))
    m = min(smaller if num_subsets == 1 else max(2, smaller // 2), max_subset_size)
    rng = np.random.default_rng(seed)
    values = [
        _unbiased_mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(num_subsets)
    ]
    return KID(float(np.mean(values)), float(np.std(values)))


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def keras_cache_path() -> Path:
    """Where Keras keeps downloaded weights: $KERAS_HOME/models, else ~/.keras/models."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    return Path(home) / "models" / INCEPTION_WEIGHTS_FILE


def _check_hdf5(path: Path) -> Path:
    with open(path, "rb") as f:
        if f.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
            raise UserError(
                f"{path} is not an HDF5 weights file: use {INCEPTION_WEIGHTS_FILE} "
                f"from {INCEPTION_WEIGHTS_URL}"
            )
    return path


def resolve_inception_weights(weights: str | os.PathLike | None = None) -> Path | str:
    """The weights file to use: `weights` if given, else the Keras cache; never downloads."""
    if weights is not None and str(weights) == RANDOM_WEIGHTS:
        return RANDOM_WEIGHTS
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(
                f"--inception-weights {path}: no such file; it should be {INCEPTION_WEIGHTS_FILE} "
                f"from {INCEPTION_WEIGHTS_URL}"
            )
        return _check_hdf5(path)
    cached = keras_cache_path()
    if cached.is_file():
        return _check_hdf5(cached)
    raise UserError(
        f"InceptionV3 weights for FID/KID not found: download {INCEPTION_WEIGHTS_URL} on a "
        f"machine with network and put it at {cached}, or pass --inception-weights PATH"
    )


@functools.lru_cache(maxsize=2)
def _inception(weights: str):
    """The InceptionV3 feature extractor, built once per weights file in a process."""
    import keras

    try:
        return keras.applications.InceptionV3(
            include_top=False,
            weights=None if weights == RANDOM_WEIGHTS else weights,
            input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
            pooling="avg",
        )
    except (OSError, ValueError) as error:
        raise UserError(
            f"could not load InceptionV3 weights from {weights}: {error}; it should be "
            f"{INCEPTION_WEIGHTS_FILE} from {INCEPTION_WEIGHTS_URL}"
        ) from error


def inception_features(
    images, weights: str | os.PathLike | None = None, batch_size: int = 32
) -> np.ndarray:
    """(N, 2048) float64 InceptionV3 pool features of uint8 RGB images (any sizes).

    Each image is resized to 299x299 (bilinear with antialiasing, so downscaling does not
    alias, the point clean-fid makes) and scaled to [-1, 1] as Inception was trained.
    `weights`: a path to the notop .h5 file, None for the Keras cache, or "random".
    """
    import keras
    import tensorflow as tf

    model = _inception(str(resolve_inception_weights(weights)))
    images = list(images) if not isinstance(images, np.ndarray) or images.ndim != 4 else images
    if len(images) == 0:
        raise ValueError("no images to compute Inception features of")
    features = []
    for start in range(0, len(images), batch_size):
        batch = []
        for image in images[start : start + batch_size]:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(f"expected uint8 HxWx3 RGB images, got {image.dtype} {image.shape}")
            resized = tf.image.resize(
                tf.constant(image, tf.float32), (INCEPTION_SIZE, INCEPTION_SIZE), antialias=True
            )
            batch.append(keras.applications.inception_v3.preprocess_input(resized))
        features.append(model(tf.stack(batch), training=False).numpy())
    return np.concatenate(features).astype(np.float64)
