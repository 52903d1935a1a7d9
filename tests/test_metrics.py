"""translate.metrics: the papers' PSNR/SSIM, the bicubic baselines they report, FID and KID."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from translate.errors import UserError
from translate.metrics import (
    INCEPTION_WEIGHTS_FILE,
    colourfulness,
    evaluate_pairs,
    fid,
    gray_baseline,
    inception_features,
    kid,
    psnr,
    psnr_y,
    resolve_inception_weights,
    ssim,
    ssim_y,
    upscale_bicubic,
    y_channel,
)

rng = np.random.default_rng(0)


def random_image(height=32, width=32, channels=3):
    shape = (height, width, channels) if channels else (height, width)
    return rng.integers(0, 256, shape, dtype=np.uint8)


# ---------------------------------------------------------------- PSNR / SSIM on known cases


def test_y_channel_is_matlab_rgb2ycbcr_luma():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(y_channel(pixels), [[16.0, 235.0, 16 + 65.481, 16 + 24.966]])


def test_a_gray_image_is_its_own_luma_as_in_the_matlab_scripts():
    gray = random_image(channels=0)
    np.testing.assert_array_equal(y_channel(gray), gray.astype(np.float64))
    # the same image as RGB goes through rgb2ycbcr (BasicSR reads every image as colour)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    np.testing.assert_allclose(y_channel(rgb), 16 + gray.astype(np.float64) * 219 / 255)


def test_psnr_y_of_a_known_mse():
    reference = np.full((16, 16, 3), 100, np.uint8)
    output = reference + np.uint8(10)  # Y moves by 10 * 219 / 255
    mse = (10 * 219 / 255) ** 2
    assert psnr_y(output, reference) == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-9)


def test_rgb_psnr_of_a_known_mse():
    reference = np.full((8, 8, 3), 50, np.uint8)
    output = reference.copy()
    output[:4] += 20  # half the values off by 20: MSE = 200
    assert psnr(output, reference) == pytest.approx(10 * math.log10(255**2 / 200), abs=1e-9)


def test_identical_images_have_infinite_psnr_and_ssim_one():
    image = random_image()
    assert psnr_y(image, image) == math.inf
    assert ssim_y(image, image) == pytest.approx(1.0, abs=1e-12)
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)


def test_shave_leaves_the_border_out():
    reference = random_image(24, 24)
    output = reference.copy()
    output[:3] = 255 - output[:3]  # damage only the top 3 rows
    assert psnr_y(output, reference) < 20
    assert psnr_y(output, reference, shave=3) == math.inf
    assert ssim_y(output, reference, shave=3) == pytest.approx(1.0)


def basicsr_style_ssim(a, b):
    """SSIM as BasicSR's _ssim computes it: cv2.filter2D with an 11x11 window, then 'valid'."""
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(kernel, kernel)

    def blur(x):
        return cv2.filter2D(x, -1, window)[5:-5, 5:-5]

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return ssim_map.mean()


def test_ssim_y_matches_a_basicsr_style_computation():
    reference = random_image(40, 36)
    noisy = np.clip(reference + rng.normal(0, 20, reference.shape), 0, 255).astype(np.uint8)
    expected = basicsr_style_ssim(y_channel(noisy)[2:-2, 2:-2], y_channel(reference)[2:-2, 2:-2])
    assert ssim_y(noisy, reference, shave=2) == pytest.approx(expected, abs=1e-10)
    per_channel = [
        basicsr_style_ssim(noisy[..., c].astype(np.float64), reference[..., c].astype(np.float64))
        for c in range(3)
    ]
    assert ssim(noisy, reference) == pytest.approx(np.mean(per_channel), abs=1e-10)
    assert ssim_y(noisy, reference) < 0.99


def test_mismatched_images_are_refused():
    with pytest.raises(ValueError, match="sizes must match"):
        psnr_y(random_image(16, 16), random_image(16, 20))
    with pytest.raises(ValueError, match="gray and the other colour"):
        psnr_y(random_image(channels=0), random_image())
    with pytest.raises(ValueError, match="uint8"):
        ssim_y(random_image().astype(np.float32), random_image())


def test_colourfulness_of_gray_and_of_two_colours():
    assert colourfulness(np.full((8, 8, 3), 77, np.uint8)) == 0.0
    image = np.zeros((2, 2, 3), np.uint8)
    image[0] = (255, 0, 0)  # rg = 255, yb = 127.5
    image[1] = (0, 0, 255)  # rg = 0,   yb = -255
    spread = math.hypot(np.std([255, 0]), np.std([127.5, -255]))
    mean = math.hypot(127.5, (127.5 - 255) / 2)
    assert colourfulness(image) == pytest.approx(spread + 0.3 * mean)


# ---------------------------------------------------------------- baselines


