"""Train the scene evaluator for a multi-object synthetic set, print its held-out report and save it.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/train_scene_evaluator.py \\
        --dataset data/synthetic_clevr --output models/evaluator_clevr_64.pt --threads 1

The set's classes, palette, prior, seed and resolution come from its labels.json; its lighting from
labels.json when recorded there, else from the data preset it was made with (``--preset``). Before
training, the first ``--check-images`` images are re-rendered and compared with the files, so that a
wrong lighting or palette fails here rather than training an evaluator for other images. Training scenes
and held-out scenes are drawn with seeds of their own (giraffehd/evaluation/scenes/evaluator_training.py);
the evaluator then also reads the first ``--dataset-scenes`` images of the set itself (truth re-rendered
from the same draws). Prints Markdown tables; ``--report FILE.md`` also writes them with the command and
wall time.
"""

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from giraffehd.data.synthetic.renderer import Lighting
from giraffehd.data.synthetic.writer import SyntheticSpec
from giraffehd.evaluation.scenes.evaluator import read_scenes, save_scene_evaluator
from giraffehd.evaluation.scenes.evaluator_scores import score_readings, scores_table
from giraffehd.evaluation.scenes.evaluator_training import SceneEvaluatorTraining, train_scene_evaluator
from giraffehd.evaluation.scenes.truth import SceneSource, draw_scenes, render_truth
from giraffehd.scene import ScenePrior


def preset_lighting(preset: str) -> dict:
    """The ``synthetic.lighting`` of a data preset (conf/data/PRESET.yaml)."""
    from omegaconf import OmegaConf

    from giraffehd.data.cli import compose_synth_config

    config = compose_synth_config([f"data={preset}"])
    return OmegaConf.to_container(config.synthetic.lighting, resolve=True)


def read_source(dataset: Path, preset: str) -> tuple[SceneSource, dict]:
    """The set's scene source and its labels.json (without the per-image records)."""
    labels_file = dataset / "labels.json"
    if not labels_file.is_file():
        sys.exit(f"error: {dataset} has no labels.json: not a synthetic dataset written by giraffehd-data synth")
    labels = json.loads(labels_file.read_text())
    lighting = labels.get("lighting") or preset_lighting(preset)
    lighting = Lighting(**{k: tuple(v) if isinstance(v, list) else v for k, v in lighting.items()})
    spec = SyntheticSpec(labels["classes"], labels["palette"], lighting)
    source = SceneSource(ScenePrior(z_dim=1, **labels["prior"]), spec)
    return source, {k: v for k, v in labels.items() if k != "images"}


