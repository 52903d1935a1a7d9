"""Weights of the PyTorch reference's networks <-> ours, tensor for tensor, both ways.

The reference (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) names every tensor by
its place in nested nn.Sequential lists: `model.10.conv_block.1.weight` is the first conv of
the first residual block of a ResNet generator. `reference_layout` writes those names down for
each architecture; our networks list the same layers in the same order (Keras's topological
order of a functional model), so the two line up one to one.

    state = state_dict(generator, "resnet_9blocks", norm="instance")   # ours -> the reference's
    load_state_dict(generator, state, "resnet_9blocks", norm="instance")  # and back

Layouts: conv kernels are [out, in, kh, kw] there and [kh, kw, in, out] here; transposed convs
[in, out, kh, kw] there and [kh, kw, out, in] here: both are the axes (3, 2, 0, 1) of ours.
Batch norm: weight, bias, running_mean, running_var = gamma, beta, moving mean, moving variance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import keras
import numpy as np

from translate.errors import UserError

REFERENCE_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
REFERENCE_DISCRIMINATORS = ("basic", "n_layers", "pixel")
REFERENCE_NETWORKS = REFERENCE_GENERATORS + REFERENCE_DISCRIMINATORS
PATCH_SAMPLER = "patch_sample_mlp"  # CUT's F, netF mlp_sample

# Tensors a reference checkpoint may hold that carry nothing we use: batch norm's step count,
# and the running statistics that PyTorch < 0.4 saved for instance norm (the published models).
IGNORED_SUFFIXES = (".num_batches_tracked",)
LEGACY_INSTANCE_NORM = (".running_mean", ".running_var")

_KERAS_TO_TORCH = (3, 2, 0, 1)
_TORCH_TO_KERAS = (2, 3, 1, 0)


def reference_layout(
    name: str, norm: str = "instance", dropout: bool = False, n_layers: int = 3,
    antialias: bool = False, antialias_up: bool = False, n_heads: int = 5,
) -> list[tuple[str, str]]:
    """(tensor-name prefix, "conv" | "convT" | "bn" | "linear" | "blur") for each layer with
    weights, in order; "blur" is the CUT reference's fixed filter buffer of a blur-pool or blur
    upsampling module (no weights of ours: written out, never read in).

    norm decides whether batch-norm entries exist; dropout shifts the second conv of each
    residual block (a Dropout module sits before it); n_layers is the n_layers discriminator's;
    antialias / antialias_up are the CUT reference's blurred down- and upsampling, which add a
    module per stride-2 step; n_heads is the number of MLPs of CUT's F (`mlp_sample`).
    """
    batch = norm in ("batch", "sync_batch")
    layers: list[tuple[str, str]] = []

    def conv_norm(prefix: str, index: int, kind: str = "conv") -> None:
        layers.append((f"{prefix}{index}", kind))
        if batch:
            layers.append((f"{prefix}{index + 1}", "bn"))

    if name.startswith("resnet_"):
        n_blocks = {"resnet_9blocks": 9, "resnet_6blocks": 6}[name]
        conv_norm("model.", 1)  # 0 is the reflection pad
        index = 4
        for _ in range(2):  # conv, norm, ReLU[, blur-pool]
            conv_norm("model.", index)
            if antialias:
                layers.append((f"model.{index + 3}", "blur"))
            index += 4 if antialias else 3
        second = 6 if dropout else 5
        for b in range(n_blocks):
            conv_norm(f"model.{index + b}.conv_block.", 1)
            conv_norm(f"model.{index + b}.conv_block.", second)
        index += n_blocks
        for _ in range(2):  # [blur upsampling,] conv or convT, norm, ReLU
            if antialias_up:
                layers.append((f"model.{index}", "blur"))
                conv_norm("model.", index + 1)
            else:
                conv_norm("model.", index, "convT")
            index += 4 if antialias_up else 3
        layers.append((f"model.{index + 1}", "conv"))  # after the reflection pad
    elif name.startswith("unet_"):
        # Outermost block: [down, inner block, relu, up, tanh]; each middle block: [relu, down,
        # norm, inner block, relu, up, norm, (dropout)]; innermost: [relu, down, relu, up, norm].
        num_downs = {"unet_256": 8, "unet_128": 7}[name]
        middle = ["model.model.1.model." + "3.model." * i for i in range(num_downs - 2)]
        innermost = "model.model.1.model." + "3.model." * (num_downs - 2)
        layers.append(("model.model.0", "conv"))
        for prefix in middle:
            conv_norm(prefix, 1)
        layers.append((f"{innermost}1", "conv"))
        conv_norm(innermost, 3, "convT")
        for prefix in reversed(middle):
            conv_norm(prefix, 5, "convT")
        layers.append(("model.model.3", "convT"))
    elif name in ("basic", "n_layers"):
        depth = 3 if name == "basic" else n_layers
        layers.append(("model.0", "conv"))
        index = 2  # after the first conv's LeakyReLU
        if antialias:
            layers.append(("model.2", "blur"))
            index = 3
        for n in range(1, depth + 1):  # conv, norm, LeakyReLU[, blur-pool (not the last)]
            conv_norm("model.", index)
            if antialias and n < depth:
                layers.append((f"model.{index + 3}", "blur"))
                index += 1
            index += 3
        layers.append((f"model.{index}", "conv"))
    elif name == PATCH_SAMPLER:
        for i in range(n_heads):
            layers += [(f"mlp_{i}.0", "linear"), (f"mlp_{i}.2", "linear")]
    elif name == "pixel":
        layers.append(("net.0", "conv"))
        conv_norm("net.", 2)
        layers.append(("net.5", "conv"))
    else:
        raise UserError(
            f"{name!r} is not a reference architecture; choose one of {', '.join(REFERENCE_NETWORKS)}"
        )
    return layers


def weighted_layers(network: keras.Model) -> list[keras.layers.Layer]:
    """The network's conv, transposed-conv, batch-norm and dense layers, in the functional
    order (a multi-input F: by name, mlp_0_0, mlp_0_2, mlp_1_0, ...)."""
    kinds = (
        keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.BatchNormalization,
        keras.layers.Dense,
    )
    layers = [layer for layer in network.layers if isinstance(layer, kinds)]
    if layers and all(isinstance(layer, keras.layers.Dense) for layer in layers):
        layers.sort(key=lambda layer: [int(p) for p in layer.name.split("_")[1:]])
    return layers


def _kind(layer) -> str:
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return "convT"
    if isinstance(layer, keras.layers.Dense):
        return "linear"
    return "bn" if isinstance(layer, keras.layers.BatchNormalization) else "conv"


def _pairs(network, name, norm, dropout, n_layers, antialias=False, antialias_up=False):
    """(prefix, our layer) per weighted layer, and (prefix, channels) per blur buffer."""
    n_heads = len(network.inputs) if name == PATCH_SAMPLER else 5
    layout = reference_layout(name, norm, dropout, n_layers, antialias, antialias_up, n_heads)
    layers = weighted_layers(network)
    weighted = [(prefix, kind) for prefix, kind in layout if kind != "blur"]
    if [k for _, k in weighted] != [_kind(layer) for layer in layers]:
        raise UserError(
            f"network {network.name} does not have the layers of the reference's {name} with "
            f"norm {norm}: build it with the same netG/netD, norm and anti-aliasing"
        )
    return list(zip((prefix for prefix, _ in weighted), layers, strict=True)), layout


def blur_filter(prefix: str, channels: int, up: bool) -> np.ndarray:
    """The CUT reference's fixed filter buffer: binomial [1, 2, 1] (blur-pool) or [1, 3, 3, 1]
    x 4 (upsampling), normalised, one copy per channel: [channels, 1, k, k]."""
    taps = np.array([1.0, 3.0, 3.0, 1.0] if up else [1.0, 2.0, 1.0])
    filt = np.outer(taps, taps)
    filt = filt / filt.sum() * (4.0 if up else 1.0)
    return np.tile(filt[None, None].astype(np.float32), (channels, 1, 1, 1))


def _tensors(prefix: str, layer) -> dict[str, keras.Variable]:
    """The reference's tensor names of one of our layers, each with our variable."""
    if isinstance(layer, keras.layers.BatchNormalization):
        return {
            f"{prefix}.weight": layer.gamma, f"{prefix}.bias": layer.beta,
            f"{prefix}.running_mean": layer.moving_mean,
            f"{prefix}.running_var": layer.moving_variance,
        }
    tensors = {f"{prefix}.weight": layer.kernel}
    if layer.use_bias:
        tensors[f"{prefix}.bias"] = layer.bias
    return tensors


