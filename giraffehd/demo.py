"""giraffehd-demo (``make demo``): show the shipped GIRAFFE HD model, then make the synthetic car set, train
the demo model, render its knobs, score it.

    giraffehd-demo                                   # all five stages, conf/demo.yaml
    giraffehd-demo train.minutes=30 run_dir=runs/demo30
    giraffehd-demo stages=[render,eval] run_dir=models/demo_car_64.pt

Each stage is one of the project's commands run in this process with the overrides of conf/demo.yaml:
``giraffehd-render`` of the shipped 256 px model (the showcase: seconds, so that a user sees what the
project makes before the demo trains its own small model), ``giraffehd-data synth`` (skipped when the
data set exists), ``giraffehd-train experiment=demo`` with a
wall-clock budget (a later call resumes the run folder; a run that used its budget stays as it is),
``giraffehd-render`` (camera-elevation sweep, object-rotation sweep, object turntable) and
``giraffehd-eval`` (controllability scorecard, FID/KID). Every configuration is composed and checked
before the first stage starts, so a bad override costs nothing.
"""

import json
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from giraffehd.allocator import keep_freed_memory
from giraffehd.config_types import CONF_DIR, check_override_kinds
from giraffehd.training.module import NonFiniteLossError
from giraffehd.training.preflight import check_config

STAGES = ("showcase", "data", "train", "render", "eval")


def _compose(name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(name, overrides)
        check_override_kinds(cfg, overrides, name)
        return cfg


def stage_configs(cfg: DictConfig) -> dict[str, DictConfig | list[str]]:
    """The composed configuration of every requested stage (the data stage keeps its override list)."""
    stages = list(cfg.stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise ValueError(f"stages must be a non-empty list of {', '.join(STAGES)}; got {stages}")
    if cfg.train.minutes <= 0:
        raise ValueError(f"train.minutes must be positive, got {cfg.train.minutes}")
    data = [
        "data=synthetic_car",
        f"output={cfg.data.output}",
        f"num_images={cfg.data.num_images}",
        f"resolution={cfg.data.resolution}",
    ]
    seconds = round(float(cfg.train.minutes) * 60)
    budget = f"{seconds // 86400:02d}:{seconds % 86400 // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    configs: dict[str, DictConfig | list[str]] = {"data": data}
    showcase = cfg.showcase
    configs["showcase"] = _compose(
        "render",
        [
            f"checkpoint={showcase.checkpoint}",
            f"output_dir={showcase.output_dir}",
            "sweeps=[" + ",".join(showcase.sweeps) + "]",
            *showcase.overrides,
        ],
    )
    configs["train"] = _compose(
        "train",
        [
            "experiment=demo",
            f"run_dir={cfg.run_dir}",
            f"data.path={cfg.data.output}/images",
            f"data.resolution={cfg.data.resolution}",
            f"synthetic.root={cfg.data.output}",
            f"+trainer.max_time={budget}",
            "trainer.max_steps=1000000",
            *cfg.train.overrides,
        ],
    )
    check_config(configs["train"])
    sweeps = "[" + ",".join(cfg.render.sweeps) + "]"
    configs["render"] = _compose(
        "render",
        [f"checkpoint={cfg.run_dir}", f"output_dir={cfg.output_dir}", f"sweeps={sweeps}", *cfg.render.overrides],
    )
    metrics = [
        "rotation",
        "elevation",
        "translation",
        "background",
        "mask",
        "colour",
        *(["fid"] if cfg.eval.fid else []),
    ]
    configs["eval"] = _compose(
        "eval",
        [
            f"checkpoint={cfg.run_dir}",
            f"dataset={cfg.data.output}",
            f"output_dir={cfg.output_dir}",
            f"metrics=[{','.join(metrics)}]",
            *cfg.eval.overrides,
        ],
    )
    return {name: configs[name] for name in stages}


def _data_ready(folder: Path, num_images: int, resolution: int) -> bool:
    labels = folder / "labels.json"
    if not labels.is_file():
        return False
    try:
        written = json.loads(labels.read_text())
    except (OSError, ValueError):
        return False
    return written.get("num_images") == num_images and written.get("resolution") == resolution


def run_demo(cfg: DictConfig) -> dict[str, float]:
    """Run the requested stages; returns the seconds each took."""
    configs = stage_configs(cfg)  # every override checked before any work
    from giraffehd.data.cli import run_synth
    from giraffehd.evaluation.car.cli import run as run_eval
    from giraffehd.sweeps.cli import run_render
    from giraffehd.train import train

    seconds: dict[str, float] = {}
    for number, (name, stage) in enumerate(configs.items(), start=1):
        start = time.perf_counter()
        print(f"\n=== giraffehd-demo [{number}/{len(configs)}] {name} ===", flush=True)
        if name == "showcase":
            print(f"the shipped GIRAFFE HD model ({cfg.showcase.checkpoint}): its knobs at full resolution")
            for path in run_render(stage):
                if path.suffix != ".json":
                    print(f"wrote {path}")
        elif name == "data":
            if _data_ready(Path(cfg.data.output), cfg.data.num_images, cfg.data.resolution):
                print(f"{cfg.data.output} exists with {cfg.data.num_images} images; kept")
            else:
                print(f"wrote {run_synth(stage)}")
        elif name == "train":
            print(f"training experiment=demo for up to {cfg.train.minutes} minutes into {cfg.run_dir}")
            train(stage)
        elif name == "render":
            for path in run_render(stage):
                if path.suffix != ".json":
                    print(f"wrote {path}")
        else:
            run_eval(stage)
        seconds[name] = time.perf_counter() - start
        print(f"--- {name}: {seconds[name]:.0f} s", flush=True)
    summary = ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items())
    print(f"\ngiraffehd-demo done in {sum(seconds.values()) / 60:.1f} min ({summary}); outputs in {cfg.output_dir}/")
    return seconds


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()
    overrides = sys.argv[1:] if argv is None else argv
    if overrides and overrides[0] in ("-h", "--help"):
        print(__doc__)
        print(OmegaConf.to_yaml(_compose("demo", [])))
        return
    try:
        run_demo(_compose("demo", overrides))
    # ValueError covers the stages' own errors too (data, dataset, evaluator and checkpoint errors).
    except (ValueError, NonFiniteLossError, OmegaConfBaseException, HydraException) as error:
        print(f"giraffehd-demo: error: {' '.join(str(error).split())}", file=sys.stderr)
        sys.exit(2)  # bad input; 1 is left for a real crash


if __name__ == "__main__":
    main()
