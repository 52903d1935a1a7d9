"""Every architecture of the reference behind two factories, chosen by name.

    build_generator("resnet_9blocks", input_channels=3, output_channels=3, norm="instance")
    build_discriminator("basic", input_channels=6, norm="batch")

A new architecture is one builder function plus one entry in GENERATORS or DISCRIMINATORS.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from translate.layers import NORMS
from translate.networks.discriminators import nlayer_discriminator, pixel_discriminator
from translate.networks.generators import resnet_generator, unet_generator
from translate.networks.init import kernel_initializer
from translate.networks.superres import edsr_generator, srresnet_generator

# name -> (builder(input_channels, output_channels, ngf, norm_kind, dropout, init, **kw), multiple)
GENERATORS: dict[str, tuple[Callable[..., keras.Model], int]] = {
    "resnet_9blocks": (lambda ci, co, **kw: resnet_generator(ci, co, n_blocks=9, **kw), 4),
    "resnet_6blocks": (lambda ci, co, **kw: resnet_generator(ci, co, n_blocks=6, **kw), 4),
    "unet_256": (lambda ci, co, **kw: unet_generator(ci, co, num_downs=8, **kw), 256),
    "unet_128": (lambda ci, co, **kw: unet_generator(ci, co, num_downs=7, **kw), 128),
    "edsr": (edsr_generator, 1),
    "edsr_8blocks": (lambda ci, co, **kw: edsr_generator(ci, co, n_blocks=8, **kw), 1),
    "srresnet": (srresnet_generator, 1),
}

# Generators whose output is `scale` x their input (build_generator passes scale to them only).
SR_GENERATORS = ("edsr", "edsr_8blocks", "srresnet")

DISCRIMINATORS: dict[str, Callable[..., keras.Model]] = {
    "basic": lambda ci, n_layers=3, **kw: nlayer_discriminator(ci, n_layers=3, **kw),
    "n_layers": lambda ci, n_layers=3, **kw: nlayer_discriminator(ci, n_layers=n_layers, **kw),
    "pixel": lambda ci, n_layers=3, antialias=False, **kw: pixel_discriminator(ci, **kw),
}


def _check(kind: str, name: str, known) -> None:
    if name not in known:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(sorted(known))}")


def generator_size_multiple(name: str) -> int:
    """Height and width of a generator's input must be multiples of this."""
    _check("generator", name, GENERATORS)
    return GENERATORS[name][1]


def check_image_size(name: str, height: int, width: int) -> None:
    """Raise a clear error when (height, width) does not fit generator `name`."""
    m = generator_size_multiple(name)
    if height % m or width % m:
        raise ValueError(
            f"generator {name} needs height and width that are multiples of {m} "
            f"(got {height}x{width}); resize or crop to e.g. {max(m, height // m * m)}"
        )


def build_generator(
    name: str,
    input_channels: int = 3,
    output_channels: int = 3,
    norm: str = "instance",
    ngf: int = 64,
    dropout: bool = False,
    init_type: str = "normal",
    init_gain: float = 0.02,
    image_size: int | tuple[int, int] | None = None,
    scale: int | None = None,
    **kwargs,
) -> keras.Model:
    """A generator by name (see GENERATORS), mapping [-1, 1] images to [-1, 1] images.

    scale: output size / input size, for SR_GENERATORS (default 4); others only take 1.
    """
    _check("generator", name, GENERATORS)
    if name in SR_GENERATORS:
        kwargs["scale"] = 4 if scale is None else scale
    elif scale not in (None, 1):
        raise ValueError(f"generator {name} does not upscale (scale={scale}); use edsr or srresnet")
    _check("norm", norm, NORMS)
    if image_size is not None:
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        check_image_size(name, h, w)
    builder, _ = GENERATORS[name]
    return builder(
        input_channels, output_channels, ngf=ngf, norm_kind=norm, dropout=dropout,
        init=kernel_initializer(init_type, init_gain), name=name, **kwargs,
    )


def build_discriminator(
    name: str,
    input_channels: int = 3,
    norm: str = "instance",
    ndf: int = 64,
    n_layers: int = 3,
    init_type: str = "normal",
    init_gain: float = 0.02,
    antialias: bool = False,
) -> keras.Model:
    """A discriminator by name (see DISCRIMINATORS), returning a map of real/fake logits.

    antialias: blur-pooled downsampling (the CUT reference's default) in a PatchGAN."""
    _check("discriminator", name, DISCRIMINATORS)
    _check("norm", norm, NORMS)
    return DISCRIMINATORS[name](
        input_channels, n_layers=n_layers, ndf=ndf, norm_kind=norm,
        init=kernel_initializer(init_type, init_gain), antialias=antialias, name=f"D_{name}",
    )


__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "SR_GENERATORS",
    "build_discriminator",
    "build_generator",
    "check_image_size",
    "generator_size_multiple",
]
