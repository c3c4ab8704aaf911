"""Every data preset composes with its pose priors, builds a ScenePrior and instantiates its DataModule."""

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from giraffehd.config_types import CONF_DIR
from giraffehd.data.cli import main as data_main
from giraffehd.data.datamodule import ImageDataModule
from giraffehd.scene import ScenePrior

DATA_PRESETS = sorted(p.stem for p in (Path(CONF_DIR) / "data").glob("*.yaml"))
PAIRED = {"compcars", "ffhq", "afhq_cat", "lsun_church", "clevr", "synthetic_car", "synthetic_clevr"}


def _compose(*overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("synth", list(overrides))


def test_the_issue_presets_exist():
    assert PAIRED | {"image_folder"} <= set(DATA_PRESETS)


@pytest.mark.parametrize("preset", DATA_PRESETS)
def test_preset_composes_with_its_priors_and_instantiates(preset, tmp_path):
    for i in range(4):
        Image.fromarray(np.full((40, 30, 3), 40 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    cfg = _compose(
        f"data={preset}", f"data.path={tmp_path}", "data.batch_size=2", "data.num_workers=0", "data.resolution=16"
    )
    expected = preset if preset in PAIRED else "synthetic_car"  # unpaired: the primary config's choice
    choices = OmegaConf.to_container(cfg, resolve=False)
    assert choices["camera"] == OmegaConf.to_container(_compose(f"camera={expected}").camera)
    assert choices["objects"] == OmegaConf.to_container(_compose(f"objects={expected}").objects)
    prior = ScenePrior.from_groups(choices["camera"], choices["objects"])
    assert prior.fov_deg.low > 0
    module = instantiate(cfg.data)
    assert isinstance(module, ImageDataModule)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert tuple(batch.shape) == (2, 3, 16, 16)


def test_real_presets_require_a_path():
    cfg = _compose("data=ffhq")
    assert OmegaConf.is_missing(cfg.data, "path")


def test_synth_refuses_a_real_data_preset(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        data_main(["synth", "data=ffhq", f"output={tmp_path / 'x'}"])
    assert exit_info.value.code == 2  # bad input, not a crash
    assert "not a synthetic preset" in capsys.readouterr().err


def test_command_line_camera_and_objects_win_over_the_data_pairing():
    cfg = _compose("data=ffhq", "camera=clevr", "objects=lsun_church")
    assert cfg.camera == _compose("camera=clevr").camera
    assert cfg.objects == _compose("objects=lsun_church").objects
    cfg = _compose("data=image_folder", "camera=ffhq")
    assert cfg.camera == _compose("camera=ffhq").camera