def stored_images(dataset: Path, count: int) -> torch.Tensor:
    """The first ``count`` images of the set as uint8 (B, 3, H, W)."""
    arrays = []
    for i in range(count):
        with Image.open(dataset / "images" / f"{i:08d}.png") as image:
            arrays.append(np.asarray(image.convert("RGB")))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("data/synthetic_clevr"))
    parser.add_argument("--output", type=Path, default=Path("models/evaluator_clevr_64.pt"))
    parser.add_argument("--preset", default="synthetic_clevr", help="data preset the set was made with (lighting)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="weights, batch order and augmentation")
    parser.add_argument("--scene-seed", type=int, default=None, help="training scenes (default: the set's seed + 1)")
    parser.add_argument("--heldout-seed", type=int, default=None, help="held-out scenes (default: the set's seed + 2)")
    parser.add_argument("--num-train", type=int, default=SceneEvaluatorTraining.num_train)
    parser.add_argument("--epochs", type=int, default=SceneEvaluatorTraining.epochs)
    parser.add_argument("--batch-size", type=int, default=SceneEvaluatorTraining.batch_size)
    parser.add_argument("--heldout-per-count", type=int, default=SceneEvaluatorTraining.heldout_per_count)
    parser.add_argument("--check-images", type=int, default=16, help="images re-rendered and compared with the files")
    parser.add_argument("--dataset-scenes", type=int, default=500, help="images of the set read after training")
    parser.add_argument("--report", type=Path, default=None, help="also write the report here (Markdown)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    torch.set_num_threads(args.threads)

    source, labels = read_source(args.dataset, args.preset)
    dataset_seed, resolution = int(labels["seed"]), int(labels["resolution"])
    settings = SceneEvaluatorTraining(
        resolution=resolution,
        num_train=args.num_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        heldout_per_count=args.heldout_per_count,
        seed=args.seed,
        scene_seed=dataset_seed + 1 if args.scene_seed is None else args.scene_seed,
        heldout_seed=dataset_seed + 2 if args.heldout_seed is None else args.heldout_seed,
    )
    if dataset_seed in (settings.scene_seed, settings.heldout_seed):
        sys.exit(f"error: the training and held-out seeds must differ from the set's seed {dataset_seed}")

    # The set's own images, and their truth re-rendered from the same draws (also the lighting check).
    num_set = max(args.check_images, args.dataset_scenes)
    draws = draw_scenes(source, dataset_seed, num_set)
    truth = render_truth(source, draws, resolution, settings.min_visible_pixels, desc="re-rendering the set")
    files = stored_images(args.dataset, num_set)
    checked = slice(0, args.check_images)
    difference = (files[checked].float() - truth.images[checked].float()).abs() / 255
    if difference.mean() > 1 / 255:
        sys.exit(
            f"error: re-rendered images differ from {args.dataset}'s files by {difference.mean():.4f} on average "
            f"(max {difference.max():.3f}): not the preset's lighting, palette or prior? (--preset)"
        )

    evaluator, report = train_scene_evaluator(source, settings)
    set_truth = dataclasses.replace(truth, images=files).select(torch.arange(args.dataset_scenes))
    readings = read_scenes(evaluator, set_truth.images.float() / 255)
    report["dataset"] = {
        "path": str(args.dataset),
        "seed": dataset_seed,
        "resolution": resolution,
        "lighting": {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(source.spec.lighting).items()
        },
        "check_mean_difference": difference.mean().item(),
        "scores": score_readings(
            readings,
            set_truth.centres,
            set_truth.class_index,
            set_truth.colour_index,
            set_truth.visible,
            set_truth.owner,
            settings.max_count,
        ),
    }
    evaluator.report = report
    save_scene_evaluator(evaluator, args.output, report)
    seconds = time.perf_counter() - start
    command = shlex.join([Path(sys.executable).name, *sys.argv]) if argv is None else shlex.join(argv)
    text = "\n".join(
        [
            f"# Scene evaluator {args.output}",
            "",
            f"Held-out scenes ({report['training']['num_heldout']}, exactly 1..{settings.max_count} objects, "
            f"seed {settings.heldout_seed}; an object is visible when it covers at least "
            f"{settings.min_visible_pixels} pixels), by true visible count:",
            "",
            scores_table(report["heldout"]),
            "",
            f"Held-out scenes ({report['training']['num_heldout_separated']}) whose projected centres are all at "
            f"least {settings.separation_px} px apart (the scene scorecard's count protocol), by true visible count:",
            "",
            scores_table(report["heldout_separated"]),
            "",
            f"The set's own first {args.dataset_scenes} images ({args.dataset}, 2-5 objects):",
            "",
            scores_table(report["dataset"]["scores"]),
            "",
            f"Command: `{command}`",
            f"Wall time: {seconds / 60:.1f} min ({seconds:.0f} s) on {args.threads} thread(s); "
            f"training alone {report['training']['seconds']:.0f} s; "
            f"{report['training']['parameters']} parameters, file {args.output.stat().st_size / 1e6:.2f} MB; "
            f"peak threshold {report['training']['peak_threshold']} (chosen on validation scenes).",
        ]
    )
    print(text)
    if args.report is not None:
        args.report.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
