"""The whole configuration of a job as plain dataclasses.

A recipe (YAML) plus CLI overrides resolve to one `Config`, which is saved into the run directory
and read back by apply, export and evaluate. Defaults are the reference implementation's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from translate.data.config import DIRECTIONS


@dataclass
class TrainConfig:
    """Optimisation and the run's rhythm: constant lr for `epochs`, linear decay over `epochs_decay`."""

    epochs: int = 100
    epochs_decay: int = 100
    lr: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    steps_per_epoch: int | None = None  # None: one pass over the data
    save_every: int = 5  # keep a checkpoint every K epochs (besides the latest)
    sample_every: int = 1
    num_samples: int = 4


@dataclass
class RuntimeConfig:
    """Where and how the job runs."""

    strategy: str = "auto"  # auto | cpu | gpu | mirrored | multi-worker | tpu
    precision: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16
    jit: bool = False
    seed: int = 0
    steps_per_execution: int = 1
    project: str = "runs"
    # data.batch_size is the global batch, split over the replicas, unless batch_per_replica:
    # then the global batch is batch_size x replicas. scale_lr "linear" multiplies the lr by
    # global batch / data.batch_size (Goyal et al.'s linear scaling rule); "none" keeps it.
    batch_per_replica: bool = False
    scale_lr: str = "none"  # none | linear
    sync_batch_norm: bool = False  # batch norm statistics over all replicas


def _default_model():
    from translate.models import DEFAULT_KIND, model_class

    return model_class(DEFAULT_KIND).Options()


def _default_data():
    from translate.data.config import DataConfig

    return DataConfig()


def _default_task():
    from translate.tasks.base import TaskConfig

    return TaskConfig()


@dataclass
class Config:
    """One job: model + data + task + training + runtime.

    model is the options dataclass of the model's kind (e.g. Pix2PixOptions: see models/).
    """

    name: str = "run"
    model: object = field(default_factory=_default_model)
    data: object = field(default_factory=_default_data)
    task: object = field(default_factory=_default_task)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)


# ---------------------------------------------------------------------------------------------
# Resolving a job: the kind's defaults <- recipe <- CLI overrides, validated with one-line errors.


def _sections() -> dict[str, type]:
    from translate.data.config import DataConfig
    from translate.tasks.base import TaskConfig

    return {
        "model": None,  # the options class of the model's kind, known once the kind is
        "data": DataConfig,
        "task": TaskConfig,
        "train": TrainConfig,
        "runtime": RuntimeConfig,
    }


def to_dict(config: Config) -> dict:
    """A plain dict (YAML-ready) of a Config."""
    import dataclasses

    return dataclasses.asdict(config)


def _coerce(value, annotation: str, key: str):
    """Turn a CLI string (or YAML scalar) into the field's type, with a clear error."""
    from translate.errors import UserError

    ann = str(annotation).replace(" ", "")
    if value is None and "None" in ann:
        return None
    if isinstance(value, str) and value.lower() in ("none", "null") and "None" in ann:
        return None
    try:
        if ann.startswith("bool"):
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes", "on"):
                return True
            if str(value).lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(value)
        if ann.startswith("int"):
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError(value)
            return int(float(value))
        if ann.startswith("float"):
            return float(value)
        if ann.startswith("str"):
            return str(value)
        if ann.startswith("list") or ann.startswith("tuple"):
            if isinstance(value, str):
                import yaml

                value = yaml.safe_load(value)
            if not isinstance(value, list | tuple):
                raise ValueError(value)
            return list(value)
    except (TypeError, ValueError):
        raise UserError(f"{key}: {value!r} is not a valid {ann}") from None
    return value


def from_dict(raw: dict, source: str = "recipe") -> Config:
    """Build a Config from nested dicts; unknown keys are refused with the valid ones listed."""
    import dataclasses

    from translate.errors import UserError

    sections = _sections()
    raw = dict(raw or {})
    unknown = set(raw) - set(sections) - {"name", "description"}
    if unknown:
        raise UserError(
            f"{source}: unknown section {sorted(unknown)[0]!r}; valid: name, description, "
            + ", ".join(sections)
        )
    parts = {}
    for section, cls in sections.items():
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            raise UserError(f"{source}: section {section!r} must be a mapping of key: value")
        if section == "model":
            cls = _model_options_class(values.get("kind"), source)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in values:
            if key not in fields:
                raise UserError(
                    f"{source}: unknown key {section}.{key}; valid keys: "
                    + ", ".join(f"{section}.{k}" for k in fields)
                )
        parts[section] = cls(
            **{k: _coerce(v, fields[k].type, f"{section}.{k}") for k, v in values.items()}
        )
    config = Config(name=str(raw.get("name") or "run"), **parts)
    validate(config, source)
    return config


def _model_options_class(kind, source: str) -> type:
    from translate.errors import UserError
    from translate.models import DEFAULT_KIND, MODELS

    kind = DEFAULT_KIND if kind is None else kind
    if kind not in MODELS:
        raise UserError(
            f"{source}: model.kind={kind!r} is not valid; choose one of {', '.join(MODELS)}"
        )
    return MODELS[kind].Options


