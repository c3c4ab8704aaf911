"""The Hydra edge for code that is not an entry point of its own: compose a config from ``conf/``.

Tests, benchmarks and scripts build models from the same presets as training:

    generator = build_model("tiny", ["image_resolution=64"])   # overrides are relative to the model group
"""

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from giraffehd.config_types import CONF_DIR


def compose_config(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """``conf/<config_name>.yaml`` with Hydra overrides applied (as on the command line)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


# Config groups inside the model group: an override naming one chooses an option ("compositor=features").
_MODEL_GROUPS = ("compositor",)


def build_model(preset: str = "tiny", overrides: Sequence[str] = ()):
    """The generator of ``conf/model/<preset>.yaml`` with ``overrides`` relative to the model group, such as
    ``"compositor.mask_steepness=2"`` (a value) or ``"compositor=features"`` (another compositor)."""

    def absolute(override: str) -> str:
        body = override.lstrip("+~")  # Hydra's add/delete prefix stays in front
        prefix = override[: len(override) - len(body)]
        if body.split("=", 1)[0] in _MODEL_GROUPS:
            return f"{prefix}model/{body}"
        return f"{prefix}model.{body}"

    cfg = compose_config("train", [f"model={preset}", *(absolute(o) for o in overrides)])
    return instantiate(cfg.model)
