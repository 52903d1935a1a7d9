"""The commands as Python functions, with the checks and defaults of the CLI (which calls them).

    from translate import api

    run = api.fit(recipe="demo", epochs=1)                  # -> runs/demo-1
    summary = api.apply(run, "photos/", "translated/")      # -> ApplySummary
    export = api.export(run, "serving/")                    # -> serving/demo/1
    report = api.evaluate(run, "datasets/facades")          # -> dict, also <run>/eval/*.json

Bad input raises `translate.errors.UserError` with the one line the CLI prints.
"""

from __future__ import annotations

from pathlib import Path

from translate.errors import UserError


def fit(
    model: str | None = None,
    data: str | None = None,
    *,
    recipe: str | None = None,
    resume: str | Path | None = None,
    name: str | None = None,
    size: int | None = None,
    sets: list[str] | tuple[str, ...] = (),
    progress: str = "quiet",
    **flags,
) -> Path:
    """Train (`translate fit`); returns the run directory.

    flags: the fit options by their Python names (epochs, epochs_decay, steps_per_epoch,
    batch_size, lr, direction, netG, netD, strategy, precision, jit, seed, project, data_path);
    sets: "section.key=value" overrides. `resume` continues a run; only epochs and epochs_decay
    may change it. progress: "bar", "quiet" (a line per epoch) or "json".
    """
    from translate.config import FIT_FLAGS, extend_run, fit_overrides, resolve_config
    from translate.runs import CONFIG_FILE, is_run_dir
    from translate.training import fit as run_fit

    flags = {("data" if k == "data_path" else k): v for k, v in flags.items()}
    unknown = sorted(set(flags) - set(FIT_FLAGS))
    if unknown:
        raise UserError(f"fit: unknown option {unknown[0]!r}; options: {', '.join(FIT_FLAGS)}")
    if resume:
        if not is_run_dir(resume):
            raise UserError(f"--resume {resume}: not a run directory (no {CONFIG_FILE})")
        others = {"MODEL": model, "DATA": data, "--recipe": recipe, "--name": name,
                  "--size": size, "--set": list(sets or []),
                  **{f"--{flag.replace('_', '-')}": value for flag, value in flags.items()}}
        given = [flag for flag, value in others.items() if value not in (None, [])]
        given = [flag for flag in given if flag not in ("--epochs", "--epochs-decay")]
        if given:
            raise UserError(
                f"--resume continues a run as it was configured; {given[0]} cannot change it "
                "(only --epochs and --epochs-decay can, to extend it); start a new run instead"
            )
        config = extend_run(Path(resume), flags.get("epochs"), flags.get("epochs_decay"))
    else:
        overrides = fit_overrides(name=name, size=size, sets=sets, **flags)
        config = resolve_config(model=model, data=data, recipe=recipe, overrides=overrides)
    return run_fit(config, resume=resume, progress=progress)


def apply(
    source: str | Path,
    input: str | Path,  # noqa: A002 (the CLI's name)
    output: str | Path,
    *,
    recursive: bool = False,
    fmt: str = "png",
    quality: int | None = None,
    epoch: int | None = None,
    direction: str = "AtoB",
    tile: int | None = None,
    tile_overlap: int = 32,
    batch_size: int = 1,
    overwrite: bool = False,
    compare: bool = False,
    workers: int | None = None,
    progress: bool = False,
):
    """Translate an image, a folder or a glob into OUTPUT (`translate apply`); returns the
    ApplySummary (done, skipped, failed, gallery, fallbacks: batches that ran in tiles)."""
    from translate.data.config import DIRECTIONS
    from translate.data.imageio import OUTPUT_FORMATS

    fmt = fmt.lower()
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"--format {fmt}: choose one of {', '.join(OUTPUT_FORMATS)}")
    if quality is not None and not 1 <= quality <= 100:
        raise UserError(f"--quality {quality}: give 1..100 (used by jpg and webp)")
    if batch_size < 1:
        raise UserError(f"--batch-size {batch_size}: give 1 or more")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: give 1 or more")
    if direction not in DIRECTIONS:
        raise UserError(f"--direction {direction}: choose AtoB or BtoA")
    if not Path(source).exists():
        raise UserError(f"{source}: no such run directory or export")

    from translate.apply import apply_folder, load_translator, plan

    plan(input, output, recursive=recursive, fmt=fmt, compare=compare)  # fail before loading
    translator = load_translator(
        source, direction=direction, epoch=epoch, tile=tile, tile_overlap=tile_overlap,
        batch_size=batch_size,
    )
    summary = apply_folder(
        translator, input, output, recursive=recursive, fmt=fmt, quality=quality,
        overwrite=overwrite, compare=compare, workers=workers, progress=progress,
    )
    summary.fallbacks = translator.fallbacks
    return summary


