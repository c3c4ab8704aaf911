"""The pose encoder: its readings, its training on the model's samples, its file, and how inversion starts
from it."""

import math
import sys
from pathlib import Path

import pytest
import torch

from giraffehd.inversion import cli, encoder_cli
from giraffehd.inversion.encoder import (
    EncoderError,
    PoseEncoder,
    PoseGuess,
    default_encoder_path,
    load_encoder,
    save_encoder,
)
from giraffehd.inversion.encoder_training import (
    EncoderTraining,
    augment,
    heading_target,
    knobs_of,
    repaint,
    train_pose_encoder,
)
from giraffehd.inversion.optimise import InversionSettings, _Parameters
from giraffehd.media import save_image
from giraffehd.model_io import load_model

MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_car_64.pt"


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def _encoder_reading(logits_at: dict[int, float], bins: int = 72) -> PoseGuess:
    encoder = PoseEncoder(32, (10.0, 30.0), ((-0.1, 0.1), (0.0, 0.0), (-0.2, 0.2)), heading_bins=bins)
    with torch.no_grad():
        encoder.heads.weight.zero_()
        encoder.heads.bias.zero_()
        encoder.heads.bias[:bins] = -30.0
        for index, value in logits_at.items():
            encoder.heads.bias[index] = value
        encoder.heads.bias[bins] = 0.5  # elevation: 3/4 of the way up its range
        encoder.heads.bias[bins + 1 : bins + 4] = torch.tensor([1.0, 0.3, -2.0])  # z clamps at -1
    return encoder.read(torch.rand(2, 3, 48, 48))  # resized to 32


def test_a_reading_is_the_peak_refined_between_bins_and_its_confidence():
    one = _encoder_reading({10: 0.0})  # bin 10 of 72: 50 degrees
    assert one.heading_deg.tolist() == pytest.approx([50.0, 50.0], abs=1e-4)
    assert one.confidence.tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    assert one.elevation_deg.tolist() == pytest.approx([25.0, 25.0])
    assert one.translation[0].tolist() == pytest.approx([0.1, 0.0, -0.2])
    across_zero = _encoder_reading({71: 0.0, 0: 0.0})  # equal at 355 and 0 degrees: halfway, across the wrap
    assert float(across_zero.heading_deg[0]) == pytest.approx(357.5, abs=1e-3)
    torn = _encoder_reading({10: 0.0, 46: 0.0})  # front or back, equally: half sure
    assert float(torn.confidence[0]) == pytest.approx(0.5, abs=1e-4)


def test_the_heading_target_wraps_and_sums_to_one():
    target = heading_target(torch.tensor([0.0, 181.0]), 72, 7.5)
    assert target.sum(dim=1).tolist() == pytest.approx([1.0, 1.0])
    assert int(target[0].argmax()) == 0 and float(target[0, 1]) == pytest.approx(float(target[0, 71]))
    assert int(target[1].argmax()) == 36 and float(target[1, 37]) > float(target[1, 35])


def test_the_knobs_read_back_are_the_scene_s(model):
    scene = model.prior.sample(3, torch.Generator().manual_seed(0)).replace(
        object_rotation_deg=[[-30.0], [370.0], [5.0]]
    )
    knobs = knobs_of(scene, model.prior)
    assert knobs["heading_deg"].tolist() == pytest.approx([330.0, 10.0, 5.0])
    assert knobs["elevation_deg"].tolist() == pytest.approx(scene.camera_elevation_deg.tolist())


def test_repainting_moves_the_body_colour_and_keeps_the_rest():
    image = torch.full((1, 3, 16, 16), 0.55)  # grey backdrop
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 2:14] = 1
    image[..., 4:12, 2:14] = torch.tensor([0.8, 0.1, 0.1])[:, None, None]  # a red body...
    image[..., 4:12, 2:14] *= torch.linspace(0.9, 1.1, 12)  # ...shaded across
    image[..., 10:12, 3:6] = 0.05  # a black wheel
    image[..., 4:6, 6:10] = torch.tensor([0.7, 0.75, 0.8])[:, None, None]  # a grey window
    out = repaint(image, mask, torch.tensor([[0.9, 0.9, 0.9]]))
    body = out[0, :, 6:10, 2:14]
    assert body.mean(dim=(1, 2)).tolist() == pytest.approx([0.9, 0.9, 0.9], abs=0.03)  # now white
    assert torch.allclose(out[..., 10:12, 3:6], image[..., 10:12, 3:6], atol=1e-3)  # wheel kept
    assert torch.allclose(out[..., 4:6, 6:10], image[..., 4:6, 6:10], atol=1e-3)  # window kept
    assert torch.equal(out[..., :4, :], image[..., :4, :])  # backdrop kept


