"""CUT and FastCUT (Park, Efros, Zhang, Zhu, ECCV 2020): one generator, one discriminator, and a
patchwise contrastive loss (PatchNCE) between the input's and the output's encoder features in
place of CycleGAN's second generator, second discriminator and cycle.

Faithful to the reference's cut_model.py defaults: PatchNCE on the generator's layers
0,4,8,12,16 (indices of its nn.Sequential), 256 patches per layer, an MLP head F of 256 units,
temperature 0.07, negatives from the same image; CUT adds the identity term NCE(G(Y), Y),
FastCUT instead weighs NCE 10x and trains with flip-equivariance. lsgan, no image pool,
anti-aliased down- and up-sampling in G and D, xavier init.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from translate.layers import float_dtype
from translate.losses import patch_nce
from translate.models.base import GANModel, average
from translate.models.options import ModelOptions
from translate.networks import build_discriminator, build_generator
from translate.networks.init import kernel_initializer
from translate.networks.patch_sampler import F_KINDS, patch_sample_mlp

MODES = ("cut", "fastcut")
# What the mode sets when the option itself is left unset (the reference's set_defaults).
MODE_DEFAULTS = {
    "cut": {"nce_idt": True, "lambda_NCE": 1.0, "flip_equivariance": False},
    "fastcut": {"nce_idt": False, "lambda_NCE": 10.0, "flip_equivariance": True},
}


@dataclass
class CUTOptions(ModelOptions):
    """The reference's cut_model.py and base_options.py defaults (CUT mode)."""

    kind: str = "cut"
    mode: str = "cut"  # cut | fastcut: the defaults of nce_idt, lambda_NCE, flip_equivariance
    init_type: str = "xavier"
    pool_size: int = 0  # no image pool
    lambda_GAN: float = 1.0  # noqa: N815
    lambda_NCE: float | None = None  # noqa: N815  1 (cut), 10 (fastcut)
    nce_idt: bool | None = None  # NCE(G(Y), Y) as well: True (cut), False (fastcut)
    flip_equivariance: bool | None = None  # False (cut), True (fastcut)
    nce_layers: str = "0,4,8,12,16"  # indices of the reference G's nn.Sequential
    nce_includes_all_negatives_from_minibatch: bool = False
    netF: str = "mlp_sample"  # noqa: N815
    netF_nc: int = 256  # noqa: N815
    nce_T: float = 0.07  # noqa: N815
    num_patches: int = 256
    antialias: bool = True  # blur-pooled downsampling in G and D (reference: not --no_antialias)
    antialias_up: bool = True  # blur upsampling + conv in G (reference: not --no_antialias_up)

    def __post_init__(self):
        mode = str(self.mode).lower()
        for key, value in MODE_DEFAULTS.get(mode, {}).items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    def layer_indices(self) -> list[int]:
        return [int(i) for i in str(self.nce_layers).split(",") if i.strip()]

    def choices(self):
        return {
            **super().choices(), "mode": (str(self.mode).lower(), MODES),
            "netF": (self.netF, F_KINDS),
        }

    def ranges(self):
        return {
            **super().ranges(),
            "lambda_GAN": (self.lambda_GAN, 0.0, None),
            "lambda_NCE": (self.lambda_NCE, 0.0, None),
            "netF_nc": (self.netF_nc, 1, None),
            "nce_T": (self.nce_T, 0.0, None, False),
            "num_patches": (self.num_patches, 1, None),
        }

    def check(self):
        if not self.netG.startswith("resnet_"):
            return f"model.netG={self.netG}: CUT reads its PatchNCE features from a ResNet generator; use resnet_9blocks or resnet_6blocks"
        try:
            layers = self.layer_indices()
        except ValueError:
            return f"model.nce_layers={self.nce_layers!r} must be comma-separated layer indices, e.g. 0,4,8,12,16"
        n_blocks = int(self.netG.split("_")[1].removesuffix("blocks"))
        last = reference_sequence_length(n_blocks, self.antialias, self.antialias_up) - 1
        if not layers or min(layers) < 0 or max(layers) > last:
            return f"model.nce_layers={self.nce_layers!r}: indices must be in 0..{last} for {self.netG}"
        if self.nce_idt and self.input_channels != self.output_channels:
            return "model.nce_idt needs as many input as output channels; set model.nce_idt=false"
        return None


