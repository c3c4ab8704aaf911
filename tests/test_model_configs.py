"""Every model preset in conf/model composes, builds the generator it describes and renders one scene."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from giraffehd.config import compose_config
from giraffehd.model.anchored_compositor import AnchoredCompositor
from giraffehd.model.feature_compositor import FeatureCompositor
from giraffehd.model.generator import Generator
from giraffehd.model.image_compositor import ImageCompositor
from giraffehd.scene import ScenePrior

MODEL_DIR = Path(__file__).resolve().parent.parent / "conf" / "model"
PRESETS = sorted(p.stem for p in MODEL_DIR.glob("*.yaml"))  # not compositor/: a part, not a preset
# What each preset is meant to be: its layout (GIRAFFE HD's image compositing or GIRAFFE's feature
# compositing) and output resolution. A new preset needs a line here.
EXPECTED = {
    "demo_image": (ImageCompositor, 32),
    "demo_64": (FeatureCompositor, 64),
    "demo_features": (FeatureCompositor, 32),
    "giraffehd_lean_256": (ImageCompositor, 256),
    "giraffehd_64": (ImageCompositor, 64),
    "giraffehd_1024": (ImageCompositor, 1024),
    "giraffehd_256": (ImageCompositor, 256),
    "giraffe_64": (FeatureCompositor, 64),
    "giraffehd_anchored_256": (AnchoredCompositor, 256),
    "giraffehd_anchored_1024": (AnchoredCompositor, 1024),
    "hd_car_256": (AnchoredCompositor, 256),
    "small": (ImageCompositor, 32),
    "tiny": (ImageCompositor, 32),
}


def _model_config(preset: str):
    return compose_config("train", [f"model={preset}"]).model


def test_every_preset_has_an_expected_layout():
    assert set(PRESETS) == set(EXPECTED)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_builds_the_generator_it_describes(preset):
    cfg = _model_config(preset)
    layout, resolution = EXPECTED[preset]
    with torch.device("meta"):  # every constructor runs; no weights are allocated
        generator = instantiate(cfg)
    assert isinstance(generator, Generator) and type(generator.compositor) is layout
    assert generator.image_resolution == cfg.image_resolution == resolution
    assert generator.feature_resolution == cfg.feature_resolution == generator.features.resolution
    assert generator.z_dim == cfg.styles.z_dim
    assert generator.mask_steepness == cfg.compositor.mask_steepness >= 1


def _render_params():
    large = pytest.mark.slow  # a 256 or 1024 px render takes long on 2 CPU cores
    return [pytest.param(p, marks=large) if EXPECTED.get(p, (None, 0))[1] >= 256 else p for p in PRESETS]


@pytest.mark.parametrize("preset", _render_params())
def test_preset_renders_one_scene(preset):
    cfg = _model_config(preset)
    torch.manual_seed(0)
    generator = instantiate(cfg)
    scene = ScenePrior(z_dim=cfg.styles.z_dim).sample(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = generator(scene)
    assert out.image.shape == (1, 3, cfg.image_resolution, cfg.image_resolution)
    assert torch.isfinite(out.image).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_has_a_fingerprint_for_its_pose_encoder(preset):
    from giraffehd.inversion.encoder import generator_fingerprint

    torch.manual_seed(0)
    generator = instantiate(_model_config(preset))
    first = generator_fingerprint(generator)
    zero_dimensional = [p for p in generator.parameters() if p.dim() == 0]  # noise strengths, where there are any
    for parameter in [next(generator.parameters()), *zero_dimensional[:1]]:
        kept = parameter.detach().clone()
        with torch.no_grad():
            parameter.add_(1.0)
            assert generator_fingerprint(generator) != first  # the weights it covers, whatever their shape
            parameter.copy_(kept)
    assert generator_fingerprint(generator) == first


def test_every_shipped_model_has_its_own_fingerprint_and_its_encoder_is_accepted():
    from giraffehd.inversion.encoder import generator_fingerprint, load_encoder
    from giraffehd.model_io import load_model

    generators = {name: load_model(f"models/{name}.pt").generator for name in ("demo_car_64", "hd_car_256", "clevr_64")}
    fingerprints = {name: generator_fingerprint(generator) for name, generator in generators.items()}
    assert len(set(fingerprints.values())) == 3  # three models, three fingerprints
    for name in ("demo_car_64", "hd_car_256"):  # the shipped encoders: refused if the fingerprint differed
        load_encoder(f"models/{name}.encoder.pt", generators[name])