def state_dict(
    network: keras.Model, name: str, norm: str = "instance", dropout: bool = False,
    n_layers: int = 3, antialias: bool = False, antialias_up: bool = False,
) -> dict[str, np.ndarray]:
    """Our network's weights as the reference's state dict (numpy arrays, its names and axes),
    ready for `torch.save({k: torch.from_numpy(v) ...})` and the reference's load_state_dict."""
    pairs, layout = _pairs(network, name, norm, dropout, n_layers, antialias, antialias_up)
    layers = dict(pairs)
    out: dict[str, np.ndarray] = {}
    channels = 0  # of the latest conv: what a blur module that follows it filters
    for prefix, kind in layout:
        if kind == "blur":
            out[f"{prefix}.filt"] = blur_filter(prefix, channels, up=_is_up(layout, prefix))
            continue
        layer = layers[prefix]
        for key, variable in _tensors(prefix, layer).items():
            out[key] = _to_torch(np.asarray(keras.ops.convert_to_numpy(variable)))
        if isinstance(layer, keras.layers.BatchNormalization):
            out[f"{prefix}.num_batches_tracked"] = np.array(0, np.int64)
        elif hasattr(layer, "filters"):
            channels = layer.filters
    return out


def _is_up(layout, prefix: str) -> bool:
    """A blur entry of a generator after its residual blocks is an upsampling one."""
    names = [p for p, _ in layout]
    return any(".conv_block." in p for p in names[: names.index(prefix)])