def export(
    run: str | Path,
    output_base: str | Path,
    *,
    name: str | None = None,
    version: int | None = None,
    direction: str = "both",
    epoch: int | None = None,
    warmup: bool = True,
    fmt: str = "saved_model",
    quantize: str = "none",
) -> Path:
    """A TF Serving SavedModel of a run (`translate export`); returns OUTPUT_BASE/NAME/VERSION.
    fmt onnx or tflite: OUTPUT_BASE/NAME/<format>[-<quantize>] with a file per direction."""
    from translate.runs import CONFIG_FILE, is_run_dir

    if not is_run_dir(run):  # before TensorFlow loads: a wrong path fails at once
        raise UserError(f"{run} is not a run directory (no {CONFIG_FILE}); give runs/<name>-<n>")
    if version is not None and version < 1:
        raise UserError(f"--version {version}: give 1 or more")
    from translate.export_formats import check_format

    check_format(fmt, quantize)  # before TensorFlow loads
    from translate.export import export_run

    return export_run(
        run, output_base, name=name, version=version, direction=direction, epoch=epoch,
        warmup=warmup, fmt=fmt, quantize=quantize,
    )


def evaluate(
    source: str | Path,
    data: str | Path,
    *,
    split: str = "test",
    direction: str | None = None,
    epoch: int | None = None,
    out: str | Path | None = None,
    inception_weights: str | Path | None = None,
    max_images: int | None = None,
    tile: int | None = None,
    progress=None,
) -> dict:
    """Score a run or export on held-out images next to the task's baseline (`translate
    evaluate`); writes the JSON report (default: <run>/eval/<data>.json) and returns it, with
    "report_path". progress: called with (done, total) after each image."""
    import json

    from translate.runs import RunDir, is_run_dir

    if not Path(data).is_dir():
        from translate.data.cards import get_card

        if get_card(str(data)) is None:
            raise UserError(f"DATA {data}: no such folder nor dataset name (translate datasets list)")
        from translate.data import resolve_dataset

        data = str(resolve_dataset(str(data)).root)  # a dataset card: from the cache, fetched once
    if not Path(source).exists():
        raise UserError(f"SOURCE {source}: no such run directory or SavedModel")

    from translate.apply import load_translator
    from translate.evaluation import evaluate as run_evaluate
    from translate.evaluation import json_ready
    from translate.io_utils import atomic_write_text

    generator_direction, direction = _evaluation_directions(source, direction)
    translator = load_translator(source, direction=generator_direction, epoch=epoch, tile=tile)
    report = run_evaluate(
        translator, data, split=split, direction=direction, inception_weights=inception_weights,
        max_images=max_images, progress=progress,
    )
    report = {"source": str(source), "data": str(data), "split": split, "direction": direction,
              "epoch": epoch, **report}
    path = Path(out or _default_report(source, data, split, direction))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(json_ready(report), indent=2) + "\n")
    if is_run_dir(source) and path.parent.resolve() == RunDir(source).evaluations.resolve():
        from translate.model_card import write_run_card

        write_run_card(source)  # the card lists the run's reports
    return {**report, "report_path": str(path)}


def _evaluation_directions(source, direction: str | None) -> tuple[str, str]:
    """(generator direction, data direction). A one-direction model (Pix2Pix) has one generator
    ("AtoB") whatever side of the pairs it was trained from; its data direction defaults to the
    run's own."""
    from translate.runs import RunDir, is_run_dir

    if is_run_dir(source):
        from translate.config import load_config
        from translate.models import model_class

        config = load_config(RunDir(source).config)
        if len(model_class(config.model.kind).directions) == 1:
            return "AtoB", direction or config.data.direction
    return direction or "AtoB", direction or "AtoB"


def _default_report(source, data, split: str, direction: str) -> str:
    """<run>/eval/<data>[-<split>][-<direction>].json for a run, ./eval-<export>-... otherwise.
    The two directions of a CycleGAN get a report each."""
    from translate.runs import RunDir, is_run_dir

    stem = Path(data).resolve().name
    if not any((Path(data) / name).is_dir() for name in (split, f"{split}A")):
        split = ""
    stem = f"{stem}-{split}" if split else stem
    stem = f"{stem}-{direction}" if direction != "AtoB" else stem
    if is_run_dir(source):
        return str(RunDir(source).evaluations / f"{stem}.json")
    return f"eval-{Path(source).resolve().name}-{stem}.json"
