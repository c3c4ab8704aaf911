"""What ``giraffehd-train`` checks before it builds or writes anything: the config across its groups, the
checkpoint to resume, and the room its checkpoints need. Each check stops with one line naming the key or
file (giraffehd/train.py runs them in order)."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from giraffehd.model.legacy import is_legacy
from giraffehd.scene import ScenePrior
from giraffehd.torch_files import CheckpointError, load_checkpoint_file
from giraffehd.training.module import GiraffeHDModule


def check_config(cfg: DictConfig) -> ScenePrior:
    """The checks that span config groups, before anything is built; returns the scene prior.

    Each group's values are checked by the constructor they are passed to (the errors name the key, see
    :func:`build_module`); what no single constructor sees is checked here.
    """
    image = cfg.model.image_resolution
    crop = cfg.training.get("crop_size")
    for key, expected, name in (
        ("data.resolution", image, "model.image_resolution"),
        (
            "discriminator.resolution",
            image if crop is None else crop,
            "model.image_resolution" if crop is None else "training.crop_size",
        ),
    ):
        value = OmegaConf.select(cfg, key)
        if value != expected:
            raise ValueError(f"{key} ({value}) must equal {name} ({expected})")
    trainer = cfg.trainer
    devices = trainer.get("devices")
    if isinstance(devices, int) and not isinstance(devices, bool) and not (devices >= 1 or devices == -1):
        raise ValueError(
            f"trainer.devices must be a number of devices (at least 1), -1 (all), auto or a list of device "
            f"indices, got {devices}"
        )
    for key, lowest in (("num_nodes", 1), ("max_steps", -1)):
        value = trainer.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < lowest:
            raise ValueError(f"trainer.{key} must be at least {lowest}, got {value}")
    every = cfg.checkpoint.every_n_steps
    if every is not None and not every >= 1:
        raise ValueError(
            f"checkpoint.every_n_steps must be at least 1 (a checkpoint every that many steps), got {every}; "
            f"null turns periodic checkpoints off (the final state is still saved)"
        )
    largest = cfg.checkpoint.get("max_abs_weight")
    if largest is not None and not largest > 0:
        raise ValueError(f"checkpoint.max_abs_weight must be positive (or null: no limit), got {largest}")
    plain = OmegaConf.to_container(cfg, resolve=True)
    return ScenePrior.from_groups(plain["camera"], plain["objects"], z_dim=cfg.model.styles.z_dim)


def resolve_resume(resume: str | None, run_dir: Path) -> Path | None:
    """``auto``: the run folder's last checkpoint if any; None: start fresh; else a path that must exist."""
    if resume is None:
        return None
    if resume == "auto":
        last = run_dir / "checkpoints" / "last.ckpt"
        if last.exists() and not last.is_file():
            raise CheckpointError(f"{last} is not a file (a folder?): move it away, or resume=null starts afresh")
        return last if last.is_file() else None
    return Path(resume)


def check_checkpoint(path: Path, module: GiraffeHDModule) -> None:
    """One-line errors for a missing, corrupt, foreign or outdated checkpoint, before training starts."""
    checkpoint = load_checkpoint_file(path)
    state = checkpoint["state_dict"]
    stored_model = (checkpoint.get("giraffehd_config") or {}).get("model") or {}
    if is_legacy(stored_model) or any(key.startswith("generator.mapping_shape.") for key in state):
        raise CheckpointError(
            f"{path} was written before the generator was made of parts (flat parameter names such as "
            f"generator.mapping_shape.*): it cannot resume training, but it still loads for rendering "
            f"(giraffehd-render, giraffehd.model_io.load_model); resume=null starts afresh"
        )
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise CheckpointError(f"{path} does not match this model: it has no {key}")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path} does not match this model: {key} is {tuple(state[key].shape)} there, "
                f"{tuple(tensor.shape)} here (another model preset?)"
            )
    saved = checkpoint.get("optimizer_states") or []
    groups = len(module.generator_param_groups())
    if saved and len(saved[0]["param_groups"]) != groups:
        raise CheckpointError(
            f"{path} was written with {len(saved[0]['param_groups'])} generator parameter group(s), this config "
            f"has {groups} (optimizer.part_lr changed?): resume=null starts afresh"
        )


def checkpoint_bytes(module: GiraffeHDModule) -> int:
    """About the size of one checkpoint: the generator, its EMA copy and the discriminator in float32, and
    Adam's two moments for each trained network."""
    generator = sum(p.numel() for p in module.generator.parameters())
    discriminator = sum(p.numel() for p in module.discriminator.parameters())
    return 4 * (4 * generator + 3 * discriminator)
