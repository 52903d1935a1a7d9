"""`translate fit` as users run it: a run directory, samples, exact resume, clean errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tensorflow_log_lines
from demo_scores import score_translations

FACADES_STEPS = "40"  # two epochs of this many steps: a few minutes on 2 cores
# A tiny CycleGAN on the built-in synthetic data: seconds per epoch on a CPU.
TINY = [
    "--set", "model.netG=resnet_6blocks", "--set", "model.ngf=8", "--set", "model.ndf=8",
    "--size", "32", "--batch-size", "2", "--seed", "3",
]


def translate(*args, cwd, timeout=600, env=None):
    return subprocess.run(
        [sys.executable, "-m", "translate.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


def generator_weights(run_dir):
    from translate.runs import load_run

    run = load_run(run_dir)
    return [w.numpy() for w in run.generator("AtoB").weights + run.generator("BtoA").weights]


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit"], "say what to train"),
        (["fit", "pix3pix", "facades"], "unknown model 'pix3pix'"),
        (["fit", "--recipe", "nope"], "unknown recipe 'nope'"),
        (["fit", "cyclegan", "x", "--set", "train.lrate=1"], "unknown key train.lrate"),
        (["fit", "cyclegan", "x", "--direction", "sideways"], "data.direction must be AtoB or BtoA"),
        (["fit", "--resume", "/no/such/run"], "not a run directory"),
        (["fit", "cyclegan", "/no/such/folder", "--epochs", "1"], "/no/such/folder"),
        (["fit", "pix2pix", "shapes", "--epochs", "1"], "pix2pix needs paired images"),
        (["fit", "cyclegan", "x", "--epochs", "many"], "Invalid value for '--epochs'"),
        (["fit", "cyclegan", "x", "--steps-per-epoch", "-1"], "train.steps_per_epoch must be >= 1"),
        (["fit", "cyclegan", "x", "--set", "train.sample_every=0"], "sample_every must be >= 1"),
    ],
)
def test_bad_options_print_one_line_and_no_traceback(tmp_path, args, message):
    result = translate(*args, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_demo_recipe_trains_end_to_end(tmp_path):
    result = translate("fit", "--recipe", "demo", *TINY, "--epochs", "1", "--epochs-decay", "1",
                       "--steps-per-epoch", "4", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "demo-1"
    for name in ("config.yaml", "metrics.csv", "losses.png", "samples/epoch_001.png",
                 "samples/epoch_002.png", "checkpoints/latest/checkpoint"):
        assert (run / name).is_file(), name
    events = list((run / "logs").rglob("events.out.tfevents.*"))
    assert len(events) == 1  # one event file for the run, not one per epoch
    import tensorflow as tf

    tags = {value.tag for record in tf.data.TFRecordDataset(str(events[0])).skip(1)
            for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value}
    assert {"samples", "learning_rate"} <= tags, tags
    assert "epoch 2/2" in result.stderr
    # Only our lines: no TensorFlow C++ log lines (but grappler's skipped-fusion notice).
    assert not tensorflow_log_lines(result.stderr)
    card = (run / "README.md").read_text()  # the model card
    assert "# demo" in card and "trained: 2 of 2 epochs" in card and "translate apply runs/demo-1" in card
    # A second run never overwrites the first.
    again = translate("fit", "--recipe", "demo", *TINY, "--epochs", "1", "--epochs-decay", "0",
                      "--steps-per-epoch", "1", "--quiet", cwd=tmp_path)
    assert again.returncode == 0 and (tmp_path / "runs" / "demo-2" / "config.yaml").is_file()


@pytest.mark.slow
def test_a_finished_run_is_extended_with_resume_and_more_epochs(tmp_path):
    first = translate("fit", "--recipe", "demo", *TINY, "--epochs", "1", "--epochs-decay", "0",
                      "--steps-per-epoch", "2", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "runs" / "demo-1"
    again = translate("fit", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert "already finished its 1 epochs" in again.stderr and "--epochs N" in again.stderr
    refused = translate("fit", "--resume", str(run), "--lr", "1", cwd=tmp_path)
    assert refused.returncode == 2 and "--lr cannot change it" in refused.stderr
    longer = translate("fit", "--resume", str(run), "--epochs", "2", "--quiet", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    assert "epoch 2/2" in longer.stderr and "epoch 1/2" not in longer.stderr
    assert "epochs: 2" in (run / "config.yaml").read_text()
    assert (run / "samples" / "epoch_002.png").is_file()


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    common = ["fit", "--recipe", "demo", *TINY, "--epochs", "2", "--epochs-decay", "1",
              "--steps-per-epoch", "12", "--quiet"]
    straight = translate(*common, "--name", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr

    # Same job, killed for real (SIGKILL) after its first epoch's checkpoint, then resumed.
    run = tmp_path / "runs" / "killed-1"
    proc = subprocess.Popen([sys.executable, "-m", "translate.cli", *common, "--name", "killed"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (run / "checkpoints" / "latest" / "checkpoint").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resumed = translate("fit", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/3" not in resumed.stderr  # nothing trained twice

    for a, b in zip(generator_weights(tmp_path / "runs" / "straight-1"), generator_weights(run),
                    strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_pix2pix_trains_on_the_shared_facades_and_beats_the_label_maps(tmp_path, shared_data):
    """Real data: labels -> photo for a few CPU minutes, then `translate evaluate` on the test
    split. The model's PSNR against the photos must beat the label maps' own (the identity)."""
    import json

    facades = shared_data / "facades"
    result = translate("fit", "pix2pix", str(facades), "--direction", "BtoA", "--size", "128",
                       "--set", "model.netG=unet_128", "--set", "model.ngf=16", "--set", "model.ndf=8",
                       "--batch-size", "4", "--epochs", "1", "--epochs-decay", "1",
                       "--steps-per-epoch", FACADES_STEPS, "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "facades (aligned)" in result.stderr  # train/ A|B pairs win over trainA/ + trainB/
    run = tmp_path / "runs" / "facades-1"
    assert (run / "samples" / "epoch_001.png").is_file()
    scored = translate("evaluate", str(run), str(facades), "--max-images", "30", "--out",
                       str(tmp_path / "eval.json"), cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    psnr = json.loads((tmp_path / "eval.json").read_text())["metrics"]["psnr"]
    assert psnr["model"] > psnr["baseline"] + 1.0, psnr


@pytest.mark.parametrize("width", [80, 120])
def test_progress_keeps_bar_steps_and_eta_with_cyclegans_eight_losses(width):
    import io

    from rich.console import Console

    from translate.callbacks import RunProgress

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    bar = RunProgress(total_steps=2000, start_step=0, steps_per_epoch=100, batch_size=1,
                      mode="bar", console=console)
    losses = {k: 0.123456 for k in ("D_A", "D_B", "G_A", "G_B", "cycle_A", "cycle_B", "idt_A",
                                    "idt_B")}
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    for step in range(37):
        bar.on_train_batch_end(step, losses)
    bar.progress.refresh()
    bar.close()
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # cursor moves, line clears
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert "tracing the train step" in lines[0]
    shown = [line for line in lines if "ETA" in line]
    assert shown and all(len(line) <= width for line in lines)
    assert "epoch 1 step 37" in shown[-1] and "37/2000" in shown[-1]
    assert "cycle_B 0.123" in out.getvalue() and "idt_B 0.123" in out.getvalue()


def test_a_bar_on_a_pipe_prints_epoch_lines_only():
    import io

    from rich.console import Console

    from translate.callbacks import RunProgress

    out = io.StringIO()
    bar = RunProgress(total_steps=4, start_step=0, steps_per_epoch=2, batch_size=1, mode="bar",
                      console=Console(file=out, width=80))
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(0, {"G": 1.0})
    bar.on_epoch_end(0, {"G": 1.0})
    assert bar.mode == "quiet" and bar.progress is None
    assert out.getvalue().splitlines()[-1].startswith("epoch 1/2  G 1.000")


def test_metrics_rows_kept_on_resume_have_one_line_ending(tmp_path):
    from translate.callbacks import MetricsCSV

    path = tmp_path / "metrics.csv"
    path.write_bytes(b"epoch,step,G\r\n1,2,0.5\r\n2,4,0.4\n3,6,0.3\r\n")
    MetricsCSV.keep_epochs_up_to(path, 2)
    assert path.read_bytes() == b"epoch,step,G\n1,2,0.5\n2,4,0.4\n"


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path):
    first = translate("fit", "--recipe", "demo", *TINY, "--epochs", "1", "--epochs-decay", "0",
                      "--steps-per-epoch", "2", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "runs" / "demo-1"
    import shutil

    shutil.rmtree(run / "checkpoints")  # as if killed during the first save
    (run / "checkpoints" / "latest" / "ckpt-1_temp").mkdir(parents=True)
    again = translate("fit", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "no checkpoint yet" in again.stderr and "epoch 1/1" in again.stderr
    assert not list(run.rglob("*_temp"))
    assert (run / "metrics.csv").read_text().count("\n") == 2  # header + the one epoch


@pytest.mark.slow
def test_nan_losses_stop_the_run_and_keep_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    """The NaN guard: from step 3 on the losses are NaN; fit stops with one line, the latest
    checkpoint is epoch 1's, and `--json` wrote a parseable line per epoch."""
    import json

    import tensorflow as tf

    import translate.models
    from translate.config import resolve_config
    from translate.errors import UserError
    from translate.training import fit

    build = translate.models.build_model

    def poisoned(*args, **kwargs):
        model = build(*args, **kwargs)
        step = model.train_step

        def train_step(data):
            logs = step(data)
            bad = tf.cast(model.train_step_counter, tf.float32) > 2.0
            return {k: tf.where(bad, tf.constant(float("nan")), v) for k, v in logs.items()}

        model.train_step = train_step
        return model

    monkeypatch.setattr(translate.models, "build_model", poisoned)
    monkeypatch.chdir(tmp_path)
    config = resolve_config(recipe="demo", overrides={
        "model": {"netG": "resnet_6blocks", "ngf": 8, "ndf": 8},
        "data": {"crop_size": 32, "load_size": 32, "batch_size": 2},
        "train": {"epochs": 3, "epochs_decay": 0, "steps_per_epoch": 2},
    })
    with pytest.raises(UserError, match="losses became NaN .* at step .* last good checkpoint"):
        fit(config, progress="json")
    run = tmp_path / "runs" / "demo-1"
    latest = tf.train.latest_checkpoint(str(run / "checkpoints" / "latest"))
    assert latest.endswith("ckpt-1")  # saved after epoch 1, never after the NaN
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2  # header + epoch 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0]["epoch"] == 1 and lines[0]["step"] == 2 and "G_A" in lines[0]


