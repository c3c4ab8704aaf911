"""Replaced by the console script ``giraffehd-train-scene-evaluator`` (Hydra overrides, like every other
command): this prints the new form of the command it was given and exits with status 2.

    giraffehd-train-scene-evaluator dataset=data/synthetic_clevr output=models/evaluator_clevr_64.pt threads=1
"""

import shlex
import sys

# The old flags and the keys that replace them (conf/train_scene_evaluator.yaml).
KEYS = {
    "--dataset": "dataset",
    "--output": "output",
    "--preset": "preset",
    "--threads": "threads",
    "--seed": "training.seed",
    "--scene-seed": "training.scene_seed",
    "--heldout-seed": "training.heldout_seed",
    "--num-train": "training.num_train",
    "--epochs": "training.epochs",
    "--batch-size": "training.batch_size",
    "--heldout-per-count": "training.heldout_per_count",
    "--check-images": "check_images",
    "--dataset-scenes": "dataset_scenes",
    "--report": "report",
}


def new_form(argv: list[str]) -> str:
    """The giraffehd-train-scene-evaluator command that does what the old flags ``argv`` asked for."""
    overrides, rest = [], list(argv)
    while rest:
        flag = rest.pop(0)
        name, _, value = flag.partition("=")
        if name not in KEYS:
            overrides.append(f"<{flag}: no such setting>")
            continue
        if not value and rest:
            value = rest.pop(0)
        overrides.append(f"{KEYS[name]}={value}")
    return shlex.join(["giraffehd-train-scene-evaluator", *overrides]).replace("'", "")


def main(argv: list[str] | None = None) -> int:
    command = new_form(sys.argv[1:] if argv is None else argv)
    print(f"scripts/train_scene_evaluator.py is replaced by a console script: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