def _to_torch(value: np.ndarray) -> np.ndarray:
    """Our axes -> the reference's: conv kernels (3, 2, 0, 1), dense kernels transposed."""
    if value.ndim == 4:
        return value.transpose(_KERAS_TO_TORCH)
    return value.T if value.ndim == 2 else value


def strip_wrappers(state: Mapping[str, object]) -> dict[str, object]:
    """The tensors of a checkpoint without DataParallel's `module.` prefix and the entries that
    carry nothing (IGNORED_SUFFIXES)."""
    out = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if not key.endswith(IGNORED_SUFFIXES):
            out[key] = value
    return out


def load_state_dict(
    network: keras.Model, state: Mapping[str, object], name: str, norm: str = "instance",
    dropout: bool = False, n_layers: int = 3, antialias: bool = False,
    antialias_up: bool = False, source: str = "checkpoint",
) -> None:
    """Set our network's weights from a reference state dict ({name: array or torch tensor}).

    Every tensor must fit: a missing, extra or wrongly shaped one is a UserError naming it.
    """
    state = strip_wrappers(state)
    expected: dict[str, keras.Variable] = {}
    pairs, layout = _pairs(network, name, norm, dropout, n_layers, antialias, antialias_up)
    for prefix, layer in pairs:
        expected.update(_tensors(prefix, layer))
    # The blur modules' fixed filters: constants of ours, nothing to read.
    state = {k: v for k, v in state.items() if k not in {f"{p}.filt" for p, k2 in layout if k2 == "blur"}}
    legacy = {
        k for k in state if k.endswith(LEGACY_INSTANCE_NORM) and k not in expected
        and f"{k.rsplit('.', 1)[0]}.weight" not in state
    }
    arch = f"{name} (norm {norm})"
    for key in sorted(set(state) - set(expected) - legacy):
        raise UserError(
            f"{source}: tensor {key} {_shape(state[key])} is not part of the reference's {arch}; "
            "check --netG/--netD, --norm and --ngf/--ndf"
        )
    for key, variable in expected.items():
        if key not in state:
            raise UserError(
                f"{source}: no tensor {key}, which the reference's {arch} has; check --netG/--netD "
                "and --norm"
            )
        value = _numpy(state[key])
        want = tuple(variable.shape)
        if value.ndim == 4:
            want = tuple(want[i] for i in _KERAS_TO_TORCH)
        elif value.ndim == 2:
            want = want[::-1]
        if tuple(value.shape) != want:
            raise UserError(
                f"{source}: tensor {key} has shape {tuple(value.shape)}, the {arch} built here "
                f"needs {want}; check --netG/--netD, --ngf/--ndf and --input_nc/--output_nc"
            )
        if value.ndim == 4:
            value = value.transpose(_TORCH_TO_KERAS)
        elif value.ndim == 2:
            value = value.T
        variable.assign(value.astype(variable.dtype))


def resnet_dropout(state: Mapping[str, object]) -> bool:
    """Whether a ResNet generator's checkpoint was trained with dropout: its Dropout module moves
    the second conv of each residual block from index 5 to 6 (`--no_dropout` is not saved)."""
    return any(
        re.fullmatch(r"model\.\d+\.conv_block\.6\.weight", key) and len(_shape(value)) == 4
        for key, value in strip_wrappers(state).items()
    )


def blur_modules(state: Mapping[str, object]) -> tuple[bool, bool]:
    """Whether a CUT reference network was built with blurred downsampling and with blurred
    upsampling (its defaults, unless --no_antialias / --no_antialias_up): the blur modules
    leave `.filt` buffers in the checkpoint, 3x3 for a blur-pool and 4x4 for upsampling."""
    sizes = {_shape(v)[-1] for k, v in strip_wrappers(state).items() if k.endswith(".filt")}
    return 3 in sizes, 4 in sizes


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _shape(value) -> tuple:
    return tuple(getattr(value, "shape", ()))
