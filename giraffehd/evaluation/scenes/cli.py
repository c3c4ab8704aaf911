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
from dataclasses import asdict
from pathlib import Path

from omegaconf import DictConfig

from giraffehd.atomic import write_atomically
from giraffehd.entry_point import hydra_command
from giraffehd.evaluation.labels import DatasetError, SyntheticDataset, read_dataset
from giraffehd.evaluation.scenes.controls import (
    SceneProtocol,
    colour_control,
    count_accuracy,
    translation_control,
    x_range_of,
)
from giraffehd.evaluation.scenes.evaluator import SceneEvaluator, load_scene_evaluator, read_scenes
from giraffehd.evaluation.scenes.geometry import separated_scenes
from giraffehd.evaluation.scenes.isolation import isolation
from giraffehd.evaluation.scenes.shapes import shape_shares
from giraffehd.evaluation.sources import ImageSource, generator_source, seeded_images, synthetic_source
from giraffehd.model_io import LoadedModel, load_model
from giraffehd.outputs import check_output_folder
from giraffehd.torch_files import CheckpointError

METRICS = ("count", "translation", "isolation", "colour", "shapes", "fid")


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
    """The chosen measures on one image source (the model or the floor), as plain records."""
    resolution = model.generator.image_resolution
    scenes = separated_scenes(model.prior, protocol.num_scenes, protocol.seed, resolution, protocol.min_separation_px)
    x_range = x_range_of(model.prior)
    out: dict = {}
    if "count" in metrics:
        out["count"] = asdict(count_accuracy(source, reader, scenes, protocol.batch_size))
    if "translation" in metrics:
        out["translation"] = asdict(translation_control(source, reader, scenes, x_range, protocol, resolution))
    if "isolation" in metrics:
        out["isolation"] = [asdict(r) for r in isolation(source, reader, scenes, x_range, protocol, resolution)]
    if "colour" in metrics:
        out["colour"] = asdict(colour_control(source, reader, scenes, protocol, resolution, len(dataset.palette)))
    if "shapes" in metrics:
        out["shapes"] = asdict(shape_shares(source, reader, scenes, protocol.batch_size, dataset))
    return out


def quality(cfg: DictConfig, model: LoadedModel) -> dict:
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
    scores = compute_quality(images, settings.num_samples, reference, weights=weights, seed=settings.seed)
    return asdict(scores)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def scorecard_markdown(card: dict) -> str:
    """The scorecard as a Markdown table: model, floor, chance and the issue's target per row."""
    model, floor = card["model"], card["floor"]
    rows = ["| measure | model | floor (dataset renderer) | chance | target |", "|---|---|---|---|---|"]
    if "count" in model:
        for k, value in model["count"]["per_count"].items():
            what, target = (
                ("the background alone read as empty", ">= 97.5%")
                if int(k) == 0
                else (f"count read right, {k} object{'s' if int(k) > 1 else ''}", ">= 95%")
            )
            rows.append(
                f"| {what} | {_percent(value)} | {_percent(floor['count']['per_count'][k])} "
                f"| {_percent(model['count']['chance'])} | {target} |"
            )
    if "translation" in model:
        t, f = model["translation"], floor["translation"]
        rows.append(
            f"| translation control error (x sweep), px | {t['error_px']:.2f} | {f['error_px']:.2f} "
            f"| {t['chance_px']:.2f} | <= {2 * f['error_px']:.2f} (2x floor) |"
        )
    if "isolation" in model:
        floor_error = floor["translation"]["error_px"] if "translation" in floor else None
        for mine, theirs in zip(model["isolation"], floor["isolation"], strict=True):
            edit = mine["edit"]
            rows.append(
                f"| {edit}: other pixels changed | {_percent(mine['other_pixels_changed'])} "
                f"| {_percent(theirs['other_pixels_changed'])} | {_percent(mine['chance_pixels'])} | <= 2% |"
            )
            target = "" if floor_error is None else f"<= {floor_error:.2f} (floor's position error)"
            rows.append(
                f"| {edit}: other objects' read shift, px | {mine['other_shift_px']:.2f} "
                f"| {theirs['other_shift_px']:.2f} | {mine['chance_shift_px']:.2f} | {target} |"
            )
    if "colour" in model:
        c, f = model["colour"], floor["colour"]
        rows.append(
            f"| recoloured object reads as its partner's colour | {_percent(c['swapped_reads_target'])} "
            f"| {_percent(f['swapped_reads_target'])} | {_percent(c['chance'])} | >= 90% |"
        )
        rows.append(
            f"| other objects keep their colour | {_percent(c['others_keep'])} | {_percent(f['others_keep'])} "
            f"| {_percent(c['chance'])} | >= 98% |"
        )
    if "shapes" in model:
        m, f = model["shapes"], floor["shapes"]
        data = ", ".join(f"{name} {_percent(share)}" for name, share in m["data_shares"].items())
        read = ", ".join(f"{name} {_percent(share)}" for name, share in m["shares"].items())
        rows.append(
            f"| shapes read ({read}) against the data's ({data}), total variation | {m['total_variation']:.3f} "
            f"| {f['total_variation']:.3f} | {m['chance']:.3f} | <= 0.10 |"
        )
    if "fid" in card:
        q = card["fid"]
        floor_text = "" if q.get("floor_fid") is None else f"{q['floor_fid']:.2f} / {q['floor_kid']:.4f}"
        rows.append(
            f"| FID / KID ({q['num_samples']} samples, {q['num_reference']} reference) "
            f"| {q['fid']:.2f} / {q['kid']:.4f} +- {q['kid_std']:.4f} | {floor_text} | | |"
        )
    header = (
        f"Checkpoint {card['checkpoint']} (step {card['step']}); scene evaluator {card['evaluator']}; "
        f"{card['protocol']['num_scenes']} base scenes, seed {card['protocol']['seed']}, centres at least "
        f"{card['protocol']['min_separation_px']} px apart."
    )
    return header + "\n\n" + "\n".join(rows) + "\n"


