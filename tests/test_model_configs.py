"""Every model preset in conf/model composes, instantiates and renders one scene."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from giraffehd.generator import Generator
from giraffehd.scene import ScenePrior

MODEL_DIR = Path(__file__).resolve().parent.parent / "conf" / "model"
PRESETS = sorted(p.stem for p in MODEL_DIR.glob("*.yaml"))


def test_presets_exist():
    assert {"tiny", "giraffe_cars_64", "giraffe_256"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_instantiates_and_renders(preset):
    with initialize_config_dir(config_dir=str(MODEL_DIR), version_base="1.3"):
        cfg = compose(preset)
    generator = instantiate(cfg)
    assert isinstance(generator, Generator)
    assert generator.image_resolution == cfg.image_resolution
    assert generator.feature_resolution == cfg.feature_resolution
    scene = ScenePrior(z_dim=cfg.z_dim).sample(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = generator(scene)
    assert out.image.shape == (1, 3, cfg.image_resolution, cfg.image_resolution)
    assert torch.isfinite(out.image).all()
