"""giraffehd-train: train a generator with Lightning, configured by Hydra (conf/train.yaml).

    giraffehd-train experiment=demo                       # the CPU demo on the synthetic car set
    giraffehd-train experiment=ffhq_256 data.path=/data/ffhq/256 trainer=gpu
    giraffehd-train experiment=demo resume=runs/demo/checkpoints/last.ckpt

Everything is checked before any work starts; a bad value stops with one line naming its key. The run
folder holds the resolved config (config.yaml), checkpoints/last.ckpt (written atomically), sample grids
and logs; ``resume=auto`` (the default) continues from the run folder's last checkpoint when there is one.
"""

import os
import signal
import warnings
from pathlib import Path

import lightning
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from giraffehd.atomic import remove_stale_temporaries
from giraffehd.data.image_files import DataError
from giraffehd.entry_point import hydra_command
from giraffehd.outputs import check_output_folder
from giraffehd.scene import ScenePrior
from giraffehd.torch_files import CheckpointError, load_checkpoint_file
from giraffehd.training.checkpoint_io import AtomicCheckpointIO
from giraffehd.training.config_errors import config_keys, instantiate_checked, name_key
from giraffehd.training.init_from import init_generators
from giraffehd.training.kept_checkpoints import KeepCheckpoints
from giraffehd.training.module import GiraffeHDModule, NonFiniteLossError
from giraffehd.training.preflight import check_checkpoint, check_config, checkpoint_bytes, resolve_resume
from giraffehd.training.resume_hyperparameters import ApplyConfiguredHyperparameters
from giraffehd.training.run_lock import RunFolderBusy, RunLock
from giraffehd.training.sample_grid import SampleGrid
from giraffehd.training.steepness_ramp import SteepnessRamp
from giraffehd.training.stop_signals import StopOnSignal, TrainingStopped

EXPECTED_ERRORS = (ValueError, CheckpointError, NonFiniteLossError, OmegaConfBaseException, RunFolderBusy)
# The module's own arguments and the config keys they come from (its errors name the argument).
MODULE_KEYS = {
    "ema_decay": "training.ema_decay",
    "style_mixing_prob": "training.style_mixing_prob",
    "part_lr": "optimizer.part_lr",
    "dual_discrimination": "training.dual_discrimination",
    "frozen": "optimizer.frozen",
    "crop_size": "training.crop_size",
}
RAMP_KEY = "training.mask_steepness_ramp"


def build_module(cfg: DictConfig, prior: ScenePrior) -> GiraffeHDModule:
    """The networks, optimizer partials and loss settings as configured, in the training module; a value
    its constructor refuses stops with one line naming the config key."""
    losses = instantiate_checked(cfg, "training.losses")
    ramp = steepness_ramp(cfg)
    g_optimizer = instantiate_checked(cfg, "optimizer.generator")
    d_optimizer = instantiate_checked(cfg, "optimizer.discriminator")
    torch.manual_seed(cfg.seed)  # initial weights
    generator = instantiate_checked(cfg, "model")
    discriminator = instantiate_checked(cfg, "discriminator")
    with config_keys(MODULE_KEYS):
        module = GiraffeHDModule(
            generator=generator,
            discriminator=discriminator,
            prior=prior,
            g_optimizer=g_optimizer,
            d_optimizer=d_optimizer,
            losses=losses,
            ema_decay=cfg.training.ema_decay,
            style_mixing_prob=cfg.training.style_mixing_prob,
            seed=cfg.seed,
            model_config=stored_config(cfg),
            part_lr=OmegaConf.to_container(cfg.optimizer.part_lr) if cfg.optimizer.get("part_lr") else None,
            steepness_ramp=ramp,
            dual_discrimination=cfg.training.get("dual_discrimination", False),
            frozen=list(cfg.optimizer.get("frozen") or []),
            crop_size=cfg.training.get("crop_size"),
        )
    check_optimizers(cfg, module)
    return module


def check_optimizers(cfg: DictConfig, module: GiraffeHDModule) -> None:
    """Build the optimizers once: they are partials until Lightning asks for them, after the run folder
    is written, and a bad learning rate should stop before that."""
    for name, optimizer, params in (
        ("generator", module.g_optimizer, module.generator_param_groups()),
        ("discriminator", module.d_optimizer, module.discriminator.parameters()),
    ):
        try:
            optimizer(params)
        except (ValueError, TypeError) as error:
            raise ValueError(name_key(str(error), f"optimizer.{name}", cfg.optimizer[name])) from None


def steepness_ramp(cfg: DictConfig) -> SteepnessRamp | None:
    """``training.mask_steepness_ramp`` as a :class:`SteepnessRamp`; None when it is null or absent."""
    ramp = cfg.training.get("mask_steepness_ramp")
    if ramp is None:
        return None
    try:
        with config_keys({name: f"{RAMP_KEY}.{name}" for name in ("start", "from_step", "to_step")}):
            return SteepnessRamp(**OmegaConf.to_container(ramp))
    except TypeError:
        raise ValueError(f"{RAMP_KEY} takes start, from_step and to_step, got {ramp}") from None


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