def test_augmenting_is_seeded_and_stays_in_range():
    images, masks = torch.rand(16, 3, 16, 16), (torch.rand(16, 1, 16, 16) > 0.5).float()
    out = augment(images, masks, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, augment(images, masks, torch.Generator().manual_seed(0)))
    assert not torch.equal(out, augment(images, masks, torch.Generator().manual_seed(1)))


def test_the_file_keeps_the_encoder_and_refuses_another_model(model, tmp_path):
    torch.manual_seed(0)
    encoder = PoseEncoder.for_model(model.generator, model.prior)
    path = save_encoder(encoder, {"note": "test"}, tmp_path / "e.pt")
    loaded, report = load_encoder(path, model.generator)
    images = torch.rand(2, 3, 64, 64)
    assert torch.equal(loaded.read(images).heading_probabilities, encoder.eval().read(images).heading_probabilities)
    assert report == {"note": "test"}
    other = load_model(MODEL).generator
    with torch.no_grad():
        next(other.parameters()).add_(1e-3)
    with pytest.raises(EncoderError, match="was trained on another model"):
        load_encoder(path, other)
    with pytest.raises(EncoderError, match="pose encoder not found: .*giraffehd-train-encoder"):
        load_encoder(tmp_path / "missing.pt")
    torch.save({"format": "something else"}, tmp_path / "foreign.pt")
    with pytest.raises(EncoderError, match="is not a giraffehd pose encoder"):
        load_encoder(tmp_path / "foreign.pt")
    assert default_encoder_path("models/a.pt") == Path("models/a.encoder.pt")


def test_training_learns_from_the_model_s_samples(model):
    settings = EncoderTraining(steps=40, batch_size=16, check_images=64, seed=3)
    losses = []
    encoder, report = train_pose_encoder(model.generator, model.prior, settings, lambda n, loss: losses.append(loss))
    assert len(losses) == 40
    assert sum(losses[-8:]) < sum(losses[:8])  # it learns
    errors = report["errors_on_fresh_samples"]
    assert set(errors) >= {"heading_mean_deg", "elevation_mean_deg", "heading_over_90_share"}
    assert report["settings"]["steps"] == 40
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())


def test_fine_tuning_starts_from_the_given_encoder_and_refuses_one_of_another_shape(model):
    settings = EncoderTraining(steps=1, batch_size=4, check_images=8, lr=1e-9, seed=3)
    torch.manual_seed(11)
    start = PoseEncoder.for_model(model.generator, model.prior)
    tuned, _ = train_pose_encoder(model.generator, model.prior, settings, start=start)
    fresh, _ = train_pose_encoder(model.generator, model.prior, EncoderTraining(**{**settings.__dict__, "steps": 1}))
    weight = "heads.weight"
    assert torch.allclose(tuned.state_dict()[weight], start.state_dict()[weight], atol=1e-6)  # lr ~0: unchanged
    assert not torch.allclose(fresh.state_dict()[weight], start.state_dict()[weight], atol=1e-3)
    assert tuned.fingerprint == fresh.fingerprint  # the new encoder is this model's, whatever it started from
    other = PoseEncoder(32, (10.0, 30.0), ((-0.1, 0.1), (0.0, 0.0), (-0.2, 0.2)))
    expected = r"start_from does not fit this model: its resolution is 32, this model needs 64; its translation_ranges"
    with pytest.raises(ValueError, match=expected):
        train_pose_encoder(model.generator, model.prior, settings, start=other)


def _guess(heading: float, confidence: float, elevation: float = 22.0) -> PoseGuess:
    return PoseGuess(
        heading_deg=torch.tensor([heading]),
        confidence=torch.tensor([confidence]),
        heading_probabilities=torch.full((1, 72), 1 / 72),
        elevation_deg=torch.tensor([elevation]),
        translation=torch.tensor([[0.02, 0.0, -0.01]]),
        scale_fraction=torch.tensor([0.5]),
    )


@pytest.mark.parametrize("confidence", [0.95, 0.5])
def test_the_search_follows_a_sure_reading_and_includes_an_unsure_one(model, confidence):
    settings = InversionSettings(starts=8)
    params = _Parameters(model.prior, 8, torch.Generator().manual_seed(0))
    params.begin_at(_guess(300.0, confidence), settings)

    def headings() -> torch.Tensor:
        with torch.no_grad():
            scene = params.scenes()
        return (scene.object_rotation_deg[:, 0] - scene.camera_azimuth_deg - 300.0 + 180) % 360 - 180

    with torch.no_grad():
        scene = params.scenes()
    assert scene.camera_elevation_deg.tolist() == pytest.approx([22.0] * 8, abs=1e-3)
    assert scene.object_translation[:, 0, 0].tolist() == pytest.approx([0.02] * 8, abs=1e-4)
    gap = headings()
    if confidence >= settings.encoder_trust:
        # starts over the middle of the window, and however far descent pushes, heading and elevation stay in it
        assert float(gap.abs().max()) == pytest.approx(0.75 * settings.encoder_window_deg, abs=0.5)
        with torch.no_grad():
            params.rotation.fill_(50.0)
            params.elevation.fill_(-50.0)
        assert headings().tolist() == pytest.approx([settings.encoder_window_deg] * 8, abs=1e-3)
        assert params.scenes().camera_elevation_deg.tolist() == pytest.approx([17.0] * 8, abs=1e-3)
    else:  # the reading is one start; the others still cover the whole turn, unbounded
        assert float(gap[0]) == pytest.approx(0.0, abs=1e-3)
        assert float(gap.abs().max()) > 135
        with torch.no_grad():
            params.rotation.fill_(math.radians(300.0 + 90.0))
        assert headings().tolist() == pytest.approx([90.0] * 8, abs=1e-3)


