import json

import pytest
import torch

from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
from giraffehd.evaluation.car.evaluator import Evaluator, EvaluatorError, save_evaluator
from giraffehd.evaluation.scenes.evaluator import (
    ObjectReading,
    SceneEvaluator,
    SceneHeads,
    decode_scenes,
    load_scene_evaluator,
    read_scenes,
    save_scene_evaluator,
)
from giraffehd.evaluation.scenes.evaluator_scores import score_readings
from giraffehd.evaluation.scenes.evaluator_training import (
    SceneEvaluatorTraining,
    build_scene_evaluator,
    scene_loss,
    train_scene_evaluator,
)
from giraffehd.evaluation.scenes.truth import (
    SceneSource,
    draw_scenes,
    exact_counts,
    mirrored,
    projected_centres,
    render_truth,
    scene_targets,
    separated_draws,
)
from giraffehd.scene import ScenePrior

PALETTE = {"red": [0.9, 0.1, 0.1], "blue": [0.1, 0.2, 0.9], "yellow": [0.95, 0.9, 0.2]}
CLEVR_LIKE = ScenePrior(
    z_dim=1,
    num_objects=3,
    min_objects=2,
    elevation_deg=[25, 40],
    fov_deg=[30, 30],
    azimuth_deg=[-30, 30],
    translation=[[-0.5, 0.5], [0, 0], [-0.5, 0.5]],
    scale=[[0.12, 0.16]] * 3,
)
SOURCE = SceneSource(CLEVR_LIKE, SyntheticSpec(["box", "sphere"], PALETTE))


def logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p / (1 - p))


def two_object_heads() -> tuple[SceneHeads, dict]:
    """16 x 16 heads: object A (class 1, colour 2) left, object B (class 0, colour 1) right, exact offsets."""
    h = w = 16
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    xy = torch.stack([cols, rows], dim=-1).float() + 0.5
    centre_a, centre_b = torch.tensor([4.8, 5.3]), torch.tensor([11.2, 9.6])
    heat = torch.zeros(h, w)
    for centre in (centre_a, centre_b):  # a Gaussian peaking at the pixel holding the centre
        peak = centre.floor() + 0.5
        heat = torch.maximum(heat, 0.9 * torch.exp(-(xy - peak).square().sum(-1) / 2))
    in_a = (cols <= 7) & (rows >= 2) & (rows <= 8)  # 6 x 7 block
    in_b = (cols >= 9) & (cols <= 13) & (rows >= 7) & (rows <= 12)
    # Object A's pixel (row 8, col 7) lies nearer B's peak but its offset points at A: it joins A.
    labels = torch.where(in_a, 2, torch.where(in_b, 1, 0))
    labels[2, 0] = 1  # one pixel of A says class 0: the majority still says class 1
    colours = torch.where(in_a, 2, 1)
    colours[3, 1] = 0
    centre = torch.where(in_a[..., None], centre_a, centre_b)
    offsets = torch.where((in_a | in_b)[..., None], centre - xy, torch.zeros(2))
    heads = SceneHeads(
        centre_logits=logit(heat.clamp(1e-4, 1 - 1e-4))[None, None],
        class_logits=8 * torch.nn.functional.one_hot(labels, 3).permute(2, 0, 1)[None].float(),
        colour_logits=8 * torch.nn.functional.one_hot(colours, 3).permute(2, 0, 1)[None].float(),
        offsets=offsets.permute(2, 0, 1)[None],
    )
    return heads, {"a": in_a, "b": in_b, "centre_a": centre_a, "centre_b": centre_b}


def test_decoding_finds_two_objects_and_groups_their_pixels():
    heads, truth = two_object_heads()
    (reading,) = decode_scenes(heads, (16, 16), threshold=0.3)
    assert reading.count == 2
    first = int(reading.centres[:, 0].argmin())  # A is the left one
    a, b = first, 1 - first
    assert torch.allclose(reading.centres[a], truth["centre_a"], atol=1e-4)
    assert torch.allclose(reading.centres[b], truth["centre_b"], atol=1e-4)
    assert torch.equal(reading.masks[a], truth["a"]) and torch.equal(reading.masks[b], truth["b"])
    assert not (reading.masks[0] & reading.masks[1]).any()
    assert reading.class_index.tolist()[a] == 1 and reading.class_index.tolist()[b] == 0
    assert reading.colour_index.tolist()[a] == 2 and reading.colour_index.tolist()[b] == 1


