"""giraffehd-eval: the controllability scorecard of a checkpoint (conf/eval.yaml; Hydra overrides).

    giraffehd-eval                                         # runs/demo against data/synthetic_car_32
    giraffehd-eval checkpoint=models/demo_car_64.pt output_dir=renders/eval
    giraffehd-eval train_evaluator=true checkpoint=null    # train models/evaluator_car_32.pt only

Inputs are checked before any work: a missing checkpoint, evaluator or dataset, or an evaluator that
was trained on another dataset, stops with one line ``giraffehd-eval: error: ...`` and exit status 2.
Writes scorecard.json and scorecard.md into the output folder and prints the table.
"""

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from giraffehd.entry_point import hydra_command
from giraffehd.evaluation.car.evaluator import LoadedEvaluator, load_evaluator, save_evaluator
from giraffehd.evaluation.car.evaluator_training import EvaluatorTraining, train_evaluator
from giraffehd.evaluation.car.protocol import Protocol
from giraffehd.evaluation.car.render_candidates import cached_candidates, dataset_candidate_spec
from giraffehd.evaluation.car.render_match import match_reader
from giraffehd.evaluation.car.scorecard import Provenance, Scorecard, evaluator_table
from giraffehd.evaluation.car.scorecard_rows import FidRow, UnmeasuredRow
from giraffehd.evaluation.car.scoring import ScoredSource, score
from giraffehd.evaluation.degradations import Degradation
from giraffehd.evaluation.labels import DatasetError, SyntheticDataset, read_dataset
from giraffehd.evaluation.sources import generator_source, seeded_images, synthetic_source
from giraffehd.model_io import LoadedModel, load_model
from giraffehd.outputs import check_output_folder
from giraffehd.torch_files import CheckpointError


def protocol_from(cfg: DictConfig) -> Protocol:
    azimuth = cfg.azimuth_if_fixed
    if azimuth is not None and len(azimuth) != 2:
        raise ValueError(f"azimuth_if_fixed must be [low, high] degrees or null, got {list(azimuth)}")
    if cfg.fid.num_samples < 2:  # checked with the rest, even when metrics leaves fid out
        raise ValueError(f"fid.num_samples must be at least 2 (FID needs a covariance), got {cfg.fid.num_samples}")
    degraded = cfg.degraded_floor
    return Protocol(
        seed=cfg.seed,
        num_seeds=cfg.num_seeds,
        sweep_steps=cfg.sweep_steps,
        num_samples=cfg.num_samples,
        batch_size=cfg.batch_size,
        truncation_psi=cfg.truncation_psi,
        azimuth_if_fixed=None if azimuth is None else tuple(float(v) for v in azimuth),
        background_mask_threshold=float(cfg.background_mask_threshold),
        metrics=tuple(cfg.metrics),
        degradation=None if degraded is None else Degradation(**OmegaConf.to_container(degraded, resolve=True)),
    )


def check_match(evaluator: LoadedEvaluator, dataset: SyntheticDataset, model: LoadedModel | None) -> None:
    """The evaluator must read the dataset's classes and palette; the model must draw one object."""
    net = evaluator.evaluator
    if net.class_names != dataset.classes or net.colour_names != list(dataset.palette):
        raise DatasetError(
            f"evaluator {evaluator.path} was trained on classes {net.class_names} and colours {net.colour_names}, "
            f"but dataset {dataset.root} has {dataset.classes} and {list(dataset.palette)} (wrong dataset?)"
        )
    if model is not None and model.prior.num_objects != 1:
        raise CheckpointError(
            f"{model.path}: the evaluator reads one object per image, the model draws {model.prior.num_objects}"
        )


def output_folder(cfg: DictConfig) -> Path:
    if cfg.output_dir is not None:
        return Path(cfg.output_dir)
    checkpoint = Path(cfg.checkpoint)
    return checkpoint / "eval" if checkpoint.is_dir() else checkpoint.parent / "eval"


