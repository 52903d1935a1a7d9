"""Shared test setup: quiet TensorFlow, no network for albumentations, paths to shared data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real images of ../shared/data; tests that need them skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own TRANSLATE_HOME cache, so nothing touches ~/.cache."""
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path_factory.mktemp("translate_home")))


def write_run(run: Path, config, model) -> Path:
    """A run directory as `translate fit` leaves it: config.yaml and checkpoints/latest."""
    import tensorflow as tf

    from translate.config import save_config
    from translate.runs import RunDir

    save_config(config, RunDir(run).config)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    tf.train.CheckpointManager(checkpoint, str(RunDir(run).latest), max_to_keep=1).save()
    return run


def tensorflow_log_lines(stderr: str) -> list[str]:
    """TensorFlow's own C++ log lines (E0000 ..., W0000 ...), which a normal run must not print,
    but for grappler's "remapper failed ... Mutation::Apply error": on AVX-512 CPUs TF tries to
    fuse a D's conv + bias + LeakyReLU whose gradient still reads the bias output, logs that
    it skipped the fusion (an ERROR-level line about an optimisation, not about the run) and goes
    on. translate's default log level (3) keeps it from users; the tests run at level 2."""
    return [
        line for line in stderr.splitlines()
        if line[:5] in ("E0000", "W0000")
        and not ("meta_optimizer.cc" in line and "remapper failed" in line)
    ]