def test_decoding_reports_in_the_input_images_pixels():
    heads, truth = two_object_heads()
    (reading,) = decode_scenes(heads, (32, 32), threshold=0.3)
    assert reading.masks.shape == (2, 32, 32) and not (reading.masks[0] & reading.masks[1]).any()
    a = int(reading.centres[:, 0].argmin())
    assert torch.allclose(reading.centres[a], 2 * truth["centre_a"], atol=1e-4)
    assert reading.masks[a].sum() == 4 * truth["a"].sum()
    quiet = SceneHeads(
        torch.full((1, 1, 16, 16), -9.0), *(getattr(heads, f) for f in ("class_logits", "colour_logits", "offsets"))
    )
    (empty,) = decode_scenes(quiet, (16, 16), threshold=0.3)
    assert empty.count == 0 and empty.masks.shape == (0, 16, 16)


def test_targets_peak_at_visible_centres_and_mirror():
    counts = exact_counts(2, 3)
    assert counts.tolist() == [1, 2, 3, 1, 2, 3]
    draws = draw_scenes(SOURCE, 5, 6, counts)
    assert draws[0].object_present.sum(dim=1).tolist() == counts.tolist()
    truth = render_truth(SOURCE, draws, 32, min_visible_pixels=4)
    targets = scene_targets(truth, sigma=1.5)
    peaks = (targets.heatmap[:, 0] == 1).flatten(1).sum(dim=1)
    assert torch.equal(peaks, truth.visible.sum(dim=1))
    b, n = truth.visible.nonzero()[0].tolist()
    x, y = truth.centres[b, n].floor().long().tolist()
    assert targets.heatmap[b, 0, y, x] == 1
    # Offsets point from each foreground pixel to its object's centre.
    rows, cols = targets.foreground[b].nonzero().T
    pointed = torch.stack([cols, rows], dim=-1) + 0.5 + targets.offsets[b, :, rows, cols].T
    assert torch.allclose(pointed, truth.centres[b, truth.owner[b, rows, cols].long()])
    flipped = scene_targets(mirrored(truth, torch.ones(6, dtype=torch.bool)), sigma=1.5)
    assert torch.equal(flipped.labels, targets.labels.flip(-1))
    assert torch.allclose(flipped.offsets[:, 0], -targets.offsets[:, 0].flip(-1), atol=1e-5)


def test_separated_scenes_keep_their_centres_apart():
    scene, _, _ = separated_draws(SOURCE, 7, num_per_count=3, max_count=3, resolution=64, min_separation_px=12)
    assert sorted(scene.object_present.sum(dim=1).tolist()) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    centres = projected_centres(scene, 64)
    for b in range(scene.batch_size):
        present = centres[b, scene.object_present[b]]
        spacing = torch.cdist(present, present) + 99 * torch.eye(len(present))
        assert spacing.min() >= 12


def test_centres_follow_the_datasets_convention(tmp_path):
    synthesize(tmp_path / "set", CLEVR_LIKE, SOURCE.spec, 3, 32, seed=4)
    records = json.loads((tmp_path / "set" / "labels.json").read_text())["images"]
    truth = render_truth(SOURCE, draw_scenes(SOURCE, 4, 3), 32, min_visible_pixels=1)
    for b, record in enumerate(records):
        for item in record["objects"]:
            assert torch.allclose(truth.centres[b, item["slot"]], torch.tensor(item["centre_pixel"]), atol=2e-3)


def test_perfect_readings_score_perfectly():
    truth = render_truth(SOURCE, draw_scenes(SOURCE, 6, 4, exact_counts(2, 2)), 32, min_visible_pixels=4)
    readings = []
    for b in range(4):
        slots = truth.visible[b].nonzero()[:, 0]
        masks = truth.owner[b][None] == slots[:, None, None]
        readings.append(
            ObjectReading(truth.centres[b, slots], truth.class_index[b, slots], truth.colour_index[b, slots], masks)
        )
    scores = score_readings(readings, truth.centres, truth.class_index, truth.colour_index, truth.visible, truth.owner)
    assert scores["all"]["count_accuracy"] == 1 and scores["all"]["mask_iou"] == 1
    assert scores["all"]["centre_error_px"] == 0 and scores["all"]["missed"] == scores["all"]["spurious"] == 0
    scores = score_readings(
        readings[1:] + readings[:1], truth.centres, truth.class_index, truth.colour_index, truth.visible, truth.owner
    )
    assert scores["all"]["count_accuracy"] < 1 and scores["all"]["mask_iou"] < 1


