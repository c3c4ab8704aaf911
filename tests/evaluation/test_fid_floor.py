"""fid_floor.py: the reference set of FID/KID and the real images of its floor, which are never reference images."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from giraffehd.data.synthetic.renderer import Lighting
from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
from giraffehd.evaluation.quality import fid_floor
from giraffehd.evaluation.quality.fid_floor import (
    floor_folder,
    holdout_split,
    reference_set,
    render_floor,
    seeds_overlap,
    synthetic_root,
)
from giraffehd.scene import ScenePrior

NUM_IMAGES = 8


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """8 synthetic cars at 32 px (seed 0), in a folder of this module's own."""
    root = tmp_path_factory.mktemp("floor") / "cars"
    prior = ScenePrior(z_dim=1, elevation_deg=[10, 30], scale=[[0.2, 0.2]] * 3, translation=[[0, 0]] * 3)
    synthesize(root, prior, SyntheticSpec(["car"], {"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]}), NUM_IMAGES, 32)
    return root


def pixels(files):
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def test_the_floor_is_fresh_renders_beside_the_dataset_none_of_them_a_reference_image(dataset):
    files, source = render_floor(dataset, 4)
    folder = floor_folder(dataset, 1)
    assert folder == dataset.parent / "cars_fid_floor_seed1" and str(folder) in source and "seed 1" in source
    assert [f.parent for f in files] == [folder / "images"] * 4
    assert json.loads((folder / "labels.json").read_text())["seed"] == 1
    reference = pixels(sorted((dataset / "images").iterdir()))
    for image in pixels(files):
        assert image.shape == reference[0].shape
        assert not any(np.array_equal(image, real) for real in reference)
    assert sorted(p.name for p in dataset.iterdir()) == ["images", "labels.json", "masks"]  # nothing written inside


def test_the_floor_is_rendered_once_and_again_only_when_more_images_are_asked_for(dataset, monkeypatch):
    first, _ = render_floor(dataset, 4, seed=5)
    renders = []
    original = fid_floor._render
    monkeypatch.setattr(fid_floor, "_render", lambda *args: renders.append(args) or original(*args))
    again, _ = render_floor(dataset, 3, seed=5)
    assert again == first[:3] and renders == []
    more, _ = render_floor(dataset, 6, seed=5)
    assert len(more) == 6 and len(renders) == 2  # the reproduction check, then the floor itself
    # Image i depends only on (seed, i): the larger floor starts with the same images.
    assert more[:4] == first and all(np.array_equal(a, b) for a, b in zip(pixels(more[:4]), pixels(first), strict=True))


def test_a_floor_seed_that_would_redraw_dataset_images_is_refused(dataset):
    with pytest.raises(ValueError, match="floor seed 0 would render images of"):
        render_floor(dataset, 2, seed=0)


def test_image_seeds_overlap_exactly_when_their_ranges_meet():
    assert not seeds_overlap(0, 10_000, 1, 2000)  # seeds 0..9999 and 1000003..1002002
    assert seeds_overlap(0, 1_000_004, 1, 1)
    assert not seeds_overlap(0, 1_000_003, 1, 1)
    assert seeds_overlap(0, 10, 0, 1)
    assert not seeds_overlap(1, 5, 0, 1_000_003) and seeds_overlap(1, 5, 0, 1_000_004)


def test_a_dataset_the_renderer_does_not_reproduce_gets_no_floor(dataset, tmp_path):
    altered = tmp_path / "altered"
    shutil.copytree(dataset, altered)
    labels = json.loads((altered / "labels.json").read_text())
    labels["palette"] = {"green": [0.1, 0.6, 0.2], "white": [0.9, 0.9, 0.9]}
    (altered / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(ValueError, match="the renderer does not reproduce .* use fid.floor=false"):
        render_floor(altered, 2)
    assert not floor_folder(altered, 1).exists()


def test_a_set_drawn_with_its_own_lighting_and_supersampling_gets_a_floor_drawn_the_same_way(tmp_path):
    """The CLEVR-like set has lighting of its own: labels.json records it, and the floor renders with it."""
    lighting = Lighting(direction=(0.3, 0.9, 0.4), ambient=0.4, backdrop_top=(0.62,) * 3, backdrop_bottom=(0.5,) * 3)
    spec = SyntheticSpec(["sphere", "box"], {"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]}, lighting)
    root = tmp_path / "lit"
    synthesize(root, ScenePrior(z_dim=1, num_objects=2, scale=[[0.2, 0.2]] * 3), spec, 2, 32, supersampling=1)
    labels = json.loads((root / "labels.json").read_text())
    assert labels["lighting"]["ambient"] == 0.4 and labels["supersampling"] == 1
    files, _ = render_floor(root, 2)
    again = tmp_path / "again"
    synthesize(again, ScenePrior(z_dim=1, num_objects=2, scale=[[0.2, 0.2]] * 3), spec, 2, 32, seed=1, supersampling=1)
    fresh = pixels(sorted((again / "images").iterdir()))
    assert all(np.array_equal(a, b) for a, b in zip(pixels(files), fresh, strict=True))


def test_a_holdout_split_is_disjoint_complete_ordered_and_seeded():
    files = [Path(f"{i:02d}.png") for i in range(10)]
    rest, held = holdout_split(files, 3, np.random.default_rng(0))
    assert len(held) == 3 and not set(rest) & set(held) and sorted(rest + held) == files
    assert rest == sorted(rest) and held == sorted(held)
    assert holdout_split(files, 3, np.random.default_rng(0)) == (rest, held)
    for bad in (0, 9):
        with pytest.raises(ValueError, match=f"cannot hold out {bad} of 10 images"):
            holdout_split(files, bad, np.random.default_rng(0))


def test_the_reference_of_a_synthetic_dataset_is_its_whole_image_folder(dataset):
    assert synthetic_root(dataset) == synthetic_root(dataset / "images") == dataset
    whole = reference_set(dataset, num_floor=4)
    assert whole.files == sorted((dataset / "images").iterdir()) and whole.num_in_set == NUM_IMAGES
    assert len(whole.floor_files) == 4 and not set(whole.floor_files) & set(whole.files)
    first = reference_set(dataset / "images", num_reference=5)
    assert first.files == whole.files[:5] and first.num_in_set == NUM_IMAGES and first.floor_files is None
    with pytest.raises(ValueError, match=f"num_reference must be from 2 to the {NUM_IMAGES} images"):
        reference_set(dataset, num_reference=NUM_IMAGES + 1)


def test_a_plain_folder_holds_the_floor_out_of_its_reference(dataset, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(dataset / "images", plain)
    assert synthetic_root(plain) is None
    split = reference_set(plain, num_floor=3, floor_seed=0)
    assert len(split.files) == split.num_in_set == NUM_IMAGES - 3 and len(split.floor_files) == 3
    assert sorted(split.files + split.floor_files) == sorted(plain.iterdir())
    assert "held out" in split.floor_source
    assert len(list(plain.iterdir())) == NUM_IMAGES  # nothing rendered, moved or removed
