"""giraffehd-data: make and prepare datasets.

giraffehd-data synth [KEY=VALUE ...]
    Render a synthetic dataset with full ground truth (conf/synth.yaml; Hydra overrides), e.g.
    giraffehd-data synth                                    10,000 cars at 64 px, data/synthetic_car
    giraffehd-data synth data=synthetic_clevr num_images=2000 resolution=128

giraffehd-data prepare source=SOURCE output=OUTPUT [KEY=VALUE ...]
    Resize an image collection (folder or zip) once, so training does not resize every epoch
    (conf/prepare.yaml; Hydra overrides), e.g.
    giraffehd-data prepare source=photos/ output=data/my_cars resolutions=[64,256]
    giraffehd-data prepare source=faces.zip output=data/faces zip=true crop=[0,20,178,178]
"""

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from giraffehd.allocator import keep_freed_memory
from giraffehd.config_types import CONF_DIR, check_override_kinds
from giraffehd.data import prepare
from giraffehd.data.synthetic.renderer import Lighting
from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
from giraffehd.entry_point import os_error_line
from giraffehd.scene import ScenePrior


def compose_checked(config_name: str, overrides: list[str]):
    """``conf/<config_name>.yaml`` with Hydra overrides applied, each keeping its key's kind of value."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides)
        check_override_kinds(cfg, overrides, config_name)
    return cfg


def compose_synth_config(overrides: list[str]):
    """The resolved ``synth`` config with Hydra overrides applied."""
    cfg = compose_checked("synth", overrides)
    if "synthetic" not in cfg:
        raise ValueError(
            "this data preset is not a synthetic preset (no synthetic: section); "
            "use data=synthetic_car or data=synthetic_clevr"
        )
    return cfg


def run_synth(overrides: list[str]) -> Path:
    cfg = compose_synth_config(overrides)
    plain = OmegaConf.to_container(cfg, resolve=True)
    prior = ScenePrior.from_groups(plain["camera"], plain["objects"], z_dim=1)
    synthetic = plain["synthetic"]
    lighting = {k: tuple(v) if isinstance(v, list) else v for k, v in synthetic["lighting"].items()}
    spec = SyntheticSpec(classes=synthetic["classes"], palette=synthetic["palette"], lighting=Lighting(**lighting))
    return synthesize(
        output=plain["output"],
        prior=prior,
        spec=spec,
        num_images=plain["num_images"],
        resolution=plain["resolution"],
        seed=plain["seed"],
        batch_size=plain["batch_size"],
        supersampling=plain["supersampling"],
        overwrite=plain["overwrite"],
    )


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    try:
        if command in ("synth", "prepare") and rest and rest[0] in ("-h", "--help"):
            print(__doc__.strip())
            return
        if command == "synth":
            print(f"wrote {run_synth(rest)}")
        elif command == "prepare":
            for path in prepare.run(compose_checked("prepare", rest)):
                print(f"wrote {path}")
        else:
            print(
                f"giraffehd-data: error: unknown command {command!r}; use synth or prepare (see --help)",
                file=sys.stderr,
            )
            sys.exit(2)
    except (ValueError, HydraException, OmegaConfBaseException) as error:
        message = " ".join(str(error).split())
        print(f"giraffehd-data {command}: error: {message}", file=sys.stderr)
        sys.exit(2)  # bad input; 1 is left for a real crash
    except OSError as error:  # a full disk or a folder that turned read-only during the work
        print(f"giraffehd-data {command}: error: {os_error_line(error)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
