"""README.md model cards: what a run or an export is, what it was trained on, how it scored and
how to call it, for whoever finds the folder later (a colleague, a model registry, a reviewer).

The run's card is rewritten at the end of `fit`, after `evaluate` writes a report into the run,
and after `import`; an export carries its source run's card below its own serving contract.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from translate.io_utils import atomic_write_text

CARD_FILE = "README.md"


def _last_row(metrics_csv: Path) -> dict:
    if not metrics_csv.is_file():
        return {}
    with open(metrics_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else {}


def _figure(value) -> str:
    """A report's number (JSON writes infinities as strings) in 4 significant digits."""
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def _reports(run_dir: Path) -> list[str]:
    """One table row per `translate evaluate` report in the run's eval/ folder."""
    rows = []
    from translate.runs import RunDir

    for path in sorted(RunDir(run_dir).evaluations.glob("*.json")):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        figures = ", ".join(
            f"{name} {_figure(values['model'])} (baseline {_figure(values['baseline'])})"
            for name, values in report.get("metrics", {}).items()
            if isinstance(values, dict) and {"model", "baseline"} <= set(values)
        )
        data = Path(str(report.get("data", ""))).name
        rows.append(f"| {data} | {report.get('images', '')} | {figures} |")
    return rows


def run_card(run_dir: str | Path) -> str:
    """The Markdown card of a run directory, from its config, metrics and eval reports."""
    from translate.config import load_config
    from translate.runs import RunDir
    from translate.tasks import get_task

    run_dir, run = Path(run_dir), RunDir(run_dir)
    config = load_config(run.config)
    m, d, t, task = config.model, config.data, config.train, config.task
    scale = get_task(task).scale
    last = _last_row(run.metrics)
    if last:
        trained = f"{last.get('epoch')} of {t.epochs + t.epochs_decay} epochs ({last.get('step')} steps)"
    elif run.imported.is_file():
        trained = "imported from PyTorch reference checkpoints (`imported.yaml` lists them)"
    else:
        trained = "not yet"
    lines = [
        f"# {config.name}",
        "",
        f"A {m.kind} model ({m.netG}, ngf {m.ngf}, norm {m.norm}) for the {task.name}"
        f"{f' x{scale}' if scale > 1 else ''} task, made by `translate`.",
        "",
        f"- data: `{d.dataset}` ({d.layout}, direction {d.direction}), crops of {d.crop_size} px, "
        f"batch {d.batch_size}",
        f"- trained: {trained}; lr {t.lr}, Adam betas ({t.beta_1}, {t.beta_2})",
        "- every option: `config.yaml`; losses per epoch: `metrics.csv`, `losses.png`; "
        "sample grids: `samples/`",
    ]
    reports = _reports(run_dir)
    if reports:
        lines += ["", "## Measured (`translate evaluate`)", "", "| data | images | figures |",
                  "|---|---|---|", *reports]
    lines += [
        "",
        "## Use",
        "",
        "```",
        f"translate apply {run_dir} photos/ out/        # a folder of images, any size",
        f"translate evaluate {run_dir} TEST_DATA        # scores next to the baseline",
        f"translate export {run_dir} serving/           # TF Serving SavedModel",
        f"translate fit --resume {run_dir} --epochs N   # train on",
        "```",
        "",
    ]
    return "\n".join(lines)


def write_run_card(run_dir: str | Path) -> Path:
    from translate.runs import RunDir

    path = RunDir(run_dir).card
    atomic_write_text(path, run_card(run_dir))
    return path


def export_card(info: dict, run_dir: str | Path | None = None) -> str:
    """The card of an export: its contract (from metadata.json's fields), then its run's card."""
    names = [n for sigs in info.get("signatures", {}).values() for n in sigs.values()]
    signatures = ", ".join(f"`{n}`" for n in ["serving_default", *names])
    lines = [
        f"# {info.get('run_name') or 'model'}: TF Serving export",
        "",
        f"Task {info.get('task')}, scale {info.get('scale')}, directions "
        f"{', '.join(info.get('directions', []))} (default {info.get('default_direction')}); "
        f"exported by translate {info.get('translate_version')} on {info.get('created')}.",
        "",
        f"- signatures: {signatures}",
        "- `serving_default` takes encoded images (PNG/JPEG/..., a batch of strings) and returns "
        "PNG bytes; `translate_tensor` takes float32 [N, H, W, 3] in [0, 1] and returns the same",
        f"- any height and width: inputs are reflect-padded to a multiple of "
        f"{info.get('size_multiple')} inside the graph and cropped back",
        "- details and clients: `metadata.json`; docs/serving.md of the translate project",
        "",
        "```",
        "docker run -p 8501:8501 -v $PWD/serving:/models -e MODEL_NAME=NAME tensorflow/serving",
        "translate apply THIS_FOLDER photos/ out/   # check it on your own photos",
        "```",
        "",
    ]
    if run_dir is not None and (Path(run_dir) / "config.yaml").is_file():
        lines += ["## The run it came from", "", run_card(run_dir).split("\n", 2)[2]]
    return "\n".join(lines)