def build_trainer(cfg: DictConfig, run_dir: Path, extra: list[lightning.Callback] | None = None) -> lightning.Trainer:
    """The Lightning trainer with its callbacks (checkpoints, sample grids, kept checkpoints, and ``extra``);
    nothing is written until it fits."""
    checkpoints = run_dir / "checkpoints"
    callbacks: list[lightning.Callback] = [
        *(extra or []),
        ModelCheckpoint(
            dirpath=str(checkpoints),
            every_n_train_steps=cfg.checkpoint.every_n_steps or 0,  # 0: Lightning saves none periodically
            save_last=True,
            save_top_k=0,
            enable_version_counter=False,  # overwrite last.ckpt after a resume (not last-v1.ckpt)
        ),
    ]
    samples = cfg.samples
    with config_keys({"every_n_steps": "samples.every_n_steps", "num_samples": "samples.num_samples"}):
        callbacks.append(SampleGrid(str(run_dir / "samples"), samples.every_n_steps, samples.num_samples, samples.seed))
    keep_every = cfg.checkpoint.get("keep_every_n_steps")
    if keep_every is not None:  # a history for scoring the model over training (FID per checkpoint)
        with config_keys({"every_n_steps": "checkpoint.keep_every_n_steps"}):
            callbacks.append(KeepCheckpoints(checkpoints, keep_every))
    try:
        return lightning.Trainer(
            **OmegaConf.to_container(cfg.trainer, resolve=True),
            default_root_dir=str(run_dir),
            logger=make_logger(run_dir),
            callbacks=callbacks,
            plugins=[AtomicCheckpointIO(cfg.checkpoint.get("max_abs_weight"))],
            enable_model_summary=False,
        )
    except (ValueError, TypeError, MisconfigurationException) as error:
        raise ValueError(name_key(str(error), "trainer", cfg.trainer)) from None


def is_main_process() -> bool:
    """The process that started training (not a DDP worker that Lightning launched for another rank)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def train(cfg: DictConfig) -> Path:
    """Train as configured; returns the run folder. Raises TrainingStopped after a signal's checkpoint."""
    # Checkpoints hold the state after each G+D step, which is what resuming needs.
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    prior = check_config(cfg)
    run_dir = Path(cfg.run_dir)
    datamodule = instantiate_checked(cfg, "data")
    module = build_module(cfg, prior)
    ckpt_path = resolve_resume(cfg.resume, run_dir)
    if ckpt_path is not None:
        check_checkpoint(ckpt_path, module)
    init_from = cfg.get("init_from")
    if init_from is not None and ckpt_path is None:  # a resumed run already holds its weights
        print(init_generators(init_from, module.generator, module.generator_ema).summary())
    stop = StopOnSignal()
    trainer = build_trainer(cfg, run_dir, [stop, ApplyConfiguredHyperparameters(resumed=ckpt_path is not None)])
    try:
        datamodule.setup("fit")
    except DataError as error:
        hint = " (make it with: giraffehd-data synth)" if "synthetic" in cfg and "does not exist" in str(error) else ""
        raise ValueError(f"{error}{hint}") from None
    # The run folder is this process's from here on: nothing is written into it before the lock is held.
    if is_main_process():
        check_output_folder(run_dir, "run_dir", create=True)
    lock = RunLock(run_dir).acquire() if is_main_process() else None
    try:
        # A checkpoints folder that cannot be written is found now, not at the first checkpoint.
        # Room for two checkpoints: the new one is written beside the old before it replaces it.
        need = 2 * checkpoint_bytes(module) + 16 * 2**20
        check_output_folder(run_dir / "checkpoints", "run_dir (its checkpoints/ folder)", need, create=True)
        remove_stale_temporaries(run_dir)  # left by writes a kill interrupted; no other process writes here
        remove_stale_temporaries(run_dir / "checkpoints")
        config_path = run_dir / "config.yaml"
        config_path.with_suffix(".yaml.tmp").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        config_path.with_suffix(".yaml.tmp").replace(config_path)
        last = run_dir / "checkpoints" / "last.ckpt"
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
        except NonFiniteLossError as error:
            kept = (
                f"{last} keeps step {load_checkpoint_file(last)['global_step']}" if last.is_file() else "no checkpoint"
            )
            raise NonFiniteLossError(f"{error}: {kept}") from None
        # Periodic checkpoints stop at the last multiple of every_n_steps; keep the final state too (a run
        # stopped by max_time or a signal, or a max_steps that is not a multiple).
        if trainer.global_step > 0 and (
            not last.is_file() or load_checkpoint_file(last)["global_step"] != trainer.global_step
        ):
            trainer.save_checkpoint(last, weights_only=False)  # the full state: resumable
    finally:
        if lock is not None:
            lock.release()
    if stop.received is not None:
        name = signal.Signals(stop.received).name
        raise TrainingStopped(
            stop.received,
            f"stopped by {name} at step {trainer.global_step}; saved {last} (the same command resumes it)",
        )
    return run_dir


def _print_run_folder(run_dir: Path) -> None:
    print(f"run folder: {run_dir}")


main = hydra_command("giraffehd-train", "train", train, (*EXPECTED_ERRORS, TrainingStopped), _print_run_folder)

if __name__ == "__main__":
    main()