def output_folder(cfg: DictConfig) -> Path:
    if cfg.output_dir is not None:
        return Path(cfg.output_dir)
    checkpoint = Path(cfg.checkpoint)
    return checkpoint / "eval_scenes" if checkpoint.is_dir() else checkpoint.parent / "eval_scenes"


def run(cfg: DictConfig) -> Path:
    metrics = list(cfg.metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics: unknown {unknown[0]!r}" if unknown else "metrics is empty")
    protocol = protocol_from(cfg)
    model = load_model(cfg.checkpoint)
    evaluator = load_scene_evaluator(cfg.evaluator)
    dataset = read_dataset(cfg.dataset, single_object=False)
    check_inputs(model, evaluator, dataset)
    output = check_output_folder(output_folder(cfg), "output_dir")  # before the work, not after

    def reader(images):
        return read_scenes(evaluator, images, protocol.batch_size)

    floor_source = synthetic_source(dataset, model.generator.image_resolution)
    controls = [m for m in metrics if m != "fid"]
    card = {
        "checkpoint": str(model.path),
        "step": model.step,
        "evaluator": str(cfg.evaluator),
        "dataset": str(dataset.root),
        "protocol": asdict(protocol),
        "evaluator_heldout": evaluator.report.get("heldout"),
    }
    print("measuring the model ...", file=sys.stderr)
    card["model"] = measure(generator_source(model.generator), reader, model, protocol, controls, dataset)
    print("measuring the floor (the dataset's renderer on the same scenes) ...", file=sys.stderr)
    card["floor"] = measure(floor_source, reader, model, protocol, controls, dataset)
    if "fid" in metrics:
        card["fid"] = quality(cfg, model)
    markdown = scorecard_markdown(card)
    write_atomically(output / "scorecard.json", lambda f: f.write(json.dumps(card, indent=1).encode()))
    write_atomically(output / "scorecard.md", lambda f: f.write(markdown.encode()))
    print(markdown)
    print(f"wrote {output / 'scorecard.json'} and {output / 'scorecard.md'}")
    return output


main = hydra_command("giraffehd-eval-scenes", "eval_scenes", run)

if __name__ == "__main__":
    main()
