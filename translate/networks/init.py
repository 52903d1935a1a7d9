"""Weight initialisation by name, as the reference's init_weights (normal/xavier/kaiming/orthogonal)."""

from __future__ import annotations

import keras

INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def kernel_initializer(init_type: str = "normal", gain: float = 0.02) -> keras.initializers.Initializer:
    """Conv kernels: N(0, gain) by default; PyTorch's xavier/kaiming are untruncated normals."""
    if init_type == "normal":
        return keras.initializers.RandomNormal(0.0, gain)
    if init_type == "xavier":
        return keras.initializers.VarianceScaling(gain**2, "fan_avg", "untruncated_normal")
    if init_type == "kaiming":
        return keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal")
    if init_type == "orthogonal":
        return keras.initializers.Orthogonal(gain)
    raise ValueError(f"unknown init_type {init_type!r}; choose one of {', '.join(INIT_TYPES)}")
