"""Text given for a number (and the like) is refused in one line by every entry point, before any work."""

import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from giraffehd.config_types import is_group_choice, kind_problem, require, resolved_device

MODEL = str(Path(__file__).resolve().parents[1] / "models" / "demo_car_64.pt")


def test_kinds():
    assert kind_problem(4000, 12) is None and kind_problem(4000, "abc") == "an integer"
    assert kind_problem(4000, 2.5) == "an integer" and kind_problem(4000, True) == "an integer"
    assert kind_problem(0.5, 1) is None and kind_problem(0.5, "x") == "a number" and kind_problem(0.5, False)
    assert kind_problem(True, False) is None and kind_problem(True, "yes") == "true or false"
    assert kind_problem([1, 2], [3]) is None and kind_problem([1, 2], 3) == "a list, such as [a,b]"
    assert kind_problem("path", 3) is None and kind_problem(None, "anything") is None


def test_group_choices_are_not_values():
    assert is_group_choice("experiment=demo") and is_group_choice("model/compositor=features")
    assert is_group_choice("+experiment=demo") and not is_group_choice("trainer.max_steps=4")
    assert not is_group_choice("seed=3")


def _entry(module: str):
    import importlib

    return importlib.import_module(module).main


@pytest.mark.parametrize(
    ("module", "arguments", "message"),
    [
        ("giraffehd.train", ["experiment=demo", "trainer.max_steps=abc"],
         "giraffehd-train: error: trainer.max_steps must be an integer (its default is 4000), got 'abc'"),
        ("giraffehd.train", ["experiment=demo", "training.ema_decay=high"],
         "giraffehd-train: error: training.ema_decay must be a number (its default is 0.995), got 'high'"),
        ("giraffehd.sweeps.cli", [f"checkpoint={MODEL}", "steps=eight"],
         "giraffehd-render: error: steps must be an integer (its default is 8), got 'eight'"),
        ("giraffehd.sweeps.cli", [f"checkpoint={MODEL}", "depth=maybe"],
         "giraffehd-render: error: depth must be true or false (its default is False), got 'maybe'"),
        ("giraffehd.evaluation.car.cli", [f"checkpoint={MODEL}", "threads=two"],
         "giraffehd-eval: error: threads must be an integer or null (its default is null), got 'two'"),
        ("giraffehd.evaluation.scenes.cli", ["num_scenes=forty"],
         "giraffehd-eval-scenes: error: num_scenes must be an integer (its default is 40), got 'forty'"),
        ("giraffehd.mesh.cli", [f"checkpoint={MODEL}", "threshold=abc"],
         "giraffehd-export-mesh: error: threshold must be a number or null (its default is null), got 'abc'"),
        ("giraffehd.train", ["experiment=demo", "training.crop_size=big"],
         "giraffehd-train: error: training.crop_size must be an integer or null (its default is null), got 'big'"),
        ("giraffehd.viewer.cli", ["port=http"],
         "giraffehd-view: error: port must be an integer (its default is 8080), got 'http'"),
    ],
)  # fmt: skip
def test_text_for_a_number_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, module, arguments, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["entry", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        _entry(module)()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == message
    assert not list(tmp_path.iterdir())  # nothing written


def test_device_is_checked_and_resolved_in_one_place():
    assert resolved_device("cpu") == "cpu"
    assert resolved_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be cpu, cuda or auto, got 'gpu'"):
        resolved_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device is cuda, but no CUDA device is available"):
            resolved_device("cuda")


def test_a_failed_rule_names_the_key_and_the_value_given():
    cfg = OmegaConf.create({"fid": {"num_samples": 1}})
    require(cfg, True, "fid.num_samples", "must be at least 2")
    with pytest.raises(ValueError, match=r"^fid.num_samples must be at least 2, got 1$"):
        require(cfg, cfg.fid.num_samples >= 2, "fid.num_samples", "must be at least 2")
