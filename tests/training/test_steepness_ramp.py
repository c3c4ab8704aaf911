"""The mask steepness ramp: its closed form, its checks, and the training step that applies it."""

import pytest
import torch

from giraffehd.model.generator import Generator
from giraffehd.train import build_module, train
from giraffehd.training.preflight import check_config
from giraffehd.training.steepness_ramp import SteepnessRamp

RAMP = "training.mask_steepness_ramp={start:1.0,from_step:0,to_step:2}"


@pytest.mark.parametrize(("step", "expected"), [(0, 2.0), (100, 2.0), (150, 5.0), (175, 6.5), (200, 8.0), (10**6, 8.0)])
def test_ramp_is_flat_then_linear_then_the_final_steepness(step, expected):
    assert SteepnessRamp(start=2.0, from_step=100, to_step=200).at(step, final=8.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("start", "from_step", "to_step", "message"),
    [
        (0.5, 0, 10, r"^start must be at least 1 .*got 0\.5$"),
        (2.0, 10, 10, r"^from_step must be at least 0 and below to_step, got from_step=10, to_step=10$"),
        (2.0, -1, 5, r"^from_step must be .* got from_step=-1, to_step=5$"),
    ],
)
def test_bad_ramps_are_refused(start, from_step, to_step, message):
    with pytest.raises(ValueError, match=message):
        SteepnessRamp(start=start, from_step=from_step, to_step=to_step)


def test_each_training_step_composites_with_the_ramped_steepness(images, tiny_train_config, tmp_path, monkeypatch):
    cfg = tiny_train_config(images, tmp_path / "run", "model.compositor.mask_steepness=3.0", RAMP)
    module = build_module(cfg, check_config(cfg))
    opt_g, opt_d = module.configure_optimizers()
    masks = []
    render = Generator.forward

    def record(self, *args, **kwargs):
        out = render(self, *args, **kwargs)
        masks.append((out.mask.detach(), out.soft_mask.detach()))
        return out

    monkeypatch.setattr(Generator, "forward", record)
    real = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for step, steepness in enumerate([1.0, 2.0, 3.0]):
        module.train_step(real, opt_g, opt_d, step)
        mask, soft = masks[-1]
        torch.testing.assert_close(mask, (steepness * (soft - 0.5) + 0.5).clamp(0, 1))
        assert module.generator_ema.mask_steepness == steepness  # the sample grids render as trained
    assert module.final_mask_steepness == 3.0


def test_a_bad_ramp_in_the_config_names_the_key(images, tiny_train_config, tmp_path):
    bad = "training.mask_steepness_ramp={start:2.0,from_step:5,to_step:1}"
    with pytest.raises(ValueError, match=r"^training\.mask_steepness_ramp\.from_step must be at least 0 and below"):
        train(tiny_train_config(images, tmp_path / "run", bad))
    flat = "training.mask_steepness_ramp={start:0.5,from_step:0,to_step:1}"
    with pytest.raises(ValueError, match=r"^training\.mask_steepness_ramp\.start must be at least 1"):
        train(tiny_train_config(images, tmp_path / "run", flat))
    typo = "training.mask_steepness_ramp={start:2.0,to:1}"
    with pytest.raises(ValueError, match=r"training\.mask_steepness_ramp takes start, from_step and to_step"):
        train(tiny_train_config(images, tmp_path / "run", typo))
    assert not (tmp_path / "run").exists()
