"""giraffehd-eval-scenes: the per-object scorecard of a multi-object model (conf/eval_scenes.yaml).

    giraffehd-eval-scenes                                             # models/clevr_64.pt
    giraffehd-eval-scenes checkpoint=runs/clevr_cpu_64 metrics=[count,translation,isolation,colour,shapes,fid]

Every figure is measured twice, on the model and on the dataset's own renderer drawing the same scenes
(the floor: what the scene evaluator reads from true images), beside its chance level. Inputs are
checked before any work; a bad one stops with one line ``giraffehd-eval-scenes: error: ...`` and exit
status 2. Writes scorecard.json and scorecard.md into the output folder (atomically) and prints the table.
"""

import json
import sys
from pathlib import Path

from omegaconf import DictConfig

from giraffehd.atomic import write_atomically
from giraffehd.entry_point import hydra_command
from giraffehd.evaluation.labels import DatasetError, SyntheticDataset, read_dataset
from giraffehd.evaluation.quality.fid import QualityScores
from giraffehd.evaluation.scenes.controls import SceneProtocol, x_range_of
from giraffehd.evaluation.scenes.evaluator import SceneEvaluator, load_scene_evaluator, read_scenes
from giraffehd.evaluation.scenes.geometry import separated_scenes
from giraffehd.evaluation.scenes.scorecard import QUALITY, Measuring, SceneScorecard, check_metrics, measure_all
from giraffehd.evaluation.sources import ImageSource, generator_source, seeded_images, synthetic_source
from giraffehd.model_io import LoadedModel, load_model
from giraffehd.outputs import check_output_folder
from giraffehd.torch_files import CheckpointError


def protocol_from(cfg: DictConfig) -> SceneProtocol:
    keys = ("seed", "num_scenes", "sweep_steps", "min_separation_px", "change_levels", "mask_dilation_px")
    return SceneProtocol(**{key: cfg[key] for key in keys}, batch_size=cfg.batch_size)


def check_inputs(model: LoadedModel, evaluator: SceneEvaluator, dataset: SyntheticDataset) -> None:
    """The model must have several object slots; the evaluator must read the dataset's classes and colours."""
    if model.prior.num_objects < 2:
        raise CheckpointError(f"{model.path}: the model draws one object; score it with giraffehd-eval")
    if evaluator.classes != dataset.classes or evaluator.palette != list(dataset.palette):
        raise DatasetError(
            f"the scene evaluator reads classes {evaluator.classes} and colours {evaluator.palette}, but dataset "
            f"{dataset.root} has {dataset.classes} and {list(dataset.palette)} (wrong dataset?)"
        )


def measure(
    source: ImageSource, reader, model: LoadedModel, protocol: SceneProtocol, metrics, dataset: SyntheticDataset
) -> dict:
    """The chosen registry metrics on one image source (the model or the floor): name -> typed result."""
    resolution = model.generator.image_resolution
    scenes = separated_scenes(model.prior, protocol.num_scenes, protocol.seed, resolution, protocol.min_separation_px)
    measuring = Measuring(source, reader, scenes, x_range_of(model.prior), protocol, resolution, dataset)
    return measure_all(measuring, metrics)


def quality(cfg: DictConfig, model: LoadedModel) -> QualityScores:
    """FID/KID with the project's protocol (the reference is the dataset; the floor real images outside it)."""
    from giraffehd.evaluation.quality.fid import compute_quality
    from giraffehd.evaluation.quality.fid_floor import reference_set
    from giraffehd.evaluation.quality.inception import resolve_weights

    settings = cfg.fid
    weights = resolve_weights(settings.weights)
    reference = reference_set(
        cfg.dataset, settings.num_reference, settings.num_samples if settings.floor else None, settings.floor_seed
    )
    images = seeded_images(generator_source(model.generator), model.prior, settings.seed)
    return compute_quality(images, settings.num_samples, reference, weights=weights, seed=settings.seed)


def output_folder(cfg: DictConfig) -> Path:
    if cfg.output_dir is not None:
        return Path(cfg.output_dir)
    checkpoint = Path(cfg.checkpoint)
    return checkpoint / "eval_scenes" if checkpoint.is_dir() else checkpoint.parent / "eval_scenes"


def run(cfg: DictConfig) -> Path:
    metrics = list(cfg.metrics)
    check_metrics(metrics)
    protocol = protocol_from(cfg)
    model = load_model(cfg.checkpoint)
    evaluator = load_scene_evaluator(cfg.evaluator)
    dataset = read_dataset(cfg.dataset, single_object=False)
    check_inputs(model, evaluator, dataset)
    output = check_output_folder(output_folder(cfg), "output_dir")  # before the work, not after

    def reader(images):
        return read_scenes(evaluator, images, protocol.batch_size)

    floor_source = synthetic_source(dataset, model.generator.image_resolution)
    print("measuring the model ...", file=sys.stderr)
    on_model = measure(generator_source(model.generator), reader, model, protocol, metrics, dataset)
    print("measuring the floor (the dataset's renderer on the same scenes) ...", file=sys.stderr)
    on_floor = measure(floor_source, reader, model, protocol, metrics, dataset)
    card = SceneScorecard(
        checkpoint=str(model.path),
        step=model.step,
        evaluator=str(cfg.evaluator),
        dataset=str(dataset.root),
        protocol=protocol,
        evaluator_heldout=evaluator.report.get("heldout"),
        model=on_model,
        floor=on_floor,
        quality=quality(cfg, model) if QUALITY in metrics else None,
    )
    markdown = card.to_markdown()
    record = card.to_record()
    write_atomically(output / "scorecard.json", lambda f: f.write(json.dumps(record, indent=1).encode()))
    write_atomically(output / "scorecard.md", lambda f: f.write(markdown.encode()))
    print(markdown)
    print(f"wrote {output / 'scorecard.json'} and {output / 'scorecard.md'}")
    return output


main = hydra_command("giraffehd-eval-scenes", "eval_scenes", run)

if __name__ == "__main__":
    main()
