"""Recipes + CLI overrides resolve to one validated config, with one-line errors for mistakes."""

import re

import pytest
import yaml

from translate.config import (
    from_dict,
    load_config,
    parse_set,
    recipe_names,
    resolve_config,
    save_config,
    to_dict,
)
from translate.errors import UserError


def test_every_builtin_recipe_resolves():
    assert {"horse2zebra", "monet2photo", "facades", "maps", "demo"} <= set(recipe_names())
    for name in recipe_names():
        config = resolve_config(recipe=name)
        assert config.name and config.data.dataset


def test_model_and_dataset_pick_the_matching_recipe():
    config = resolve_config(model="cyclegan", data="horse2zebra")
    assert config.model.netG == "resnet_9blocks" and config.data.dataset == "horse2zebra"
    assert config.model.gan_mode == "lsgan" and config.model.pool_size == 50


def test_pix2pix_defaults_are_the_references():
    config = resolve_config(model="pix2pix", data="/some/folder/of/pairs")
    m = config.model
    assert (m.netG, m.norm, m.gan_mode, m.lambda_L1, m.dropout) == ("unet_256", "batch", "vanilla", 100.0, True)
    assert config.name == "pairs"


def test_overrides_win_and_are_coerced_to_the_field_type():
    overrides = parse_set(["train.lr=1e-4", "model.dropout=false", "train.steps_per_epoch=none"])
    overrides["data"] = {"direction": "BtoA"}
    config = resolve_config(recipe="facades", overrides=overrides)
    assert config.train.lr == 1e-4 and config.model.dropout is False
    assert config.train.steps_per_epoch is None and config.data.direction == "BtoA"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"train": {"lrate": "1"}}, "unknown key train.lrate; valid keys: train.epochs"),
        ({"modle": {"ngf": 3}}, "unknown section 'modle'"),
        ({"model": {"netG": "resnet_10"}}, "model.netG='resnet_10' is not valid"),
        ({"train": {"epochs": "ten"}}, "train.epochs: 'ten' is not a valid int"),
        ({"data": {"batch_size": 0}}, "data.batch_size must be >= 1 (got 0)"),
        ({"train": {"steps_per_epoch": -1}}, "train.steps_per_epoch must be >= 1 (got -1)"),
        ({"train": {"sample_every": 0}}, "train.sample_every must be >= 1 (got 0)"),
        ({"train": {"num_samples": 0}}, "train.num_samples must be >= 1 (got 0)"),
        ({"train": {"lr": 0}}, "train.lr must be > 0.0 (got 0.0)"),
        ({"train": {"beta_1": 1}}, "train.beta_1 must be in [0.0, 1.0) (got 1.0)"),
        ({"model": {"pool_size": -1}}, "model.pool_size must be >= 0 (got -1)"),
        ({"model": {"lambda_A": -10}}, "model.lambda_A must be >= 0.0 (got -10.0)"),
        ({"data": {"load_size": 0}}, "data.load_size must be >= 1 (got 0)"),
        ({"data": {"crops_per_image": 0}}, "data.crops_per_image must be >= 1 (got 0)"),
        ({"model": 5}, "section 'model' must be a mapping"),
        ({"data": {"direction": "up"}}, "data.direction must be AtoB or BtoA"),
    ],
)
def test_bad_options_give_one_line_errors(overrides, message):
    with pytest.raises(UserError, match="^.*" + re.escape(message)) as err:
        resolve_config(recipe="horse2zebra", overrides=overrides)
    assert "\n" not in str(err.value)


def test_bad_set_syntax_and_unknown_recipe():
    with pytest.raises(UserError, match="expected section.key=value"):
        parse_set(["lr=3"])
    with pytest.raises(UserError, match="unknown recipe 'horse2zebro'; built-in recipes: .*horse2zebra"):
        resolve_config(recipe="horse2zebro")
    with pytest.raises(UserError, match="unknown model 'pix3pix'"):
        resolve_config(model="pix3pix", data="x")


def test_recipe_file_with_broken_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("model:\n  kind: cyclegan\n   netG: [unclosed\n")
    with pytest.raises(UserError, match=r"mine\.yaml: line \d+ is not valid YAML"):
        resolve_config(recipe=str(bad))


def test_config_round_trips_through_the_run_directory_file(tmp_path):
    config = resolve_config(recipe="facades", overrides={"train": {"epochs": 3}})
    save_config(config, tmp_path / "config.yaml")
    assert to_dict(load_config(tmp_path / "config.yaml")) == to_dict(config)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]["kind"] == "pix2pix"


def test_a_recipe_file_of_ones_own(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"name": "mine", "model": {"kind": "pix2pix", "ngf": 32},
                                    "data": {"dataset": str(tmp_path)}}))
    config = resolve_config(recipe=str(mine))
    assert (config.name, config.model.kind, config.model.ngf, config.model.netG) == ("mine", "pix2pix", 32, "unet_256")
    assert from_dict(to_dict(config)).model.ngf == 32


def test_crop_size_must_fit_the_generator():
    with pytest.raises(UserError, match="data.crop_size=200 does not fit model.netG=unet_256, which needs multiples of 256"):
        resolve_config(recipe="facades", overrides={"data": {"crop_size": 200}})


def test_fit_flags_map_to_options_and_the_load_size_follows_the_crop():
    """The flag table of `translate fit`, used the same way from Python."""
    from translate.config import fit_overrides

    overrides = fit_overrides(name="mine", size=128, sets=["train.lr=1e-3"], epochs=3, lr=5e-4,
                              netG="unet_128", data=None)
    assert overrides == {
        "name": "mine",
        "train": {"epochs": 3, "lr": "1e-3"},  # --set wins, coerced when resolved
        "model": {"netG": "unet_128"},
        "data": {"crop_size": 128, "load_size": 143},
    }
    config = resolve_config(recipe="facades", overrides=overrides)
    assert (config.train.lr, config.data.load_size, config.name) == (1e-3, 143, "mine")
