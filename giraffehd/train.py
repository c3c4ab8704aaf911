"""giraffehd-train: train a generator with Lightning, configured by Hydra (conf/train.yaml).

    giraffehd-train experiment=demo                       # the CPU demo on the synthetic car set
    giraffehd-train experiment=ffhq_256 data.path=/data/ffhq/256 trainer=gpu
    giraffehd-train experiment=demo resume=runs/demo/checkpoints/last.ckpt

Everything is checked before any work starts; a bad value stops with one line naming its key. The run
folder holds the resolved config (config.yaml), checkpoints/last.ckpt (written atomically), sample grids
and logs; ``resume=auto`` (the default) continues from the run folder's last checkpoint when there is one.
"""

import sys
import warnings
from functools import partial
from pathlib import Path

import hydra
import lightning
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from giraffehd.allocator import keep_freed_memory
from giraffehd.data.image_files import DataError
from giraffehd.scene import ScenePrior
from giraffehd.training.checkpoint_io import AtomicCheckpointIO, CheckpointError, load_checkpoint_file
from giraffehd.training.kept_checkpoints import KeepCheckpoints
from giraffehd.training.module import GiraffeHDModule, LossSettings, NonFiniteLossError
from giraffehd.training.sample_grid import SampleGrid
from giraffehd.training.steepness_ramp import SteepnessRamp

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
EXPECTED_ERRORS = (ValueError, CheckpointError, NonFiniteLossError, OmegaConfBaseException)


def _is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def check_config(cfg: DictConfig) -> ScenePrior:
    """Validate what instantiation would not name clearly; returns the scene prior."""
    model, data = cfg.model, cfg.data
    image, feature = model.image_resolution, model.feature_resolution
    if not (_is_power_of_two(image) and 32 <= image <= 1024):
        raise ValueError(f"model.image_resolution must be a power of two from 32 to 1024, got {image}")
    if not (_is_power_of_two(feature) and 4 <= feature <= image):
        raise ValueError(
            f"model.feature_resolution must be a power of two from 4 to model.image_resolution, got {feature}"
        )
    steepness = model.get("mask_steepness", 1.0)
    if not steepness >= 1:
        raise ValueError(f"model.mask_steepness must be at least 1 (1: the mask as rendered), got {steepness}")
    if data.resolution != image:
        raise ValueError(f"data.resolution ({data.resolution}) must equal model.image_resolution ({image})")
    keep_every = cfg.checkpoint.get("keep_every_n_steps")
    if keep_every is not None and keep_every < 1:
        raise ValueError(f"checkpoint.keep_every_n_steps must be null or at least 1, got {keep_every}")
    if cfg.trainer.max_steps < 1:
        raise ValueError(f"trainer.max_steps must be at least 1, got {cfg.trainer.max_steps}")
    for key in ("r1_interval", "r1_gamma", "mask_min_coverage"):
        if cfg.training.losses[key] < 0:
            raise ValueError(f"training.losses.{key} must not be negative, got {cfg.training.losses[key]}")
    ceiling = cfg.training.losses.get("mask_max_coverage")
    if ceiling is not None and not 0 < ceiling <= 1:
        raise ValueError(f"training.losses.mask_max_coverage must be null or in (0, 1], got {ceiling}")
    try:
        steepness_ramp(cfg)
    except TypeError:
        ramp = cfg.training.mask_steepness_ramp
        raise ValueError(f"training.mask_steepness_ramp takes start, from_step and to_step, got {ramp}") from None
    except ValueError as error:
        raise ValueError(f"training.{error}") from None
    background_lr = cfg.optimizer.generator.get("background_field_lr")
    if background_lr is not None and not background_lr > 0:
        raise ValueError(f"optimizer.generator.background_field_lr must be null or positive, got {background_lr}")
    if not 0 < cfg.training.ema_decay < 1:
        raise ValueError(f"training.ema_decay must be in (0, 1), got {cfg.training.ema_decay}")
    plain = OmegaConf.to_container(cfg, resolve=True)
    return ScenePrior.from_groups(plain["camera"], plain["objects"], z_dim=model.z_dim)


def resolve_resume(resume: str | None, run_dir: Path) -> Path | None:
    """``auto``: the run folder's last checkpoint if any; None: start fresh; else a path that must exist."""
    if resume is None:
        return None
    if resume == "auto":
        last = run_dir / "checkpoints" / "last.ckpt"
        return last if last.is_file() else None
    return Path(resume)