def test_gray_baseline_is_the_lab_lightness_without_colour():
    photo = random_image(16, 16)
    lab = cv2.cvtColor(photo.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 1:] = 0
    expected = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255
    gray = gray_baseline(photo)
    assert np.abs(gray - expected).max() <= 1.0  # uint8 rounding only
    assert (gray[..., 0] == gray[..., 1]).all() and colourfulness(gray) == 0.0


def test_upscale_bicubic_keeps_flat_images_flat_and_scales_the_size():
    flat = np.full((5, 7, 3), 123, np.uint8)
    np.testing.assert_array_equal(upscale_bicubic(flat, 4), np.full((20, 28, 3), 123, np.uint8))
    assert upscale_bicubic(random_image(6, 5, channels=0), 3).shape == (18, 15)


# ---------------------------------------------------------------- evaluate_pairs


def test_evaluate_pairs_averages_per_image_like_the_papers():
    reference = np.full((16, 16, 3), 100, np.uint8)
    outputs = [reference + np.uint8(2), reference + np.uint8(20)]
    result = evaluate_pairs(outputs, [reference, reference], kind="sr", shave=2)
    per_image = [psnr_y(o, reference, shave=2) for o in outputs]
    assert result["images"] == 2 and result["shave"] == 2
    assert result["psnr_y"] == pytest.approx(np.mean(per_image))  # not the PSNR of the pooled MSE
    assert [row["psnr_y"] for row in result["per_image"]] == per_image

    rgb = evaluate_pairs([gray_baseline(random_image())], [random_image()], kind="rgb")
    assert set(rgb) >= {"psnr", "ssim", "colourfulness", "colourfulness_reference"}
    assert rgb["colourfulness"] == 0.0 and rgb["colourfulness_reference"] > 0


def test_evaluate_pairs_says_which_pair_is_wrong():
    with pytest.raises(UserError, match="image 1: .*sizes must match"):
        evaluate_pairs([random_image(), random_image(16, 16)], [random_image(), random_image()])
    with pytest.raises(UserError, match="differ in number"):
        evaluate_pairs([random_image()], [random_image(), random_image()])


# ---------------------------------------------------------------- the papers' bicubic rows


def read_png(path: Path, as_stored: bool = False) -> np.ndarray:
    image = tf.io.decode_png(tf.io.read_file(str(path)), channels=0 if as_stored else 3).numpy()
    return image[..., 0] if image.shape[-1] == 1 else image


def bicubic_x4(shared_data: Path, name: str, upscale=upscale_bicubic, as_stored=False) -> dict:
    hr_files = sorted((shared_data / name / "image_SRF_4").glob("img_*_SRF_4_HR.png"))
    if not hr_files:
        pytest.skip(f"no {name}/image_SRF_4/img_NNN_SRF_4_HR.png in {shared_data}")
    lrs = [read_png(Path(str(f).replace("_HR.png", "_LR.png")), as_stored) for f in hr_files]
    hrs = [read_png(f, as_stored) for f in hr_files]
    return evaluate_pairs([upscale(lr, 4) for lr in lrs], hrs, kind="sr", shave=4)


def test_bicubic_x4_reproduces_set5_as_published(shared_data):
    result = bicubic_x4(shared_data, "Set5")
    assert result["images"] == 5
    assert result["psnr_y"] == pytest.approx(28.42, abs=0.05)  # measured 28.43
    assert result["ssim_y"] == pytest.approx(0.8104, abs=0.002)  # measured 0.8113


def test_bicubic_x4_reproduces_set14_both_conventions(shared_data):
    basicsr = bicubic_x4(shared_data, "Set14")  # every image read as RGB
    assert basicsr["images"] == 14
    assert basicsr["psnr_y"] == pytest.approx(26.09, abs=0.05)
    assert basicsr["ssim_y"] == pytest.approx(0.7049, abs=0.002)
    # the MATLAB scripts score Set14's gray image as it is stored: the published row
    matlab = bicubic_x4(shared_data, "Set14", as_stored=True)
    assert matlab["psnr_y"] == pytest.approx(26.00, abs=0.05)
    assert matlab["ssim_y"] == pytest.approx(0.7027, abs=0.002)