def test_saved_scene_evaluator_reads_the_same(tmp_path):
    torch.manual_seed(3)
    evaluator = SceneEvaluator(["box", "sphere"], list(PALETTE), resolution=32, channels=(4, 8, 8, 8)).eval()
    with torch.no_grad():
        evaluator.heads.bias[0] = 2.0  # peaks everywhere the heatmap is a local maximum: objects to compare
    path = save_scene_evaluator(evaluator, tmp_path / "scene.pt", {"heldout": {"all": {"mask_iou": 0.5}}})
    loaded = load_scene_evaluator(path)
    assert (loaded.classes, loaded.palette, loaded.resolution) == (["box", "sphere"], list(PALETTE), 32)
    assert loaded.report == {"heldout": {"all": {"mask_iou": 0.5}}} and not loaded.training
    images = torch.rand(2, 3, 48, 48)
    for ours, theirs in zip(read_scenes(evaluator, images), read_scenes(loaded, images), strict=True):
        assert ours.count == theirs.count > 0 and ours.masks.shape[1:] == (48, 48)
        assert torch.equal(ours.centres, theirs.centres) and torch.equal(ours.masks, theirs.masks)


def test_bad_scene_evaluator_files_say_so_in_one_line(tmp_path):
    (tmp_path / "corrupt.pt").write_bytes(b"not a torch file")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    car = Evaluator(32, ["car"], ["red"], elevation_range=[0, 10], translation_ranges=[[0, 0]] * 3)
    save_evaluator(car, {}, tmp_path / "car.pt")  # the single-object evaluator's file
    cases = {
        "missing.pt": "scene evaluator not found: .*missing.pt",
        "corrupt.pt": "cannot read scene evaluator .*corrupt.pt",
        "foreign.pt": "foreign.pt is not a giraffehd scene evaluator",
        "car.pt": "car.pt is not a giraffehd scene evaluator",
    }
    for name, message in cases.items():
        with pytest.raises(EvaluatorError, match=message) as error:
            load_scene_evaluator(tmp_path / name)
        assert "\n" not in str(error.value)


def test_settings_name_the_bad_key():
    with pytest.raises(ValueError, match="scene_evaluator_training.epochs"):
        SceneEvaluatorTraining(epochs=0)
    with pytest.raises(ValueError, match="scene_evaluator_training.heldout_seed"):
        SceneEvaluatorTraining(scene_seed=3, heldout_seed=3)


def test_tiny_training_is_deterministic_and_learns():
    # Trivially easy: one big sphere in red, blue or yellow, in front of a fixed camera.
    prior = ScenePrior(
        z_dim=1,
        elevation_deg=[30, 30],
        fov_deg=[30, 30],
        translation=[[-0.3, 0.3], [0, 0], [0, 0]],
        scale=[[0.3, 0.3]] * 3,
    )
    source = SceneSource(prior, SyntheticSpec(["sphere"], PALETTE), supersampling=1)
    settings = SceneEvaluatorTraining(
        resolution=16,
        channels=(4, 8, 8, 8),
        num_train=64,
        epochs=16,
        batch_size=16,
        heldout_per_count=16,
        validation_per_count=4,
        max_count=1,
        lr=1e-2,
    )
    first, report = train_scene_evaluator(source, settings, progress=False)
    second, again = train_scene_evaluator(source, settings, progress=False)
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[key]), key
    assert report["heldout"] == again["heldout"] and first.report is report
    untrained = build_scene_evaluator(source, settings).eval()  # the same initial weights
    truth = render_truth(source, draw_scenes(source, 9, 32), 16, settings.min_visible_pixels)
    targets = scene_targets(truth, settings.heatmap_sigma)

    def measure(evaluator: SceneEvaluator) -> tuple[float, float]:
        """The loss on fresh scenes, and the share of object pixels given their object's colour."""
        with torch.no_grad():
            heads = evaluator(truth.images.float() / 255)
        colours = heads.colour_logits.argmax(dim=1)[targets.foreground] == targets.colours[targets.foreground]
        return scene_loss(heads, targets).item(), colours.float().mean().item()

    (loss, colour), (loss_before, colour_before) = measure(first), measure(untrained)
    assert loss < 0.3 * loss_before and colour > colour_before + 0.2
    assert report["heldout"]["1"]["count_accuracy"] >= 0.75  # the lone sphere is found
