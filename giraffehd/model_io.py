"""Load a trained generator (the EMA copy) with the scene prior it was trained under.

    from giraffehd.model_io import load_model
    model = load_model("runs/demo")                      # a run folder: its checkpoints/last.ckpt
    model = load_model("runs/demo/checkpoints/last.ckpt")
    model = load_model("models/demo_car_64.pt")          # an exported model (export_model)

A training checkpoint carries the resolved model, camera and objects groups (``giraffehd_config``);
checkpoints written before that are read with the run folder's ``config.yaml``. An exported model holds
only the EMA generator's weights and that config, a few MB instead of the whole training state. Files
written before the generator was made of parts (a flat model config) are upgraded on load
(:mod:`giraffehd.model.legacy`); exporting one writes it in today's layout.
Every failure is a one-line :class:`~giraffehd.torch_files.CheckpointError` naming the file.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from giraffehd.atomic import write_atomically
from giraffehd.model.generator import Generator
from giraffehd.model.legacy import is_legacy, upgrade_model_config, upgrade_state_dict
from giraffehd.scene import ScenePrior
from giraffehd.torch_files import (
    CheckpointError,
    check_training_checkpoint,
    first_nonfinite,
    read_weights_only,
)

EXPORT_FORMAT = "giraffehd-generator-1"
_EMA_PREFIX = "generator_ema."


@dataclass(frozen=True)
class LoadedModel:
    generator: Generator  # the EMA generator, in eval mode, truncation average ready
    prior: ScenePrior  # the training prior (camera and objects groups)
    config: dict  # {"model": ..., "camera": ..., "objects": ..., "seed": ...}, plain and resolved
    step: int  # training step (G+D steps) of the weights
    path: Path  # the file read


def _checkpoint_file(path: str | Path | None) -> Path:
    """The checkpoint file that ``path`` names: the file itself, or a run folder's last checkpoint."""
    if path is None:
        raise CheckpointError(
            "checkpoint is required: checkpoint=RUN_FOLDER, a training checkpoint or an exported model"
        )
    path = Path(path)
    if path.is_dir():
        last = path / "checkpoints" / "last.ckpt"
        if not last.is_file():
            raise CheckpointError(f"{path} is a folder without checkpoints/last.ckpt (not a giraffehd run folder?)")
        return last
    return path


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict, int]:
    """(EMA generator state, config, step) from a training checkpoint or an exported model."""
    raw = read_weights_only(path)
    if isinstance(raw, dict) and raw.get("format") == EXPORT_FORMAT:
        return _check_export(raw, path)
    checkpoint = check_training_checkpoint(raw, path)  # names a foreign or old file clearly
    state = {k[len(_EMA_PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(_EMA_PREFIX)}
    if not state:
        raise CheckpointError(f"{path} holds no EMA generator (generator_ema.*)")
    config = checkpoint.get("giraffehd_config")
    if config is None:  # written before checkpoints carried their config: the run folder's config.yaml
        run_config = path.parent.parent / "config.yaml"
        if not run_config.is_file():
            raise CheckpointError(f"{path} carries no config and there is no {run_config} beside it")
        plain = OmegaConf.to_container(OmegaConf.load(run_config), resolve=True)
        config = {key: plain.get(key) for key in ("model", "camera", "objects", "seed")}
    _check_config(config, path)
    return state, config, int(checkpoint.get("global_step", 0))


def _check_export(raw: dict, path: Path) -> tuple[dict[str, torch.Tensor], dict, int]:
    """The parts of an exported model, each of the type it must have; a one-line CheckpointError if not."""
    state, config, step = raw.get("generator"), raw.get("config"), raw.get("step")
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is a damaged giraffehd model: its generator weights are missing or not tensors")
    _check_config(config, path)
    if isinstance(step, bool) or not isinstance(step, int):
        raise CheckpointError(f"{path} is a damaged giraffehd model: its step is {step!r}, not an integer")
    return state, config, step


def _check_config(config: Any, path: Path) -> None:
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is a damaged giraffehd model: it carries no config")
    missing = [key for key in ("model", "camera", "objects") if not isinstance(config.get(key), dict)]
    if missing:
        raise CheckpointError(f"{path} is a damaged giraffehd model: its config has no {', '.join(missing)} group")


def _upgrade(state: dict[str, torch.Tensor], config: dict, file: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Files written before the generator was made of parts: flat config and names to the nested ones."""
    if not is_legacy(config["model"]):
        return state, config
    try:
        model = upgrade_model_config(config["model"])
    except ValueError as error:
        raise CheckpointError(f"{file}: {error}") from None
    return upgrade_state_dict(state, config["model"]), {**config, "model": model}


def read_generator_state(path: str | Path | None) -> tuple[dict[str, torch.Tensor], dict, int]:
    """(EMA generator weights, config, step) of a run folder, checkpoint or exported model, in today's layout."""
    file = _checkpoint_file(path)
    state, config, step = _read(file)
    state, config = _upgrade(state, config, file)
    return state, config, step


def load_model(path: str | Path | None, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the EMA generator and its prior from a run folder, a checkpoint or an exported model."""
    file = _checkpoint_file(path)
    state, config, step = read_generator_state(file)
    try:
        generator = instantiate(OmegaConf.create(config["model"]))
    except Exception as error:
        reason = " ".join(str(error).split())[:200]
        raise CheckpointError(f"{file}: its model config cannot be built: {reason}") from None
    expected = generator.state_dict()
    for key in sorted(expected.keys() | state.keys()):
        if key not in state or key not in expected:
            where = "missing from the file" if key not in state else "not in the model"
            raise CheckpointError(f"{file} does not match its model config: {key} is {where}")
        if tuple(state[key].shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{file} does not match its model config: {key} is {tuple(state[key].shape)} in the file, "
                f"{tuple(expected[key].shape)} in the model"
            )
    bad = first_nonfinite(state)
    if bad is not None:
        raise CheckpointError(f"{file} holds weights that are not finite (NaN or Inf), {bad} first: it cannot render")
    generator.load_state_dict(state)
    generator.eval().requires_grad_(False)
    if not generator.w_avg_ready:
        generator.update_w_avg(10_000, torch.Generator().manual_seed(0))
    try:
        prior = ScenePrior.from_groups(config["camera"], config["objects"], z_dim=generator.z_dim)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(
            f"{file}: its camera and objects config is not valid: {' '.join(str(error).split())}"
        ) from None
    return LoadedModel(generator.to(device), prior, config, step, file)


def export_model(source: str | Path, destination: str | Path) -> Path:
    """Write the EMA generator's weights and config alone (atomically); returns the file written."""
    model = load_model(source)
    payload: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generator": {k: v.detach().cpu().clone() for k, v in model.generator.state_dict().items()},
        "config": model.config,
        "step": model.step,
    }
    return write_atomically(destination, lambda file: torch.save(payload, file))