def test_the_command_trains_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    output = tmp_path / "enc.pt"
    arguments = ["giraffehd-train-encoder", f"checkpoint={MODEL}", f"output={output}", "training.steps=3",
                 "training.batch_size=4", "training.check_images=8"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", arguments)
    encoder_cli.main()
    assert load_encoder(output)[1]["model"]["step"] == load_model(MODEL).step
    monkeypatch.setattr(sys, "argv", arguments)
    with pytest.raises(SystemExit) as stop:
        encoder_cli.main()
    assert stop.value.code == 2
    assert f"output {output} exists: pass overwrite=true" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [*arguments[:-3], "training.steps=0"])
    with pytest.raises(SystemExit):
        encoder_cli.main()
    assert "steps must be at least 1, got 0" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [arguments[0], arguments[1], f"output={tmp_path}", "overwrite=true"])
    with pytest.raises(SystemExit):
        encoder_cli.main()
    assert f"output {tmp_path} is a folder: name the encoder file" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [*arguments, "overwrite=true", f"start_from={tmp_path / 'none.pt'}"])
    with pytest.raises(SystemExit):
        encoder_cli.main()
    assert f"pose encoder not found: {tmp_path / 'none.pt'}" in capsys.readouterr().err


def test_invert_says_when_there_is_no_encoder_and_refuses_another_model_s(model, tmp_path, monkeypatch, capsys):
    bare = tmp_path / "bare.pt"  # the model alone, no encoder beside it
    bare.write_bytes(MODEL.read_bytes())
    image = torch.rand(3, 64, 64)
    save_image(image, tmp_path / "photo.png")
    quick = ["inversion.starts=2", "inversion.search_steps=2", "inversion.refine_steps=0", "edits=[]"]
    monkeypatch.setattr(sys, "argv", ["giraffehd-invert", f"checkpoint={bare}", f"image={tmp_path / 'photo.png'}",
                                      f"output_dir={tmp_path / 'out'}", *quick])  # fmt: skip
    cli.main()
    assert f"no pose encoder at {tmp_path / 'bare.encoder.pt'}: searching every heading" in capsys.readouterr().err
    foreign = PoseEncoder(64, (10.0, 30.0), ((0.0, 0.0),) * 3, fingerprint="0123456789abcdef")
    save_encoder(foreign, {}, tmp_path / "foreign.encoder.pt")
    monkeypatch.setattr(sys, "argv", ["giraffehd-invert", f"checkpoint={bare}", f"image={tmp_path / 'photo.png'}",
                                      f"encoder={tmp_path / 'foreign.encoder.pt'}", f"output_dir={tmp_path / 'o2'}",
                                      *quick])  # fmt: skip
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "was trained on another model (fingerprint 0123456789abcdef" in lines[0]


def test_the_fingerprint_covers_zero_dimensional_weights_and_keeps_the_shipped_encoders_valid():
    from conftest import tiny_generator

    from giraffehd.inversion.encoder import generator_fingerprint, load_encoder
    from giraffehd.model_io import load_model

    generator = tiny_generator()  # its style-based renderer has 0-d noise strengths
    before = generator_fingerprint(generator)
    strength = next(p for name, p in generator.named_parameters() if p.dim() == 0)
    with torch.no_grad():
        strength.add_(1.0)
    assert generator_fingerprint(generator) != before
    shipped = load_model("models/demo_car_64.pt").generator
    load_encoder("models/demo_car_64.encoder.pt", shipped)  # refused if its fingerprint had changed


def test_an_encoder_trains_for_a_tiny_preset_run(tiny_run, tmp_path, monkeypatch):
    output = tmp_path / "tiny.encoder.pt"
    quick = ["training.steps=2", "training.batch_size=4", "training.check_images=4"]
    monkeypatch.setattr(sys, "argv", ["giraffehd-train-encoder", f"checkpoint={tiny_run}", f"output={output}", *quick])
    encoder_cli.main()
    load_encoder(output, load_model(tiny_run).generator)  # made for, and accepted by, that model
