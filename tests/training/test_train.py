"""Training end to end on CPU with the tiny model: presets, a short run, resume, NaN, bad configs, DDP.

Tests marked slow run real fits (seconds to a minute each on 2 busy cores); the others stop before training.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from giraffehd.config_types import CONF_DIR
from giraffehd.model.generator import Generator
from giraffehd.model.legacy import LEGACY_TARGET
from giraffehd.model_io import load_model
from giraffehd.torch_files import CheckpointError, load_checkpoint_file
from giraffehd.train import build_module, train
from giraffehd.training import mask_losses as mask_losses_file
from giraffehd.training import module as module_file
from giraffehd.training.loss_settings import LossSettings
from giraffehd.training.module import CHECKPOINT_VERSION, NonFiniteLossError
from giraffehd.training.preflight import check_config

EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(experiment):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}", "data.path=/nonexistent"])
    prior = check_config(cfg)
    # Every constructor runs and checks its arguments; on the meta device no weights are allocated or
    # initialized, so even the 1024 px generator builds in a moment.
    with torch.device("meta"):
        module = build_module(cfg, prior)
        g_opt, d_opt = module.configure_optimizers()
    assert module.generator.image_resolution == cfg.data.resolution
    assert module.discriminator.resolution == (cfg.training.get("crop_size") or cfg.data.resolution)
    assert module.generator.z_dim == prior.z_dim
    assert module.generator.mask_steepness == module.final_mask_steepness >= 1
    assert isinstance(module.losses, LossSettings) and module.losses.r1_gamma == cfg.training.losses.r1_gamma
    assert g_opt.param_groups[0]["lr"] == cfg.optimizer.generator.lr
    assert d_opt.param_groups[0]["lr"] == cfg.optimizer.discriminator.lr
    assert len(g_opt.param_groups) == 1 + len(cfg.optimizer.part_lr or {})
    instantiate(cfg.data)  # the data module builds (it reads nothing until setup)


@pytest.mark.slow
def test_a_short_run_writes_checkpoint_config_and_samples(images, tiny_train_config, tmp_path):
    run_dir = train(tiny_train_config(images, tmp_path / "run"))
    checkpoint = load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 4
    assert (run_dir / "config.yaml").is_file() and OmegaConf.load(run_dir / "config.yaml").model.image_resolution == 32
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png"))[-1] == "step_0000004.png"
    assert not list((run_dir / "checkpoints").glob("*.tmp"))
    metrics = (run_dir / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train/d_loss" in metrics and "train/r1" in metrics and "train/mask_coverage" in metrics
    # The run folder alone is enough to render: the checkpoint carries its model, camera and objects groups.
    model = load_model(run_dir)
    assert model.step == 4
    assert model.config["model"] == OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml").model)
    scene = model.prior.sample(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert model.generator(scene).image.shape == (2, 3, 32, 32)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_generator_parts_get_their_own_learning_rates(images, tiny_train_config, tmp_path):
    cfg = tiny_train_config(
        images, tmp_path / "run", "+optimizer.part_lr.background_field=0.0001", "+optimizer.part_lr.object_field=0.0003"
    )
    module = build_module(cfg, check_config(cfg))
    g_opt, _ = module.configure_optimizers()
    rest, background, objects = g_opt.param_groups
    assert rest["lr"] == cfg.optimizer.generator.lr and background["lr"] == 0.0001 and objects["lr"] == 0.0003
    features = module.generator.features
    assert [id(p) for p in background["params"]] == [id(p) for p in features.background_field.parameters()]
    assert [id(p) for p in objects["params"]] == [id(p) for p in features.object_field.parameters()]
    grouped = sorted(id(p) for group in g_opt.param_groups for p in group["params"])
    assert grouped == sorted(id(p) for p in module.generator.parameters())
    plain = tiny_train_config(images, tmp_path / "plain")
    (only,) = build_module(plain, check_config(plain)).configure_optimizers()[0].param_groups
    assert only["lr"] == plain.optimizer.generator.lr


@pytest.mark.slow
def test_mask_losses_read_the_mask_before_steepening(images, tiny_train_config, tmp_path, monkeypatch):
    """The D sees the image composited with the steepened mask, but the mask losses read the mask before:
    the steepened one has no gradient where the alpha is faint, and binarization must still move it."""
    seen = {}
    box_loss, binarization = mask_losses_file.mask_outside_box_loss, mask_losses_file.mask_binarization_loss
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

    monkeypatch.setattr(mask_losses_file, "mask_outside_box_loss", record_box)
    monkeypatch.setattr(mask_losses_file, "mask_binarization_loss", record_binarization)
    monkeypatch.setattr(Generator, "forward", record_output)
    train(tiny_train_config(images, tmp_path / "run", "trainer.max_steps=1", "model.compositor.mask_steepness=2.0"))
    out = seen["out"]
    soft = out.soft_mask.detach()
    assert ((soft > 0) & (soft < 0.25)).any()  # a soft band for the steepening to clear
    torch.testing.assert_close(out.mask.detach(), (2 * (soft - 0.5) + 0.5).clamp(0, 1))
    assert torch.equal(seen["box"], soft) and torch.equal(seen["binarization"], soft)


# Each constructor checks its own arguments; the entry point names the config key they came from (an
# argument set by interpolation also names the key it interpolates) and checks what spans groups.
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["camera.elevation_deg=[30,10]"], r"camera\.elevation_deg"),
        (["camera.radius=[-1,-1]"], r"camera\.radius"),
        (["objects.num_objects=0"], r"objects\.num_objects"),
        (["model.image_resolution=64"], r"^data\.resolution \(32\) must equal model\.image_resolution \(64\)$"),
        (["data.resolution=48", "model.image_resolution=48"], r"^data\.resolution must be a power of two"),
        (["discriminator.resolution=64"], r"^discriminator\.resolution \(64\) must equal model\.image_resolution"),
        (
            ["model.image_resolution=16", "data.resolution=16"],  # the data and D take 16 px, the renderer not
            r"^model\.compositor\.foreground_synthesis\.out_resolution must be .* got 16 "
            r"\(out_resolution is \$\{model\.image_resolution\}\)$",
        ),
        (
            ["model.feature_resolution=64"],
            r"^model\.compositor\.foreground_synthesis\.out_resolution .*in_resolution.*"
            r"in_resolution is \$\{model\.feature_resolution\}",
        ),
        (["model.compositor.mask_steepness=0.5"], r"^model\.compositor\.mask_steepness must be at least 1.* got 0\.5$"),
        (["+model.compositor.colour=1"], r"^model\.compositor: .*unexpected keyword argument 'colour'"),
        (
            ["+optimizer.part_lr.background_field=0.0"],
            r"^optimizer\.part_lr\.background_field must be positive, got 0\.0$",
        ),
        (
            ["+optimizer.part_lr.wheels=0.1"],
            r"^optimizer\.part_lr has no part 'wheels'; the parts are styles, object_field, ",
        ),
        (["optimizer.generator.lr=-1"], r"^optimizer\.generator: Invalid learning rate: -1"),
        (["training.ema_decay=1.0"], r"^training\.ema_decay must be in \(0, 1\), got 1\.0$"),
        (["training.style_mixing_prob=2.0"], r"^training\.style_mixing_prob must be in \[0, 1\], got 2\.0$"),
        (["training.losses.mask_max_coverage=1.5"], r"^training\.losses\.mask_max_coverage must be None .* got 1\.5$"),
        (["training.losses.r1_interval=-1"], r"^training\.losses\.r1_interval must not be negative, got -1$"),
        (["checkpoint.keep_every_n_steps=0"], r"^checkpoint\.keep_every_n_steps must be at least 1, got 0$"),
        (["checkpoint.every_n_steps=0"], r"^checkpoint\.every_n_steps must be at least 1 .* got 0; null turns"),
        (["checkpoint.max_abs_weight=-1"], r"^checkpoint\.max_abs_weight must be positive \(or null: no limit\)"),
        (["samples.num_samples=0"], r"^samples\.num_samples must be at least 1, got 0$"),
        (["trainer.max_steps=-5"], r"^trainer\.max_steps must be at least -1, got -5$"),
        (["trainer.devices=0"], r"^trainer\.devices must be a number of devices \(at least 1\), -1 \(all\), auto"),
    ],
)
def test_bad_configs_fail_before_training_naming_the_key(images, tiny_train_config, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        train(tiny_train_config(images, tmp_path / "run", *overrides))
    assert not (tmp_path / "run").exists()


def _save_checkpoint(module, path: Path, **entries) -> Path:
    """A checkpoint of ``module`` as Lightning writes it, as far as resuming checks it (without a fit)."""
    g_opt, d_opt = module.configure_optimizers()
    checkpoint = {
        "giraffehd_version": CHECKPOINT_VERSION,
        "giraffehd_config": module.model_config,
        "state_dict": module.state_dict(),
        "optimizer_states": [g_opt.state_dict(), d_opt.state_dict()],
        "global_step": 1,
    }
    torch.save({**checkpoint, **entries}, path)
    return path


def test_foreign_corrupt_or_other_checkpoints_are_refused(images, tiny_train_config, tmp_path):
    def resume(checkpoint: Path, *overrides: str):
        return train(tiny_train_config(images, tmp_path / "run", f"resume={checkpoint}", *overrides))

    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        resume(bad)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError, match="not written by giraffehd"):
        resume(foreign)
    narrow = tiny_train_config(images, tmp_path / "other", "model.styles.w_dim=16")
    other_model = _save_checkpoint(build_module(narrow, check_config(narrow)), tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match=r"does not match this model: \S+ is \(.*\) there, \(.*\) here"):
        resume(other_model)
    plain = tiny_train_config(images, tmp_path / "one")
    one_group = _save_checkpoint(build_module(plain, check_config(plain)), tmp_path / "one.ckpt")
    with pytest.raises(CheckpointError, match=r"1 generator parameter group.*optimizer\.part_lr changed"):
        resume(one_group, "+optimizer.part_lr.background_field=0.0001")
    assert not (tmp_path / "run").exists()


def test_checkpoints_from_before_the_generator_parts_cannot_resume(images, tiny_train_config, tmp_path):
    """Flat parameter names (generator.mapping_shape.*) or a flat model config: the model loader upgrades
    them for rendering, but training cannot resume from them; the error says so on one line."""
    cfg = tiny_train_config(images, tmp_path / "new")
    module = build_module(cfg, check_config(cfg))
    flat = {
        key.replace(".styles.", ".").replace(".features.", "."): value for key, value in module.state_dict().items()
    }
    assert any(key.startswith("generator.mapping_shape.") for key in flat)
    flat_config = {**module.model_config, "model": {"_target_": LEGACY_TARGET, "z_dim": 16}}
    for name, entries in (("flat_names", {"state_dict": flat}), ("flat_config", {"giraffehd_config": flat_config})):
        old = _save_checkpoint(module, tmp_path / f"{name}.ckpt", **entries)
        with pytest.raises(CheckpointError, match=r"was written before the generator was made of parts") as error:
            train(tiny_train_config(images, tmp_path / "run", f"resume={old}"))
        assert "cannot resume training" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_unknown_preset_fails_with_a_message_naming_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "giraffehd.train", "experiment=nope", f"run_dir={tmp_path / 'x'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "experiment/nope" in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
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
