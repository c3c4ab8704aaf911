"""Values given on the command line keep the kind of value the configuration defines for their key.

Hydra takes ``trainer.max_steps=abc`` as the text "abc", and the mistake would surface much later as a
traceback deep in a library ("'<' not supported between instances of 'str' and 'int'"). Each entry point
compares every ``key=value`` override with the same key in the configuration composed without value
overrides (the config groups chosen, e.g. ``experiment=demo``, still apply): a number stays a number (an
integer stays an integer), a flag stays true or false, a list stays a list. A mismatch stops with one line
naming the key, the value and what is allowed. A key whose default is null takes null or the kind
:data:`NULLABLE_KINDS` names for it (``threshold=abc`` is refused like ``steps=abc``); other null keys and
text keys take any value here, and their own checks judge them.
"""

from collections.abc import Sequence
from pathlib import Path

import torch
from hydra import compose
from omegaconf import DictConfig, ListConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
_MISSING = object()

# Keys that take null (an automatic choice, or "off") or else a number: the kind of number, by the dotted
# key in any command's config. For a key whose default is null it is the only record of its kind.
NULLABLE_KINDS: dict[str, int | float] = {
    "threads": 1,
    "threshold": 1.0,  # export_mesh
    "limit": 1,  # invert
    "video_size": 1,  # render
    "fid.num_reference": 1,
    "fid.floor_seed": 1,
    "fid.resize_to": 1,
    "num_reference": 1,  # eval_scenes
    "training.crop_size": 1,
    "training.losses.mask_max_coverage": 1.0,
    "training.losses.mask_object_min_coverage": 1.0,
    "checkpoint.keep_every_n_steps": 1,
    "checkpoint.every_n_steps": 1,
    "checkpoint.max_abs_weight": 1.0,
}


def is_group_choice(override: str) -> bool:
    """``experiment=demo``, ``model/compositor=features``: a choice of config file, not a value."""
    key = override.split("=", 1)[0].lstrip("+~")
    return "/" in key or (CONF_DIR / key).is_dir()


def is_int(value) -> bool:
    """An integer and not a bool (YAML's true is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def set_threads(threads) -> None:
    """Apply the entry points' ``threads`` key: null keeps torch's default, else an integer of at least 1."""
    if threads is None:
        return
    if not is_int(threads) or threads < 1:
        raise ValueError(f"threads must be null or an integer of at least 1, got {threads!r}")
    torch.set_num_threads(threads)


def require(cfg: DictConfig, ok: bool, key: str, rule: str) -> None:
    """One line naming ``key``, its rule and the value given, unless ``ok``: an entry point's range checks."""
    if not ok:
        raise ValueError(f"{key} {rule}, got {OmegaConf.select(cfg, key)!r}")


def resolved_device(device: str) -> str:
    """The entry points' ``device`` key: cpu, cuda or auto (CUDA where there is one); cuda without a CUDA
    device is refused in one line."""
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be cpu, cuda or auto, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device is cuda, but no CUDA device is available")
    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def kind_problem(default, value) -> str | None:
    """What ``value`` must be to replace ``default``, or None when it is of the right kind."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if is_int(value) else "an integer"
    if isinstance(default, float):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "a number"
    if isinstance(default, list | ListConfig):
        return None if isinstance(value, list | ListConfig) else "a list, such as [a,b]"
    return None


def check_override_kinds(cfg: DictConfig, overrides: Sequence[str], config_name: str) -> None:
    """Raise a one-line ValueError for the first override whose value is of another kind than its default.

    Call inside a Hydra app (``hydra.main``) or an ``initialize_config_dir`` block: it composes
    ``config_name`` again with only the group choices of ``overrides``."""
    values = [o for o in overrides if "=" in o and not o.startswith("~") and not is_group_choice(o)]
    if not values:
        return
    reference = compose(config_name, [o for o in overrides if is_group_choice(o)])
    for override in values:
        key = override.split("=", 1)[0].lstrip("+")
        default = OmegaConf.select(reference, key, default=_MISSING, throw_on_resolution_failure=False)
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        kind = NULLABLE_KINDS.get(key) if default is None else default
        if value is None and key in NULLABLE_KINDS:
            continue  # null, the automatic choice, where the key allows it
        if kind is _MISSING or kind is None or isinstance(kind, DictConfig):
            continue
        plain = OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
        problem = kind_problem(kind, plain)
        if problem is not None:
            problem += " or null" if key in NULLABLE_KINDS else ""
            shown = "null" if default is None else repr(_plain(default))
            raise ValueError(f"{key} must be {problem} (its default is {shown}), got {plain!r}")


def _plain(value):
    return OmegaConf.to_container(value) if isinstance(value, ListConfig) else value


def hydra_overrides() -> list[str]:
    """The command line's overrides of the running Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task)
