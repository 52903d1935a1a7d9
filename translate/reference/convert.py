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

from collections.abc import Mapping

import keras
import numpy as np

from translate.errors import UserError

REFERENCE_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
REFERENCE_DISCRIMINATORS = ("basic", "n_layers", "pixel")
REFERENCE_NETWORKS = REFERENCE_GENERATORS + REFERENCE_DISCRIMINATORS

# Tensors a reference checkpoint may hold that carry nothing we use: batch norm's step count,
# and the running statistics that PyTorch < 0.4 saved for instance norm (the published models).
IGNORED_SUFFIXES = (".num_batches_tracked",)
LEGACY_INSTANCE_NORM = (".running_mean", ".running_var")

_KERAS_TO_TORCH = (3, 2, 0, 1)
_TORCH_TO_KERAS = (2, 3, 1, 0)


def reference_layout(
    name: str, norm: str = "instance", dropout: bool = False, n_layers: int = 3
) -> list[tuple[str, str]]:
    """(tensor-name prefix, "conv" | "convT" | "bn") for each layer with weights, in order.

    norm decides whether batch-norm entries exist; dropout shifts the second conv of each
    residual block (a Dropout module sits before it); n_layers is the n_layers discriminator's.
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
        conv_norm("model.", 4)
        conv_norm("model.", 7)
        second = 6 if dropout else 5
        for b in range(n_blocks):
            conv_norm(f"model.{10 + b}.conv_block.", 1)
            conv_norm(f"model.{10 + b}.conv_block.", second)
        conv_norm("model.", 10 + n_blocks, "convT")
        conv_norm("model.", 13 + n_blocks, "convT")
        layers.append((f"model.{17 + n_blocks}", "conv"))
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
        for n in range(1, depth + 1):
            conv_norm("model.", 2 + 3 * (n - 1))
        layers.append((f"model.{2 + 3 * depth}", "conv"))
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
    """The network's conv, transposed-conv and batch-norm layers, in the functional order."""
    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.BatchNormalization)
    return [layer for layer in network.layers if isinstance(layer, kinds)]


def _kind(layer) -> str:
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return "convT"
    return "bn" if isinstance(layer, keras.layers.BatchNormalization) else "conv"


def _pairs(network, name, norm, dropout, n_layers):
    layout = reference_layout(name, norm, dropout, n_layers)
    layers = weighted_layers(network)
    kinds = [_kind(layer) for layer in layers]
    if [k for _, k in layout] != kinds:
        raise UserError(
            f"network {network.name} does not have the layers of the reference's {name} with "
            f"norm {norm}: build it with the same netG/netD and norm"
        )
    return list(zip((prefix for prefix, _ in layout), layers, strict=True))


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
    n_layers: int = 3,
) -> dict[str, np.ndarray]:
    """Our network's weights as the reference's state dict (numpy arrays, its names and axes),
    ready for `torch.save({k: torch.from_numpy(v) ...})` and the reference's load_state_dict."""
    out: dict[str, np.ndarray] = {}
    for prefix, layer in _pairs(network, name, norm, dropout, n_layers):
        for key, variable in _tensors(prefix, layer).items():
            value = np.asarray(keras.ops.convert_to_numpy(variable))
            out[key] = value.transpose(_KERAS_TO_TORCH) if value.ndim == 4 else value
        if isinstance(layer, keras.layers.BatchNormalization):
            out[f"{prefix}.num_batches_tracked"] = np.array(0, np.int64)
    return out


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
    dropout: bool = False, n_layers: int = 3, source: str = "checkpoint",
) -> None:
    """Set our network's weights from a reference state dict ({name: array or torch tensor}).

    Every tensor must fit: a missing, extra or wrongly shaped one is a UserError naming it.
    """
    state = strip_wrappers(state)
    expected: dict[str, keras.Variable] = {}
    for prefix, layer in _pairs(network, name, norm, dropout, n_layers):
        expected.update(_tensors(prefix, layer))
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
        if tuple(value.shape) != want:
            raise UserError(
                f"{source}: tensor {key} has shape {tuple(value.shape)}, the {arch} built here "
                f"needs {want}; check --netG/--netD, --ngf/--ndf and --input_nc/--output_nc"
            )
        value = value.transpose(_TORCH_TO_KERAS) if value.ndim == 4 else value
        variable.assign(value.astype(variable.dtype))


def resnet_dropout(state: Mapping[str, object]) -> bool:
    """Whether a ResNet generator's checkpoint was trained with dropout: its Dropout module moves
    the second conv of each residual block from index 5 to 6 (`--no_dropout` is not saved)."""
    return len(_shape(strip_wrappers(state).get("model.10.conv_block.6.weight"))) == 4


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _shape(value) -> tuple:
    return tuple(getattr(value, "shape", ()))