def quality_hook(
    cfg: DictConfig, model: LoadedModel, dataset: SyntheticDataset
) -> Callable[[], FidRow | UnmeasuredRow]:
    """HOOK (FID/KID, metrics=[..., fid]): giraffehd/evaluation/quality/fid.py, imported lazily. Any failure,
    a missing module included, is recorded as "not available" with its reason; the scorecard goes on."""

    def not_available(error: Exception) -> UnmeasuredRow:
        return UnmeasuredRow("fid", FidRow.label, "not available", " ".join(str(error).split())[:200])

    def quality() -> FidRow | UnmeasuredRow:
        try:
            from giraffehd.evaluation.quality.fid import compute_quality
            from giraffehd.evaluation.quality.fid_floor import reference_set
            from giraffehd.evaluation.quality.inception import resolve_weights
        except Exception as error:  # a missing module or dependency
            return not_available(error)
        settings = cfg.fid
        sample_images = seeded_images(generator_source(model.generator, cfg.truncation_psi), model.prior, settings.seed)
        try:
            weights = resolve_weights(settings.weights)  # before the floor is rendered
            num_floor = settings.num_samples if settings.floor else None
            reference = reference_set(
                settings.reference or dataset.root, settings.num_reference, num_floor, settings.floor_seed
            )
            scores = compute_quality(
                sample_images,
                settings.num_samples,
                reference,
                weights=weights,
                seed=settings.seed,
                resize_to=settings.resize_to,
            )
        except Exception as error:  # weights missing offline, and the like
            return not_available(error)
        return FidRow(truncation_psi=cfg.truncation_psi, **asdict(scores))

    return quality


def run(cfg: DictConfig) -> Path | None:
    """Train the evaluator and/or score the checkpoint; returns the output folder (None: nothing scored)."""
    protocol = protocol_from(cfg) if cfg.checkpoint is not None else None  # bad settings fail before training
    if cfg.train_evaluator:
        plain = OmegaConf.to_container(cfg.evaluator_training, resolve=True)
        settings = EvaluatorTraining(**{**plain, "channels": tuple(plain["channels"])})
        dataset = read_dataset(cfg.dataset)
        check_output_folder(Path(cfg.evaluator).parent, "evaluator (its folder)")
        if cfg.checkpoint is not None:
            load_model(cfg.checkpoint)  # fail now, not after training
            check_output_folder(output_folder(cfg), "output_dir")
        evaluator, report = train_evaluator(dataset, settings)
        path = save_evaluator(evaluator, report, cfg.evaluator)
        print(f"wrote {path} ({report['training']['seconds']} s, {report['training']['threads']} threads)")
        print(evaluator_table(report["heldout"], report["dataset"]["fixed"]))
        if cfg.checkpoint is None:
            return None
    if cfg.checkpoint is None:
        raise ValueError("checkpoint is null: name a run folder, checkpoint or exported model to score")
    check_output_folder(output_folder(cfg), "output_dir")  # before the scorecard is computed, not after
    model = load_model(cfg.checkpoint)
    evaluator = load_evaluator(cfg.evaluator)
    dataset = read_dataset(cfg.dataset)
    check_match(evaluator, dataset, model)
    output = output_folder(cfg)
    matcher, candidates = None, None
    if cfg.render_match.enabled:
        settings = cfg.render_match
        spec = dataset_candidate_spec(
            dataset,
            float(settings.heading_step_deg),
            float(settings.elevation_step_deg),
            float(settings.elevation_margin_deg),
            int(settings.resolution),
        )
        candidates = cached_candidates(spec, settings.cache_dir, progress=True)
        matcher = match_reader(candidates)
    rows = score(
        evaluator.evaluator,
        ScoredSource(generator_source(model.generator, protocol.truncation_psi), model.prior),
        # The floor renders at the model's resolution, so that both pass through the same resize.
        ScoredSource(synthetic_source(dataset, model.generator.image_resolution), dataset.prior),
        protocol,
        quality_hook(cfg, model, dataset) if "fid" in protocol.metrics else None,
        matcher,
    )
    provenance = Provenance(
        checkpoint=str(model.path),
        step=model.step,
        evaluator=str(evaluator.path),
        dataset=str(dataset.root),
        evaluator_heldout=evaluator.report["heldout"],
        evaluator_num_heldout=evaluator.report["training"]["num_heldout"],
        evaluator_fixed=tuple(evaluator.report["dataset"].get("fixed", ())),
        render_match=None if candidates is None else candidates.describe(),
    )
    card = Scorecard(provenance, protocol, rows)
    files = card.write(output)
    print(card.to_markdown())
    print(f"wrote {files.json} and {files.markdown}")
    return output


main = hydra_command("giraffehd-eval", "eval", run)

if __name__ == "__main__":
    main()
