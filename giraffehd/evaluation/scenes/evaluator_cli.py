"""giraffehd-train-scene-evaluator: train the scene evaluator for a multi-object synthetic set, print its
held-out report and save it (conf/train_scene_evaluator.yaml).

    giraffehd-train-scene-evaluator                    # data/synthetic_clevr -> models/evaluator_clevr_64.pt
    giraffehd-train-scene-evaluator dataset=data/my_set output=runs/my_evaluator.pt report=runs/report.md

The set's classes, palette, prior, seed and resolution come from its labels.json; its lighting from
labels.json when recorded there, else from the data preset it was made with (``preset``). Before
training, the first ``check_images`` images are re-rendered and compared with the files, so that a wrong
lighting or palette fails here rather than training an evaluator for other images. Training and held-out
scenes are drawn with seeds of their own (evaluator_training.py); the evaluator then also reads the first
``dataset_scenes`` images of the set itself (truth re-rendered from the same draws). Prints Markdown
tables; ``report=FILE.md`` also writes them with the command and wall time. A bad input stops with one
line, exit status 2.
"""

import dataclasses
import json
import shlex
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from giraffehd.atomic import write_atomically
from giraffehd.config_types import hydra_overrides
from giraffehd.data.synthetic.renderer import Lighting
from giraffehd.data.synthetic.writer import SyntheticSpec
from giraffehd.entry_point import hydra_command, print_written
from giraffehd.evaluation.labels import DatasetError
from giraffehd.evaluation.scenes.evaluator import read_scenes, save_scene_evaluator
from giraffehd.evaluation.scenes.evaluator_scores import score_readings, scores_table
from giraffehd.evaluation.scenes.evaluator_training import SceneEvaluatorTraining, train_scene_evaluator
from giraffehd.evaluation.scenes.truth import SceneSource, draw_scenes, render_truth
from giraffehd.inputs import check_input_file
from giraffehd.outputs import check_output_folder
from giraffehd.scene import ScenePrior


def preset_lighting(preset: str) -> dict:
    """The ``synthetic.lighting`` of a data preset (conf/data/PRESET.yaml)."""
    from giraffehd.data.cli import compose_synth_config

    config = compose_synth_config([f"data={preset}"])
    return OmegaConf.to_container(config.synthetic.lighting, resolve=True)


def read_source(dataset: Path, preset: str) -> tuple[SceneSource, dict]:
    """The set's scene source and its labels.json (without the per-image records)."""
    labels_file = dataset / "labels.json"
    if not labels_file.is_file():
        raise DatasetError(f"{dataset} has no labels.json: not a synthetic dataset written by giraffehd-data synth")
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
        path = check_input_file(dataset / "images" / f"{i:08d}.png", "image", DatasetError)
        with Image.open(path) as image:
            arrays.append(np.asarray(image.convert("RGB")))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def settings_from(cfg: DictConfig, labels: dict) -> SceneEvaluatorTraining:
    t = cfg.training
    dataset_seed = int(labels["seed"])
    settings = SceneEvaluatorTraining(
        resolution=int(labels["resolution"]),
        num_train=t.num_train,
        epochs=t.epochs,
        batch_size=t.batch_size,
        heldout_per_count=t.heldout_per_count,
        seed=t.seed,
        scene_seed=dataset_seed + 1 if t.scene_seed is None else t.scene_seed,
        heldout_seed=dataset_seed + 2 if t.heldout_seed is None else t.heldout_seed,
    )
    if dataset_seed in (settings.scene_seed, settings.heldout_seed):
        raise ValueError(
            f"training.scene_seed and training.heldout_seed must differ from the set's seed {dataset_seed}"
        )
    return settings


def given_overrides() -> list[str]:
    """The command line's overrides, for the report; none when called from Python rather than the command."""
    from hydra.core.hydra_config import HydraConfig

    return hydra_overrides() if HydraConfig.initialized() else []


def run(cfg: DictConfig) -> Path:
    start = time.perf_counter()
    dataset, output = Path(cfg.dataset), Path(cfg.output)
    for key in ("check_images", "dataset_scenes"):
        if not (isinstance(cfg[key], int) and cfg[key] >= 1):
            raise ValueError(f"{key} must be an integer of at least 1, got {cfg[key]!r}")
    if output.is_dir():
        raise ValueError(f"output {output} is a folder: name the evaluator file, e.g. {output / 'evaluator.pt'}")
    if output.exists() and not cfg.overwrite:
        raise ValueError(f"output {output} exists: pass overwrite=true to replace it")
    check_output_folder(output.parent, "output", need_bytes=16 * 2**20, create=True)
    source, labels = read_source(dataset, cfg.preset)
    settings = settings_from(cfg, labels)
    dataset_seed, resolution = int(labels["seed"]), settings.resolution

    # The set's own images, and their truth re-rendered from the same draws (also the lighting check).
    num_set = max(cfg.check_images, cfg.dataset_scenes)
    draws = draw_scenes(source, dataset_seed, num_set)
    truth = render_truth(source, draws, resolution, settings.min_visible_pixels, desc="re-rendering the set")
    files = stored_images(dataset, num_set)
    checked = slice(0, cfg.check_images)
    difference = (files[checked].float() - truth.images[checked].float()).abs() / 255
    if difference.mean() > 1 / 255:
        raise DatasetError(
            f"re-rendered images differ from {dataset}'s files by {difference.mean():.4f} on average "
            f"(max {difference.max():.3f}): not the preset's lighting, palette or prior? (preset=...)"
        )

    evaluator, report = train_scene_evaluator(source, settings)
    set_truth = dataclasses.replace(truth, images=files).select(torch.arange(cfg.dataset_scenes))
    readings = read_scenes(evaluator, set_truth.images.float() / 255)
    report["dataset"] = {
        "path": str(dataset),
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
    save_scene_evaluator(evaluator, output, report)
    seconds = time.perf_counter() - start
    command = shlex.join(["giraffehd-train-scene-evaluator", *given_overrides()])
    text = "\n".join(
        [
            f"# Scene evaluator {output}",
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
            f"The set's own first {cfg.dataset_scenes} images ({dataset}, 2-5 objects):",
            "",
            scores_table(report["dataset"]["scores"]),
            "",
            f"Command: `{command}`",
            f"Wall time: {seconds / 60:.1f} min ({seconds:.0f} s) on {torch.get_num_threads()} thread(s); "
            f"training alone {report['training']['seconds']:.0f} s; "
            f"{report['training']['parameters']} parameters, file {output.stat().st_size / 1e6:.2f} MB; "
            f"peak threshold {report['training']['peak_threshold']} (chosen on validation scenes).",
        ]
    )
    print(text)
    if cfg.report is not None:
        write_atomically(Path(cfg.report), lambda f: f.write((text + "\n").encode()))
    return output


main = hydra_command(
    "giraffehd-train-scene-evaluator", "train_scene_evaluator", run, report=lambda path: print_written([path])
)

if __name__ == "__main__":
    main()
