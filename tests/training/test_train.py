"""Training end to end on CPU with the tiny model: presets, a short run, resume, NaN, bad configs, DDP."""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from giraffehd.generator import Generator
from giraffehd.model_io import load_model
from giraffehd.train import CONF_DIR, build_module, check_config, train
from giraffehd.training import module as module_file
from giraffehd.training.checkpoint_io import CheckpointError, load_checkpoint_file
from giraffehd.training.module import NonFiniteLossError

EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(experiment):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}", "data.path=/nonexistent"])
    prior = check_config(cfg)
    if cfg.model.image_resolution > 256:  # building the 1024 px model takes seconds; check its sizes only
        assert cfg.discriminator.resolution == cfg.model.image_resolution
        return
    module = build_module(cfg, prior)
    assert module.generator.image_resolution == cfg.data.resolution
    instantiate(cfg.data)  # the data module builds (it reads nothing until setup)


def test_a_short_run_writes_checkpoint_config_and_samples(images, tiny_train_config, tmp_path):
    run_dir = train(tiny_train_config(images, tmp_path / "run"))
    checkpoint = load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 4
    assert (run_dir / "config.yaml").is_file() and OmegaConf.load(run_dir / "config.yaml").model.image_resolution == 32
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png"))[-1] == "step_0000004.png"
    assert not list((run_dir / "checkpoints").glob("*.tmp"))
    metrics = (run_dir / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train/d_loss" in metrics and "train/r1" in metrics
    # The stop-gap sweep script renders from the run folder: 2 seeds x 3 angles of 32 px, 2 px padding.
    sweep = tmp_path / "sweep.png"
    script = Path(__file__).resolve().parents[2] / "scripts" / "rotation_sweep.py"
    result = subprocess.run(
        [sys.executable, str(script), str(run_dir), "--output", str(sweep), "--seeds", "2", "--steps", "3"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert iio.imread(sweep).shape == (2 * 34 + 2, 3 * 34 + 2, 3)


def test_kept_checkpoints_load_as_models_of_their_step(images, tiny_train_config, tmp_path):
    run_dir = train(
        tiny_train_config(
            images, tmp_path / "run", "checkpoint.keep_every_n_steps=2", "training.losses.mask_max_coverage=0.5"
        )
    )
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("step_*.ckpt"))
    assert kept == ["step_0000002.ckpt", "step_0000004.ckpt"]
    first, last = (load_model(run_dir / "checkpoints" / name) for name in kept)
    assert (first.step, last.step) == (2, 4)
    weights = first.generator.state_dict()
    assert any(not torch.equal(value, last.generator.state_dict()[key]) for key, value in weights.items())


def _parameters(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["state_dict"]


def test_resume_matches_an_uninterrupted_run(images, tiny_train_config, tmp_path):
    straight = train(tiny_train_config(images, tmp_path / "straight"))
    train(tiny_train_config(images, tmp_path / "split", "trainer.max_steps=2"))
    # resume=auto picks up last.ckpt at step 2; saving more often must not change where checkpoints go.
    resumed = train(tiny_train_config(images, tmp_path / "split", "checkpoint.every_n_steps=1"))
    a, b = _parameters(straight), _parameters(resumed)
    assert load_checkpoint_file(resumed / "checkpoints" / "last.ckpt")["global_step"] == 4
    # The resumed run's periodic saves overwrite last.ckpt (no last-v1.ckpt that resume=auto would miss).
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["last.ckpt"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    assert any(key.startswith("generator_ema.") for key in a)


def test_nonfinite_loss_stops_with_the_step_and_keeps_the_checkpoint(images, tiny_train_config, tmp_path, monkeypatch):
    run_dir = train(tiny_train_config(images, tmp_path / "run", "trainer.max_steps=2"))
    before = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    calls, original = [], module_file.generator_loss

    def diverging(fake_logits):  # the G loss turns NaN on the second step after resuming (step 3)
        calls.append(1)
        loss = original(fake_logits)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(module_file, "generator_loss", diverging)
    with pytest.raises(NonFiniteLossError, match="g_loss is not finite at step 3"):
        train(tiny_train_config(images, tmp_path / "run", "trainer.max_steps=6", "checkpoint.every_n_steps=100"))
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == before


def test_background_field_gets_its_own_learning_rate(images, tiny_train_config, tmp_path):
    cfg = tiny_train_config(images, tmp_path / "run", "optimizer.generator.background_field_lr=0.0001")
    module = build_module(cfg, check_config(cfg))
    g_opt, _ = module.configure_optimizers()
    rest, background = g_opt.param_groups
    assert rest["lr"] == cfg.optimizer.generator.lr and background["lr"] == 0.0001
    assert [id(p) for p in background["params"]] == [id(p) for p in module.generator.background_field.parameters()]
    grouped = sorted(id(p) for group in g_opt.param_groups for p in group["params"])
    assert grouped == sorted(id(p) for p in module.generator.parameters())
    plain = tiny_train_config(images, tmp_path / "plain")
    (only,) = build_module(plain, check_config(plain)).configure_optimizers()[0].param_groups
    assert only["lr"] == plain.optimizer.generator.lr


def test_mask_losses_read_the_mask_before_steepening(images, tiny_train_config, tmp_path, monkeypatch):
    """The D sees the image composited with the steepened mask, but the mask losses read the mask before:
    the steepened one has no gradient where the alpha is faint, and binarization must still move it."""
    seen = {}
    box_loss, binarization = module_file.mask_outside_box_loss, module_file.mask_binarization_loss
    render = Generator.forward

    def record_box(mask, box):
        seen["box"] = mask.detach()
        return box_loss(mask, box)

    def record_binarization(mask):
        seen["binarization"] = mask.detach()
        return binarization(mask)

    def record_output(self, *args, **kwargs):
        out = render(self, *args, **kwargs)
        if out.image.requires_grad:  # the G step's render, not the EMA's sample grid
            seen["out"] = out
        return out

    monkeypatch.setattr(module_file, "mask_outside_box_loss", record_box)
    monkeypatch.setattr(module_file, "mask_binarization_loss", record_binarization)
    monkeypatch.setattr(Generator, "forward", record_output)
    train(tiny_train_config(images, tmp_path / "run", "trainer.max_steps=1", "+model.mask_steepness=2.0"))
    out = seen["out"]
    soft = out.soft_mask.detach()
    assert ((soft > 0) & (soft < 0.25)).any()  # a soft band for the steepening to clear
    torch.testing.assert_close(out.mask.detach(), (2 * (soft - 0.5) + 0.5).clamp(0, 1))
    assert torch.equal(seen["box"], soft) and torch.equal(seen["binarization"], soft)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("camera.elevation_deg=[30,10]", "camera.elevation_deg"),
        ("camera.radius=[-1,-1]", "camera.radius"),
        ("model.image_resolution=48", "model.image_resolution"),
        ("model.feature_resolution=64", "model.feature_resolution"),
        ("objects.num_objects=0", "objects.num_objects"),
        ("data.resolution=64", "data.resolution"),
        ("++model.mask_steepness=0.5", "model.mask_steepness"),
        ("optimizer.generator.background_field_lr=0", "optimizer.generator.background_field_lr"),
        ("training.losses.mask_max_coverage=1.5", "training.losses.mask_max_coverage"),
        ("checkpoint.keep_every_n_steps=0", "checkpoint.keep_every_n_steps"),
    ],
)
def test_bad_configs_fail_before_training_naming_the_key(images, tiny_train_config, tmp_path, override, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        train(tiny_train_config(images, tmp_path / "run", override))
    assert not (tmp_path / "run").exists()


def test_foreign_or_corrupt_checkpoints_are_refused(images, tiny_train_config, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        train(tiny_train_config(images, tmp_path / "run", f"resume={bad}"))
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError, match="not written by giraffehd"):
        train(tiny_train_config(images, tmp_path / "run", f"resume={foreign}"))
    other_model = train(tiny_train_config(images, tmp_path / "other", "model.w_dim=16", "trainer.max_steps=1"))
    with pytest.raises(CheckpointError, match="does not match this model"):
        train(tiny_train_config(images, tmp_path / "run", f"resume={other_model / 'checkpoints' / 'last.ckpt'}"))
    one_group = train(tiny_train_config(images, tmp_path / "one", "trainer.max_steps=1")) / "checkpoints" / "last.ckpt"
    two_groups = tiny_train_config(
        images, tmp_path / "two", f"resume={one_group}", "optimizer.generator.background_field_lr=0.0001"
    )
    with pytest.raises(CheckpointError, match="1 generator parameter group"):
        train(two_groups)


def test_unknown_preset_fails_with_a_message_naming_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "giraffehd.train", "experiment=nope", f"run_dir={tmp_path / 'x'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "experiment/nope" in result.stderr
    assert not (tmp_path / "x").exists()


def test_two_process_ddp_on_cpu_trains(images, tiny_train_config, tmp_path):
    overrides = [
        "model=tiny",
        f"data.path={images}",
        "data.resolution=32",
        "data.batch_size=2",
        "data.num_workers=0",
        f"run_dir={tmp_path / 'ddp'}",
        "discriminator.channel_base=256",
        "discriminator.channel_max=16",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.max_steps=2",
        "+trainer.enable_progress_bar=false",
        "checkpoint.every_n_steps=1",
        "samples.every_n_steps=1",
        "samples.num_samples=2",
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "giraffehd.train", *overrides], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = load_checkpoint_file(tmp_path / "ddp" / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 2
