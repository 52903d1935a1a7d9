"""translate: image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow."""

import os as _os

# albumentations otherwise checks for updates over the network on import.
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # grappler logs harmless errors

__version__ = "0.1.0"


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (absl, oneDNN, CUDA probes) silenced.

    Those lines go to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL applies, so a one-line
    error would otherwise come after half a dozen lines of noise. Python exceptions still show.
    """
    import sys

    if "tensorflow" in sys.modules or _os.environ.get("TRANSLATE_TF_VERBOSE"):
        return
    saved, devnull = _os.dup(2), _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe logs once; not a TF op
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(devnull)
