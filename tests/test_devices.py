"""The same model on each device: forward and backward, bf16 against fp32, resume, and a checkpoint moved
between devices. Each test runs on CPU and, marked ``gpu``, on CUDA (scripts/gpu_check.sh runs those), so
everything but the device itself is exercised without a GPU."""

import csv
from pathlib import Path

import pytest
import torch
from conftest import tiny_generator

from giraffehd.model_io import load_model
from giraffehd.networks.discriminator import Discriminator
from giraffehd.scene import ScenePrior
from giraffehd.torch_files import load_checkpoint_file
from giraffehd.train import train

DEVICES = [pytest.param("cpu"), pytest.param("cuda", marks=pytest.mark.gpu)]
# A checkpoint written on a GPU renders on the CPU within this (cuDNN may run convolutions in TF32).
CROSS_DEVICE_ATOL = {"cpu": 1e-6, "cuda": 1e-2}


def _trainer(device: str, bf16: bool = False) -> list[str]:
    """The trainer preset for the device: cpu, cpu_bf16, gpu or bf16 (conf/trainer/)."""
    preset = {("cpu", False): "cpu", ("cpu", True): "cpu_bf16", ("cuda", False): "gpu", ("cuda", True): "bf16"}
    return [f"trainer={preset[device, bf16]}"]


def _scene(generator, device: str, batch: int = 4):
    return ScenePrior(z_dim=generator.z_dim).sample(batch, torch.Generator(device).manual_seed(0), device)


@pytest.mark.parametrize("device", DEVICES)
def test_forward_and_backward(device):
    generator = tiny_generator().to(device)
    discriminator = Discriminator(32, channel_base=256, channel_max=16).to(device)
    scene = _scene(generator, device)
    out = generator(scene, noise_mode="random", stratified=True, rng=torch.Generator(device).manual_seed(1))
    assert out.image.device.type == device and out.image.shape == (4, 3, 32, 32)
    (discriminator(out.image).mean() + out.mask.mean()).backward()
    for name, parameter in [*generator.named_parameters(), *discriminator.named_parameters()]:
        assert parameter.grad is None or torch.isfinite(parameter.grad).all(), name
    assert generator.features.object_field.input_points.weight.grad.abs().sum() > 0
    assert discriminator.from_rgb.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_forward_stays_close_to_fp32(device):
    generator = tiny_generator().to(device)
    scene = _scene(generator, device)
    with torch.no_grad():
        full = generator(scene).image
        with torch.autocast(device, dtype=torch.bfloat16):
            half = generator(scene).image.float()
    assert torch.isfinite(half).all()
    assert (half - full).abs().mean() < 0.02 and (half - full).abs().max() < 0.2


@pytest.mark.parametrize("device", DEVICES)
def test_under_autocast_the_3d_half_stays_float32(device):
    generator = tiny_generator().to(device)
    scene = _scene(generator, device)
    with torch.no_grad():
        full = generator(scene)
        with torch.autocast(device, dtype=torch.bfloat16):
            half = generator(scene)
    assert half.low_res_features.dtype == torch.float32
    assert torch.equal(half.low_res_alpha, full.low_res_alpha) and torch.equal(half.depth, full.depth)
    assert half.image.dtype == torch.bfloat16 or not torch.equal(half.image, full.image)  # the 2D half ran in bf16


def _losses(run_dir: Path) -> dict[int, dict[str, float]]:
    rows = csv.DictReader((run_dir / "logs" / "version_0" / "metrics.csv").open())
    losses = {}
    for row in rows:
        if row.get("train/g_loss"):
            losses[int(row["step"])] = {key: float(row[key]) for key in ("train/g_loss", "train/d_loss")}
    return losses


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_a_bf16_training_run_stays_finite_and_starts_where_fp32_does(device, images, tiny_train_config, tmp_path):
    full = train(tiny_train_config(images, tmp_path / "fp32", *_trainer(device)))
    half = train(tiny_train_config(images, tmp_path / "bf16", *_trainer(device, bf16=True)))
    full_losses, half_losses = _losses(full), _losses(half)
    assert sorted(half_losses) == sorted(full_losses) and len(half_losses) >= 3
    for values in half_losses.values():
        assert all(torch.isfinite(torch.tensor(v)) for v in values.values())
    first = min(full_losses)  # the same weights and draws: only bf16 rounding differs
    for key, value in full_losses[first].items():
        assert half_losses[first][key] == pytest.approx(value, rel=0.05, abs=0.02), key
    for name, value in load_checkpoint_file(half / "checkpoints" / "last.ckpt")["state_dict"].items():
        assert torch.isfinite(value.float()).all(), name


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_resume_on_the_device_matches_an_uninterrupted_run(device, images, tiny_train_config, tmp_path):
    straight = train(tiny_train_config(images, tmp_path / "straight", *_trainer(device)))
    train(tiny_train_config(images, tmp_path / "split", "trainer.max_steps=2", *_trainer(device)))
    resumed = train(tiny_train_config(images, tmp_path / "split", *_trainer(device)))
    a = load_checkpoint_file(straight / "checkpoints" / "last.ckpt")["state_dict"]
    b = load_checkpoint_file(resumed / "checkpoints" / "last.ckpt")["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_a_checkpoint_written_on_the_device_renders_the_same_on_cpu(device, images, tiny_train_config, tmp_path):
    run_dir = train(tiny_train_config(images, tmp_path / "run", "trainer.max_steps=2", *_trainer(device)))
    on_device, on_cpu = load_model(run_dir, device), load_model(run_dir, "cpu")
    assert next(on_cpu.generator.parameters()).device.type == "cpu"
    scene = on_cpu.prior.sample(4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        there = on_device.generator(scene.to(device)).image.cpu()
        here = on_cpu.generator(scene).image
    torch.testing.assert_close(there, here, rtol=0, atol=CROSS_DEVICE_ATOL[device])