def merge(base: dict, override: dict) -> dict:
    """Nested dict merge: override wins, sections merge key by key."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_set(assignments: list[str]) -> dict:
    """`--set section.key=value` pairs to a nested dict (values are coerced later)."""
    from translate.errors import UserError

    out: dict = {}
    for item in assignments or []:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise UserError(f"--set {item!r}: expected section.key=value, e.g. --set train.lr=1e-4")
        out.setdefault(parts[0], {})[parts[1]] = value
    return out


# `translate fit` flags -> the option each sets (a flag left out, None, sets nothing).
FIT_FLAGS = {
    "data": "data.dataset", "epochs": "train.epochs", "epochs_decay": "train.epochs_decay",
    "steps_per_epoch": "train.steps_per_epoch", "batch_size": "data.batch_size",
    "lr": "train.lr", "direction": "data.direction", "netG": "model.netG", "netD": "model.netD",
    "strategy": "runtime.strategy", "precision": "runtime.precision", "jit": "runtime.jit",
    "seed": "runtime.seed", "project": "runtime.project",
}
LOAD_PER_CROP = 286 / 256  # the reference's load_size 286 for crop_size 256, kept for any size


def fit_overrides(name=None, size=None, sets=(), **flags) -> dict:
    """Nested overrides from `translate fit`'s flags, then `--set` on top.

    `size` is the crop size; the load size follows it as the reference's 286/256 does.
    """
    overrides: dict = {"name": name} if name else {}
    values = {FIT_FLAGS[flag]: value for flag, value in flags.items()}
    if size is not None:
        values["data.crop_size"] = size
        values["data.load_size"] = round(size * LOAD_PER_CROP)
    for key, value in values.items():
        if value is not None:
            section, field_name = key.split(".")
            overrides.setdefault(section, {})[field_name] = value
    return merge(overrides, parse_set(list(sets or [])))


def validate(config: Config, source: str = "config") -> None:
    """Cross-field checks with one-line errors naming the option."""
    from translate.errors import UserError

    m, t, r = config.model, config.train, config.runtime
    choices = {
        **{f"model.{key}": value for key, value in m.choices().items()},
        "runtime.strategy": (r.strategy, ("auto", "cpu", "gpu", "mirrored", "multi-worker", "tpu")),
        "runtime.precision": (r.precision, ("float32", "mixed_bfloat16", "mixed_float16")),
        "runtime.scale_lr": (r.scale_lr, ("none", "linear")),
    }
    for key, (value, valid) in choices.items():
        if value not in valid:
            raise UserError(
                f"{source}: {key}={value!r} is not valid; choose one of {', '.join(valid)}"
            )
    d = config.data
    # Every numeric option's range, checked before anything runs: (value, lowest, highest,
    # whether the lowest itself is allowed). None where a field may be unset.
    ranges = {
        "train.epochs": (t.epochs, 1, None),
        "train.epochs_decay": (t.epochs_decay, 0, None),
        "train.lr": (t.lr, 0.0, None, False),
        "train.beta_1": (t.beta_1, 0.0, 1.0),
        "train.beta_2": (t.beta_2, 0.0, 1.0),
        "train.steps_per_epoch": (t.steps_per_epoch, 1, None),
        "train.save_every": (t.save_every, 1, None),
        "train.sample_every": (t.sample_every, 1, None),
        "train.num_samples": (t.num_samples, 1, None),
        **{f"model.{key}": value for key, value in m.ranges().items()},
        "data.load_size": (d.load_size, 1, None),
        "data.crop_size": (d.crop_size, 1, None),
        "data.batch_size": (d.batch_size, 1, None),
        "data.crops_per_image": (d.crops_per_image, 1, None),
        "data.max_items": (d.max_items, 0, None),
        "runtime.steps_per_execution": (r.steps_per_execution, 1, None),
        "runtime.seed": (r.seed, 0, None),
    }
    for key, (value, low, high, *closed) in ranges.items():
        if value is None and key == "train.steps_per_epoch":
            continue
        inclusive = closed[0] if closed else True
        too_low = value is None or (value < low if inclusive else value <= low)
        if too_low or (high is not None and value >= high):
            if high is not None:
                want = f"in [{low}, {high})"
            else:
                want = f">= {low}" if inclusive else f"> {low}"
            raise UserError(f"{source}: {key} must be {want} (got {value})")
    from translate.networks import generator_size_multiple

    multiple = generator_size_multiple(m.netG)
    if config.data.crop_size % multiple:
        raise UserError(
            f"{source}: data.crop_size={config.data.crop_size} does not fit model.netG={m.netG}, "
            f"which needs multiples of {multiple} (use --size {max(multiple, config.data.crop_size // multiple * multiple)})"
        )
    from translate.tasks import check_task_model

    problem = m.check() or check_task_model(config.task, config.model)
    if problem:
        raise UserError(f"{source}: {problem}")
    if config.data.direction not in DIRECTIONS:
        raise UserError(
            f"{source}: data.direction must be AtoB or BtoA (got {config.data.direction!r})"
        )


def recipe_names() -> list[str]:
    """The built-in recipes, by name."""
    import importlib.resources

    files = importlib.resources.files("translate.recipes").iterdir()
    return sorted(p.name[:-5] for p in files if p.name.endswith(".yaml"))


def read_recipe(name_or_path: str) -> tuple[dict, str]:
    """A recipe's raw dict and where it came from: a built-in name or a YAML file path."""
    import importlib.resources
    from pathlib import Path

    import yaml

    from translate.errors import UserError

    path = Path(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")) or path.exists():
        if not path.is_file():
            raise UserError(
                f"recipe file {path} not found; give a YAML path or one of: "
                + ", ".join(recipe_names())
            )
        text, source = path.read_text(), str(path)
    elif name_or_path in recipe_names():
        text = (
            importlib.resources.files("translate.recipes")
            .joinpath(f"{name_or_path}.yaml")
            .read_text()
        )
        source = f"recipe {name_or_path}"
    else:
        raise UserError(
            f"unknown recipe {name_or_path!r}; built-in recipes: {', '.join(recipe_names())}"
            " (or give a path to a YAML file)"
        )
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(
            f"{source}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(raw, dict):
        raise UserError(
            f"{source}: a recipe must be a mapping with sections model, data, train, ..."
        )
    return raw, source


def resolve_config(
    model: str | None = None,
    data: str | None = None,
    recipe: str | None = None,
    overrides: dict | None = None,
) -> Config:
    """The kind's defaults <- recipe <- positional model/data <- overrides, as one Config.

    `translate fit cyclegan horse2zebra` uses the built-in recipe `horse2zebra` when one exists
    for that model kind (`translate fit cut horse2zebra`: `horse2zebra-cut`); otherwise the
    reference defaults of the kind with that dataset.
    """
    from translate.errors import UserError
    from translate.models import DEFAULT_KIND, MODELS

    if model is not None and model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    raw, source = {}, "options"
    if recipe is None and data is not None and data in recipe_names():
        candidate, src = read_recipe(data)
        if model is None or (candidate.get("model") or {}).get("kind", DEFAULT_KIND) == model:
            raw, source = candidate, src
        elif f"{data}-{model}" in recipe_names():  # e.g. `translate fit cut horse2zebra`
            raw, source = read_recipe(f"{data}-{model}")
    elif recipe is not None:
        raw, source = read_recipe(recipe)
    if model is None and not raw:
        raise UserError(
            f"say what to train: `translate fit MODEL DATA` (MODEL: {' or '.join(MODELS)})"
            " or `translate fit --recipe NAME`"
        )
    kind = model or (raw.get("model") or {}).get("kind", DEFAULT_KIND)
    base = merge(raw, {"model": {"kind": kind}})
    if data is not None and raw.get("name") != data:
        base.setdefault("data", {})["dataset"] = data
        if not raw:
            base["name"] = _name_from(data)
    if not base.get("name"):
        base["name"] = _name_from((base.get("data") or {}).get("dataset") or kind)
    base = merge(base, overrides or {})
    config = from_dict(base, source)
    if not config.data.dataset:
        raise UserError(
            f"{source}: no dataset; give DATA (a dataset name or a folder) or --data PATH"
        )
    return config


def _name_from(dataset: str) -> str:
    from pathlib import Path

    return Path(str(dataset).rstrip("/")).name or "run"


def save_config(config: Config, path) -> None:
    import yaml

    from translate.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def extend_run(run_dir, epochs: int | None = None, epochs_decay: int | None = None) -> Config:
    """A run's config for `fit --resume`, with more (or fewer) epochs when asked.

    The learning-rate schedule follows the new epochs from the current step on; the run's
    config file is rewritten so a later resume keeps them.
    """
    import dataclasses

    from translate.runs import RunDir

    path = RunDir(run_dir).config
    config = load_config(path)
    if epochs is None and epochs_decay is None:
        return config
    train = dataclasses.replace(
        config.train,
        epochs=config.train.epochs if epochs is None else epochs,
        epochs_decay=config.train.epochs_decay if epochs_decay is None else epochs_decay,
    )
    config = dataclasses.replace(config, train=train)
    validate(config, "--resume")
    save_config(config, path)
    return config


def load_config(path) -> Config:
    """Read a run's config.yaml back."""
    from pathlib import Path

    import yaml

    from translate.errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found: is this a run directory made by `translate fit`?")
    raw = yaml.safe_load(path.read_text()) or {}
    if isinstance(raw.get("model"), dict):
        raw["model"] = _own_model_options(raw["model"], str(path))
    return from_dict(raw, str(path))


def _own_model_options(values: dict, source: str) -> dict:
    """A saved model section without the other kinds' options, which runs saved before each
    kind had its own options class hold (e.g. lambda_L1 in a CycleGAN run); unknown keys stay,
    to be refused."""
    import dataclasses

    from translate.models import MODELS

    own = {f.name for f in dataclasses.fields(_model_options_class(values.get("kind"), source))}
    known = {f.name for model in MODELS.values() for f in dataclasses.fields(model.Options)}
    return {k: v for k, v in values.items() if k in own or k not in known}
