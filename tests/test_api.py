"""translate.api: the commands as Python functions, with the CLI's checks and defaults."""

from pathlib import Path

import pytest

from translate import api
from translate.errors import UserError


@pytest.mark.slow  # a short fit, an export and an evaluation
def test_the_readme_python_example_runs_on_a_small_demo(tmp_path, monkeypatch):
    from translate.data import resolve_dataset

    monkeypatch.chdir(tmp_path)
    run = api.fit(recipe="demo", epochs=1, epochs_decay=0, steps_per_epoch=2, size=32,
                  batch_size=2, sets=["model.ngf=8", "model.ndf=8"])
    assert run == Path("runs/demo-1") and (run / "metrics.csv").is_file()

    photos = resolve_dataset("shapes").root / "testA"
    summary = api.apply(run, photos, "translated/")
    assert summary.done == len(list(photos.glob("*.png"))) and not summary.failed
    assert api.apply(run, photos, "translated/").skipped == summary.done  # as the CLI: resumes

    export = api.export(run, "serving/")
    assert export == Path("serving/demo/1") and (export / "saved_model.pb").is_file()

    report = api.evaluate(run, "shapes", max_images=4)
    assert report["images"] == 4 and report["baseline"] == "identity"
    assert Path(report["report_path"]) == run / "eval" / "shapes-test.json"


def test_the_api_refuses_what_the_cli_refuses(tmp_path):
    with pytest.raises(UserError, match="unknown option 'epoch'"):
        api.fit(recipe="demo", epoch=3)
    with pytest.raises(UserError, match="--resume .*not a run directory"):
        api.fit(resume=tmp_path)
    with pytest.raises(UserError, match="--format gif"):
        api.apply(tmp_path, tmp_path, tmp_path / "out", fmt="gif")
    with pytest.raises(UserError, match="--quality 0"):
        api.apply(tmp_path, tmp_path, tmp_path / "out", fmt="jpg", quality=0)
    with pytest.raises(UserError, match="not a run directory"):
        api.export(tmp_path, tmp_path / "serving")
    with pytest.raises(UserError, match="DATA .*no such folder nor dataset name"):
        api.evaluate(tmp_path, tmp_path / "nothing-here")