def test_sample_grids_are_captioned_and_small_crops_enlarged(tmp_path):
    """A CycleGAN grid of 64-px crops: 128-px cells, a caption band over the A rows and another
    where the B rows begin."""
    import cv2

    from translate.callbacks import CAPTION_HEIGHT, write_grid

    cell = np.full((64, 64, 3), 0.5, np.float32)
    captions = [["real A", "A->B", "back to A"]] * 2 + [["real B", "B->A", "back to B"]] * 2
    write_grid([[cell] * 3] * 4, tmp_path / "grid.png", captions)
    grid = cv2.imread(str(tmp_path / "grid.png"))
    assert grid.shape == (4 * 128 + 2 * CAPTION_HEIGHT, 3 * 128, 3)
    band = grid[:CAPTION_HEIGHT]
    assert band.min() < 100 and np.median(band) == 255  # dark text on white
    second_band = grid[CAPTION_HEIGHT + 256 : 2 * CAPTION_HEIGHT + 256]
    assert np.median(second_band) == 255


@pytest.mark.slow
def test_ctrl_c_saves_where_it_stopped_and_the_resume_finishes_the_run(tmp_path):
    """SIGINT mid-epoch: exit 130 with the resume command, a checkpoint at that step (not the
    epoch's start), and `--resume` completes the run without retraining the saved steps."""
    run = tmp_path / "runs" / "demo-1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "translate.cli", "fit", "--recipe", "demo", *TINY, "--epochs", "2",
         "--epochs-decay", "0", "--steps-per-epoch", "300", "--quiet", "--precision", "float32",
         "--no-jit"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # a job started in the background (CI under nohup ... &) ignores SIGINT, and so would
        # its children: Python installs its KeyboardInterrupt handler only where it is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while not (run / "checkpoints" / "latest" / "checkpoint").exists():  # epoch 1 is saved
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(3)  # into epoch 2
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "translate fit --resume runs/demo-1" in stderr and "Traceback" not in stderr
    import tensorflow as tf

    saved = int(tf.train.latest_checkpoint(str(run / "checkpoints" / "latest")).split("-")[-1])
    assert 300 < saved < 600, saved  # the step it was interrupted at
    resumed = translate("fit", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 2/2" in resumed.stderr and "epoch 1/2" not in resumed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("flags, saved", [
    (["--jit"], {"jit": True}),
    (["--precision", "mixed_bfloat16"], {"precision": "mixed_bfloat16"}),
])
def test_jit_and_precision_flags_train_and_are_kept_in_the_run(tmp_path, flags, saved):
    """--jit (XLA-compiled step) and --precision from the CLI: the run trains with finite losses
    and its config keeps the flag, so a resume runs the same way."""
    import yaml

    result = translate("fit", "--recipe", "demo", *TINY, "--epochs", "1", "--epochs-decay", "0",
                       "--steps-per-epoch", "2", "--json", *flags, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["step"] == 2 and all(np.isfinite(line[k]) for k in ("G_A", "D_A", "cycle_A"))
    runtime = yaml.safe_load((tmp_path / "runs" / "demo-1" / "config.yaml").read_text())["runtime"]
    assert {k: runtime[k] for k in saved} == saved


@pytest.mark.slow
def test_cut_trains_applies_and_exports_from_the_command_line(tmp_path):
    """`translate fit cut shapes`, then apply, evaluate and export on the run: one direction
    (A -> B), the export's SavedModel giving the run's pixels."""
    import numpy as np

    from translate.data.imageio import read_image

    result = translate("fit", "cut", "shapes", *TINY, "--epochs", "1", "--epochs-decay", "0",
                       "--steps-per-epoch", "3", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "shapes-1"
    assert "NCE_Y" in (run / "metrics.csv").read_text().splitlines()[0]
    photos = Path(os.environ["TRANSLATE_HOME"]) / "datasets" / "shapes" / "testA"
    assert translate("apply", str(run), str(photos), "by_run", cwd=tmp_path).returncode == 0
    scored = translate("evaluate", str(run), str(photos.parent), cwd=tmp_path,
                       env={"KERAS_HOME": str(tmp_path / "keras"), "COLUMNS": "150"})  # no FID
    assert scored.returncode == 0, scored.stderr
    assert "translation: 20 images" in scored.stdout and (run / "eval" / "shapes-test.json").is_file()
    exported = translate("export", str(run), "serving", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "AtoB" in exported.stdout and "BtoA" not in exported.stdout
    export_dir = next((tmp_path / "serving").glob("*/1"))
    assert translate("apply", str(export_dir), str(photos), "by_export", cwd=tmp_path).returncode == 0
    names = sorted(p.name for p in (tmp_path / "by_run").iterdir() if p.suffix == ".png")
    assert names and names == sorted(p.name for p in (tmp_path / "by_export").iterdir()
                                     if p.suffix == ".png")
    for name in names[:3]:
        a = read_image(tmp_path / "by_run" / name).astype(int)
        b = read_image(tmp_path / "by_export" / name).astype(int)
        assert np.abs(a - b).max() <= 1, name


@pytest.mark.slow  # the demos as shipped: 1.6-1.8 / 3-3.6 min (CycleGAN / CUT) on 2 AMD
# cores with AVX-512, 3.1 / 6.5 min on 2 slower Intel ones: hence the 20-minute limit
@pytest.mark.parametrize("recipe", ["demo", "demo-cut"])
def test_the_demos_keep_each_shapes_colour_and_draw_the_stripes(tmp_path, recipe):
    """Plain -> striped on the 20 held-out shapes: the output keeps the shape's colour where the
    shape is and carries the target's stripes; the identity has no stripes (0.00).
    demo (CycleGAN), over seeds 0-2: colour 0.93-0.97, stripes 0.07-0.10; with instance norm
    (the recipe before) every output was green stripes, colour 0.00.
    demo-cut, four runs (seeds 0, 0, 1 on one machine, 0 on another): colour 0.96-0.98,
    stripes 0.12-0.14; with negatives from the same image only (the reference's default) the
    colour kept was 0.32-0.82, and with its instance norm and xavier init no stripes came."""
    result = translate("fit", "--recipe", recipe, "--quiet", cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr
    photos = Path(os.environ["TRANSLATE_HOME"]) / "datasets" / "shapes" / "testA"
    assert translate("apply", f"runs/{recipe}-1", str(photos), "out", cwd=tmp_path).returncode == 0
    scores = score_translations(photos, tmp_path / "out")
    assert scores["count"] == 20
    assert scores["colour"] > 0.8 and scores["stripes"] > 0.04, scores
    assert scores["input_stripes"] < 0.01
