"""The two measures of a plain -> striped translation of the demo shapes (`shapes` testA),
shared by the demo tests and tools/demo_race.py."""

import numpy as np

from translate.data.synthetic import BACKGROUND, STRIPE_PERIOD


def demo_stripes(image):
    """Share of an image's detail at the demo's stripes (STRIPE_PERIOD px along x + y, one way):
    0.32-0.58 for the striped shapes of testB, 0 for the plain ones."""
    grey = image.astype(np.float64).mean(axis=2)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    k = np.fft.fftfreq(grey.shape[0]) * grey.shape[0]
    u, v = np.meshgrid(k, k, indexing="ij")
    f = grey.shape[0] / STRIPE_PERIOD
    band = (abs(abs(u) - f) <= 1.5) & (abs(abs(v) - f) <= 1.5)
    return power[band & (u * v > 0)].sum() / power.sum()


def shape_colour_agreement(output, plain):
    """Cosine of the two chromas (RGB minus its grey) of the plain shape and of the output over
    the shape's pixels: 1 when the output keeps the shape's hue where the shape is."""
    shape = np.abs(plain.astype(int) - BACKGROUND).sum(axis=2) > 30
    a, b = plain[shape].mean(axis=0), output[shape].mean(axis=0)
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def score_translations(plain_dir, out_dir) -> dict:
    """Mean stripes and colour agreement of out_dir's images against the plain ones they came
    from (same file names)."""
    from pathlib import Path

    from translate.data.imageio import read_image

    pairs = [(read_image(p), read_image(Path(out_dir) / p.name))
             for p in sorted(Path(plain_dir).glob("*.png"))]
    return {"count": len(pairs),
            "colour": float(np.mean([shape_colour_agreement(out, plain) for plain, out in pairs])),
            "stripes": float(np.mean([demo_stripes(out) for _, out in pairs])),
            "input_stripes": float(max(demo_stripes(plain) for plain, _ in pairs))}