def test_opencv_inter_cubic_is_not_the_papers_bicubic(shared_data):
    """INTER_CUBIC uses a = -0.75, MATLAB a = -0.5: sharper, and 0.2 dB off the published row."""

    def opencv(lr, scale):
        return cv2.resize(lr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

    result = bicubic_x4(shared_data, "Set5", upscale=opencv)
    assert result["psnr_y"] - 28.42 > 0.15  # measured 28.63


# ---------------------------------------------------------------- FID and KID


def direct_fid(a, b):
    """FID as the original code writes it, with scipy's matrix square root."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(cov_a + cov_b - 2 * covmean)


def test_fid_matches_scipy_sqrtm():
    a = rng.normal(size=(300, 16))
    b = rng.normal(0.3, 1.5, size=(250, 16)) @ rng.normal(size=(16, 16)) * 0.5
    assert fid(a, b) == pytest.approx(direct_fid(a, b), rel=1e-8)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)


def test_fid_with_fewer_samples_than_dimensions_stays_real_and_close_to_scipy():
    """The low-rank route (N < D, as a test split in Inception's 2048-d space) is the same FID."""
    a, b = rng.normal(size=(40, 64)), rng.normal(0.5, 1.0, size=(40, 64))
    assert fid(a, b) == pytest.approx(direct_fid(a, b), rel=1e-4)
    c = rng.normal(0.2, 1.3, size=(25, 64))
    assert fid(a, c) == pytest.approx(direct_fid(a, c), rel=1e-4)
    assert fid(c, a) == pytest.approx(fid(a, c), rel=1e-10)
    assert fid(c, c) == pytest.approx(0.0, abs=1e-8)


def direct_unbiased_mmd2(x, y):
    """Unbiased MMD^2 with the cubic polynomial kernel, written out pair by pair."""
    m, d = x.shape

    def k(u, v):
        return (u @ v / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_on_one_full_subset_is_the_unbiased_mmd():
    a, b = rng.normal(size=(25, 8)), rng.normal(0.4, 1.2, size=(30, 8))
    result = kid(a, b[:25], num_subsets=1, max_subset_size=25)
    assert result.mean == pytest.approx(direct_unbiased_mmd2(a, b[:25]), rel=1e-10)
    assert result.std == 0.0


def test_kid_over_subsets_separates_distributions_and_is_unbiased_for_equal_ones():
    same_a, same_b = rng.normal(size=(400, 8)), rng.normal(size=(300, 8))
    other = rng.normal(0.5, 1.0, size=(300, 8))
    equal = kid(same_a, same_b, num_subsets=20, max_subset_size=100)
    assert abs(equal.mean) < 3 * equal.std + 1e-3  # unbiased: centred on 0, can be negative
    shifted = kid(same_a, other, num_subsets=20, max_subset_size=100)
    assert shifted.mean > 10 * equal.std + abs(equal.mean)
    assert kid(same_a, other, num_subsets=5, seed=1) == kid(same_a, other, num_subsets=5, seed=1)


def test_kid_spread_of_two_equal_sized_sets_is_not_zero():
    """Two sets of 50 (as `evaluate` on a test split): subsets of the whole sets would be the
    same rows reordered and report a spread of exactly 0."""
    a, b = rng.normal(size=(50, 8)), rng.normal(0.3, 1.0, size=(50, 8))
    result = kid(a, b, num_subsets=30)
    assert result.std > 0.05 * abs(result.mean) > 0
    assert kid(a, b, num_subsets=30).mean == pytest.approx(result.mean)


# ---------------------------------------------------------------- Inception features


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras" / "models"


def test_missing_inception_weights_say_where_to_put_them(empty_keras_home):
    with pytest.raises(UserError, match=INCEPTION_WEIGHTS_FILE) as error:
        inception_features([random_image()])
    assert str(empty_keras_home) in str(error.value) and "--inception-weights" in str(error.value)
    with pytest.raises(UserError, match="no such file"):
        inception_features([random_image()], weights=empty_keras_home / "nothing.h5")


def test_inception_weights_come_from_the_keras_cache(empty_keras_home):
    cached = empty_keras_home / INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    assert resolve_inception_weights() == cached
    not_hdf5 = cached.with_name("weights.h5")
    not_hdf5.write_text("<html>404</html>")
    with pytest.raises(UserError, match="not an HDF5 weights file"):
        resolve_inception_weights(not_hdf5)


def test_inception_features_of_two_tiny_images_with_random_weights():
    images = [random_image(32, 32), random_image(48, 40)]  # any sizes: resized to 299
    features = inception_features(images, weights="random")
    assert features.shape == (2, 2048) and features.dtype == np.float64
    assert np.isfinite(features).all() and (features >= 0).all()  # after ReLU + average pool
    alone = inception_features(images[1:], weights="random")
    np.testing.assert_allclose(alone[0], features[1], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_inception_weights_load_from_a_path(tmp_path):
    """A weights file given by path is what gets used (here a saved random model, not ImageNet)."""
    from translate.metrics.distribution import _inception

    images = [random_image(40, 40), random_image(40, 40)]
    expected = inception_features(images, weights="random")
    _inception("random").save(tmp_path / "inception.h5")  # legacy HDF5, as Keras' files are
    loaded = inception_features(images, weights=tmp_path / "inception.h5")
    np.testing.assert_allclose(loaded, expected, rtol=1e-5, atol=1e-6)
