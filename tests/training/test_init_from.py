import pytest
import torch
from conftest import tiny_generator

from giraffehd.config import build_model
from giraffehd.model_io import read_generator_state
from giraffehd.torch_files import CheckpointError
from giraffehd.training.init_from import init_generators


def test_matching_tensors_are_loaded_into_both_generators_and_the_rest_left_fresh(tiny_run):
    source, _, _ = read_generator_state(tiny_run)
    # Another output resolution: the 3D half and the mapping networks match, the 2D renderers only in part.
    generator, ema = build_model("tiny", ["image_resolution=64"]), build_model("tiny", ["image_resolution=64"])
    fresh_before = {k: v.clone() for k, v in generator.state_dict().items()}
    report = init_generators(tiny_run, generator, ema)
    assert report.fresh and all(k.startswith("compositor.") for k in report.fresh)
    for module in (generator, ema):
        state = module.state_dict()
        for key in report.loaded:
            assert torch.equal(state[key], source[key]), key
    for key in report.fresh:
        assert torch.equal(generator.state_dict()[key], fresh_before[key]), key
    assert {k for k in report.loaded if k.startswith("features.")} == {k for k in source if k.startswith("features.")}
    assert "loaded" in report.summary() and "left fresh" in report.summary()


def test_a_missing_source_is_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="missing.pt"):
        init_generators(tmp_path / "missing.pt", tiny_generator(), tiny_generator())
