"""translate: image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow."""

import os as _os

# albumentations otherwise checks for updates over the network on import.
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