def check_checkpoint(path: Path, module: GiraffeHDModule) -> None:
    """One-line errors for a missing, corrupt or foreign checkpoint, before training starts."""
    checkpoint = load_checkpoint_file(path)
    state = checkpoint["state_dict"]
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
            f"has {groups} (optimizer.generator.background_field_lr changed?): resume=null starts afresh"
        )


def build_module(cfg: DictConfig, prior: ScenePrior) -> GiraffeHDModule:
    torch.manual_seed(cfg.seed)  # initial weights
    optimizer = cfg.optimizer

    def adam(settings) -> partial:
        return partial(torch.optim.Adam, lr=settings.lr, betas=tuple(settings.betas))

    return GiraffeHDModule(
        generator=instantiate(cfg.model),
        discriminator=instantiate(cfg.discriminator),
        prior=prior,
        g_optimizer=adam(optimizer.generator),
        d_optimizer=adam(optimizer.discriminator),
        losses=LossSettings(**OmegaConf.to_container(cfg.training.losses)),
        ema_decay=cfg.training.ema_decay,
        style_mixing_prob=cfg.training.style_mixing_prob,
        seed=cfg.seed,
        model_config=stored_config(cfg),
        background_field_lr=optimizer.generator.get("background_field_lr"),
        steepness_ramp=steepness_ramp(cfg),
    )


def steepness_ramp(cfg: DictConfig) -> SteepnessRamp | None:
    """``training.mask_steepness_ramp`` as a :class:`SteepnessRamp`; None when it is null or absent."""
    ramp = cfg.training.get("mask_steepness_ramp")
    return None if ramp is None else SteepnessRamp(**OmegaConf.to_container(ramp))


def stored_config(cfg: DictConfig) -> dict:
    """The resolved groups a checkpoint carries so that it can be rebuilt and rendered on its own."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    return {"model": plain["model"], "camera": plain["camera"], "objects": plain["objects"], "seed": plain["seed"]}


def make_logger(run_dir: Path):
    try:
        import tensorboard  # noqa: F401
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(str(run_dir), name="logs")
    except ImportError:
        return CSVLogger(str(run_dir), name="logs")  # logs/version_N/metrics.csv, a new N per launch


def train(cfg: DictConfig) -> Path:
    """Train as configured; returns the run folder."""
    # Checkpoints hold the state after each G+D step, which is what resuming needs.
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    prior = check_config(cfg)
    run_dir = Path(cfg.run_dir)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, prior)
    ckpt_path = resolve_resume(cfg.resume, run_dir)
    if ckpt_path is not None:
        check_checkpoint(ckpt_path, module)
    try:
        datamodule.setup("fit")
    except DataError as error:
        hint = " (make it with: giraffehd-data synth)" if "synthetic" in cfg and "does not exist" in str(error) else ""
        raise ValueError(f"{error}{hint}") from None
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.yaml"
    config_path.with_suffix(".yaml.tmp").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    config_path.with_suffix(".yaml.tmp").replace(config_path)

    callbacks = [
        ModelCheckpoint(
            dirpath=str(run_dir / "checkpoints"),
            every_n_train_steps=cfg.checkpoint.every_n_steps,
            save_last=True,
            save_top_k=0,
            enable_version_counter=False,  # overwrite last.ckpt after a resume (not last-v1.ckpt)
        ),
        SampleGrid(str(run_dir / "samples"), cfg.samples.every_n_steps, cfg.samples.num_samples, cfg.samples.seed),
    ]
    keep_every = cfg.checkpoint.get("keep_every_n_steps")
    if keep_every:  # a history for scoring the model over training (FID per checkpoint)
        callbacks.append(KeepCheckpoints(run_dir / "checkpoints", keep_every))
    trainer = lightning.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        default_root_dir=str(run_dir),
        logger=make_logger(run_dir),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    # Periodic checkpoints stop at the last multiple of every_n_steps; keep the final state too (a run
    # stopped by max_time, or a max_steps that is not a multiple).
    last = run_dir / "checkpoints" / "last.ckpt"
    if trainer.global_step > 0 and (
        not last.is_file() or load_checkpoint_file(last)["global_step"] != trainer.global_step
    ):
        trainer.save_checkpoint(last, weights_only=False)  # the full state: resumable
    return run_dir


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run_dir = train(cfg)
    except EXPECTED_ERRORS as error:
        message = " ".join(str(error).split())
        print(f"giraffehd-train: error: {message}", file=sys.stderr)
        sys.exit(2)
    print(f"run folder: {run_dir}")


def main() -> None:
    keep_freed_memory()
    _hydra_main()


if __name__ == "__main__":
    main()