def reference_sequence_length(n_blocks: int, antialias: bool, antialias_up: bool) -> int:
    """Modules in the reference ResNet generator's nn.Sequential (what nce_layers index)."""
    return 4 + 2 * (4 if antialias else 3) + n_blocks + 2 * (4 if antialias_up else 3) + 3


class CUT(GANModel):
    """G: A -> B, D judges domain B, F projects G's encoder features for PatchNCE.

    Names follow the reference's cut_model.py, so do the reported losses. call() is G.
    """

    kind = "cut"
    Options = CUTOptions
    directions = ("AtoB",)
    paired = False

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        super().__init__(model_config, train_config, steps_per_epoch, **kwargs)
        m = model_config
        self.nce_layers = m.layer_indices()
        taps: list = []
        self.G = build_generator(  # noqa: N815
            m.netG, m.input_channels, m.output_channels, norm=m.norm, ngf=m.ngf,
            dropout=m.dropout, init_type=m.init_type, init_gain=m.init_gain,
            antialias=m.antialias, antialias_up=m.antialias_up, taps=taps,
        )
        # G up to its last NCE layer, sharing G's layers: the reference's encode_only pass.
        self.G_encoder = keras.Model(  # noqa: N815
            self.G.input, [taps[i] for i in self.nce_layers], name="G_encoder"
        )
        self.D = build_discriminator(  # noqa: N815
            m.netD, m.output_channels, norm=m.norm, ndf=m.ndf, n_layers=m.n_layers_D,
            init_type=m.init_type, init_gain=m.init_gain, antialias=m.antialias,
        )
        self.F = patch_sample_mlp(  # noqa: N815
            [int(t.shape[-1]) for t in self.G_encoder.outputs], units=m.netF_nc,
            use_mlp=m.netF == "mlp_sample", init=kernel_initializer(m.init_type, m.init_gain),
        )
        self.built = True

    @classmethod
    def losses_for(cls, model_config):
        names = ("G_GAN", "D_real", "D_fake", "G", "NCE")
        return names + ("NCE_Y",) if model_config.nce_idt else names

    def call(self, inputs, training=False):
        return self.G(inputs, training=training)

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        if direction != "AtoB":
            raise ValueError("a CUT model translates A to B only (direction AtoB)")
        return self.G

    def networks(self):
        return {"G": self.G, "D": self.D, "F": self.F}

    def optimized_variables(self):
        """G, D, and F when it has weights (the reference's optimizer_F, same lr schedule)."""
        out = {"G": self.G.trainable_variables, "D": self.D.trainable_variables}
        if self.F.trainable_variables and self.model_config.lambda_NCE > 0:
            out["F"] = self.F.trainable_variables
        return out

    def sample_rows(self, batch, task):
        """real A | G(A) | real B | G(B) (the identity NCE's input and output)."""
        a, b = batch
        fake_b, idt_b = self.G(a, training=False), self.G(b, training=False)
        photos = [task.from_model(x) for x in (a, fake_b, b, idt_b)]
        rows = [[p[i] for p in photos] for i in range(len(a))]
        return rows, [["real A", "A->B", "real B", "B->B"]] * len(rows)

    # -- the algorithm -----------------------------------------------------------------------
    def sample_patches(self, feats, patch_ids=None, salt: int = 0):
        """Each layer's features at the same patch positions for every image of the batch:
        [batch * patches, C] per layer, and the positions (drawn afresh unless given)."""
        m = self.model_config
        samples, ids = [], []
        for i, feat in enumerate(feats):
            shape = tf.shape(feat)
            flat = tf.reshape(feat, [shape[0], shape[1] * shape[2], shape[3]])
            if patch_ids is None:
                positions = shape[1] * shape[2]
                order = tf.argsort(tf.random.stateless_uniform(
                    [positions], self.draw_seed(100 + 10 * salt + i)))
                layer_ids = order[: tf.minimum(m.num_patches, positions)]
            else:
                layer_ids = patch_ids[i]
            ids.append(layer_ids)
            picked = tf.gather(flat, layer_ids, axis=1)
            samples.append(tf.reshape(picked, [-1, feat.shape[-1]]))
        return samples, ids

    def nce_loss(self, source, target, flipped, patch_ids=None, salt: int = 0):
        """Per-example PatchNCE between G's encoder features of `source` (keys) and of
        `target` = G(source) (queries), averaged over the NCE layers, times lambda_NCE."""
        m = self.model_config
        feat_q = as_list(self.G_encoder(target, training=True))
        if m.flip_equivariance:  # target was made from the flipped source: flip back
            feat_q = [tf.cond(flipped, lambda f=f: tf.reverse(f, [2]), lambda f=f: f) for f in feat_q]
        feat_k = as_list(self.G_encoder(source, training=True))
        k_samples, ids = self.sample_patches(feat_k, patch_ids, salt)
        q_samples, _ = self.sample_patches(feat_q, ids)
        k_proj = as_list(self.F(k_samples, training=True))
        q_proj = as_list(self.F(q_samples, training=True))
        batch = tf.shape(source)[0]
        total = 0.0
        for q, k in zip(q_proj, k_proj, strict=True):
            loss = patch_nce(
                tf.cast(q, float_dtype()), tf.cast(k, float_dtype()), batch, m.nce_T,
                m.nce_includes_all_negatives_from_minibatch,
            )
            total += loss * m.lambda_NCE
        return total / len(self.nce_layers)

    def update_discriminator(self, fake_b, real_b):
        """D on real B and on G's output (no pool): (fake -> fake + real -> real) * 0.5."""
        with tf.GradientTape() as tape:
            loss_fake = self.gan_loss(self.D(fake_b, training=True), False)
            loss_real = self.gan_loss(self.D(real_b, training=True), True)
            loss = 0.5 * (loss_fake + loss_real)
            scaled = self.optimizers["D"].scale_loss(average(loss))
        self.minimize("D", tape, scaled)
        return {"D_fake": tf.reduce_mean(loss_fake), "D_real": tf.reduce_mean(loss_real)}

    def optimize_parameters(self, data, patch_ids=None, flipped=None):
        """The reference's optimize_parameters: G's forward pass, D's update, then G's and F's
        update on the GAN and NCE losses with D as just updated.

        patch_ids (per NCE call, per layer) and flipped may be given, for tests that replay
        the reference's random draws; otherwise they are drawn from the step's seed.
        """
        m = self.model_config
        real_a = tf.cast(data[0], float_dtype())
        real_b = tf.cast(data[1], float_dtype())
        n = tf.shape(real_a)[0]
        real = tf.concat([real_a, real_b], axis=0) if m.nce_idt else real_a
        if flipped is None:
            flipped = tf.random.stateless_uniform([], self.draw_seed(1)) < 0.5
        flipped = tf.logical_and(bool(m.flip_equivariance), tf.convert_to_tensor(flipped))
        if m.flip_equivariance:
            real = tf.cond(flipped, lambda: tf.reverse(real, [2]), lambda: real)
        ids = patch_ids or (None, None)
        # Persistent: G's and F's optimizers each take the gradient of their own scaled loss
        # (a float16 loss scale is per optimizer); F's backward pass is F alone.
        with tf.GradientTape(persistent=True) as tape:
            fake = tf.cast(self.G(real, training=True), float_dtype())
            fake_b = fake[:n]
            with tape.stop_recording():
                losses = self.update_discriminator(tf.stop_gradient(fake_b), real_b)
            zero = tf.zeros_like(real_a[:, 0, 0, 0])
            gan = zero
            if m.lambda_GAN > 0:
                gan = self.gan_loss(
                    self.D(fake_b, training=True), True, for_discriminator=False
                ) * m.lambda_GAN
            nce = nce_y = zero
            if m.lambda_NCE > 0:
                nce = self.nce_loss(real_a, fake_b, flipped, ids[0], salt=0)
                if m.nce_idt:
                    nce_y = self.nce_loss(real_b, fake[n:], flipped, ids[1], salt=1)
            both = (nce + nce_y) * 0.5 if m.nce_idt and m.lambda_NCE > 0 else nce
            loss_g = gan + both
            trained = [name for name in ("G", "F") if name in self.optimizers]
            scaled = {name: self.optimizers[name].scale_loss(average(loss_g)) for name in trained}
        for name in trained:
            self.minimize(name, tape, scaled[name])
        del tape
        losses.update(G_GAN=tf.reduce_mean(gan), G=tf.reduce_mean(loss_g), NCE=tf.reduce_mean(nce))
        if m.nce_idt:
            losses["NCE_Y"] = tf.reduce_mean(nce_y)
        return losses



def as_list(outputs) -> list:
    """A Keras model's outputs as a list (a model with one output returns the tensor alone)."""
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]
