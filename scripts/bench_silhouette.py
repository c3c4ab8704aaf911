"""Silhouettes of a model against the true renders render-and-match finds for them, beside the upscaled
64 px model and the reader's own floor (giraffehd/evaluation/car/silhouette.py).

    python scripts/bench_silhouette.py --checkpoint models/hd_car_256.pt --images 64 --seed 0 \
        --upscaled models/demo_car_64.pt --floor --figure docs/images/silhouette_zoom.png

Scenes: ``--images`` scenes of the checkpoint's prior (seed ``--seed``); the upscaled model renders the
same scenes at its own size, its images bicubic and its mask bilinear to ``--resolution``. Each image's
heading and camera elevation are read by render-and-match (the dataset's ray tracer, candidates cached in
``--cache-dir``); the dataset's car is ray traced there with the scene's camera and translation, and both
masks, thresholded at 0.5, give IoU and the boundary F-score within ``--tolerance`` pixels. ``--floor``: as
many true renders (the dataset's prior, seed ``--seed``) through the same path, against their own masks.
Prints a Markdown table; ``--figure`` writes the zoomed crops (rows: the images at the 25th, 50th and 75th
percentile of the model's F-score; columns: model, matched true render, upscaled model); ``--output``
writes the per-image figures as JSON.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from giraffehd.atomic import write_atomically
from giraffehd.evaluation.car.render_candidates import cached_candidates, dataset_candidate_spec
from giraffehd.evaluation.car.silhouette import (
    LOW_F_SCORE,
    MASK_THRESHOLD,
    SilhouetteScores,
    floor_silhouettes,
    model_silhouettes,
)
from giraffehd.evaluation.car.silhouette_figure import quantile_images, zoom_figure
from giraffehd.evaluation.labels import read_dataset
from giraffehd.media import save_image
from giraffehd.model_io import load_model

FIGURE_WINDOW, FIGURE_ZOOM, FIGURE_IMAGES = 64, 4, 3


def table(rows: list[tuple[str, SilhouetteScores]], tolerance_px: float) -> str:
    """The Markdown table: one row per source."""
    t = f"{tolerance_px:g}"
    lines = [
        f"| images | mean IoU | mean boundary F@{t}px | median F@{t}px | share with F < {LOW_F_SCORE:g} | images |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in rows:
        lines.append(
            f"| {label} | {s.mean_iou:.3f} | {s.mean_f:.3f} | {s.median_f:.3f} | {s.share_f_below():.1%} "
            f"| {s.num_images} |"
        )
    return "\n".join(lines)


def record(label: str, s: SilhouetteScores) -> dict:
    """One row's figures and its per-image values, for JSON."""
    return {
        "images": label,
        "mean_iou": s.mean_iou,
        "mean_f": s.mean_f,
        "median_f": s.median_f,
        "share_f_below": s.share_f_below(),
        "num_images": s.num_images,
        "iou": s.iou.tolist(),
        "f_score": s.boundary.f_score.tolist(),
        "precision": s.boundary.precision.tolist(),
        "recall": s.boundary.recall.tolist(),
        "read_heading_deg": s.heading_deg.tolist(),
        "read_elevation_deg": s.elevation_deg.tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/hd_car_256.pt")
    parser.add_argument("--upscaled", default=None, help="a smaller model scored on the same scenes, upscaled")
    parser.add_argument("--floor", action="store_true", help="add the reader's floor on true renders")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="data/synthetic_car_256", help="the true car, camera and lighting")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--tolerance", type=float, default=2.0, help="boundary F-score tolerance, pixels")
    parser.add_argument("--cache-dir", default=".cache/render_match", help="render-and-match candidates")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--figure", type=Path, default=None, help="zoomed crops, PNG")
    parser.add_argument("--output", type=Path, default=None, help="per-image figures, JSON")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.images < FIGURE_IMAGES * (args.figure is not None) or args.images < 1:
            raise ValueError(f"--images must be at least {max(1, FIGURE_IMAGES * (args.figure is not None))}")
        model = load_model(args.checkpoint)
        upscaled = load_model(args.upscaled) if args.upscaled else None
        dataset = read_dataset(args.dataset)
        spec = dataset_candidate_spec(dataset, 5.0, 2.5, 5.0, 32)  # giraffehd-eval's render_match defaults
    except ValueError as error:  # CheckpointError, DatasetError and RenderMatchError are ValueErrors
        print(f"bench_silhouette: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    candidates = cached_candidates(spec, args.cache_dir, progress=True)
    scenes = model.prior.sample(args.images, torch.Generator().manual_seed(args.seed))
    common = dict(resolution=args.resolution, tolerance_px=args.tolerance, batch_size=args.batch_size)
    size = model.generator.image_resolution
    measured = {"model": model_silhouettes(model, scenes, candidates, desc="model", **common)}
    rows = [(f"{model.path} ({size} px)", measured["model"].scores)]
    if upscaled is not None:
        measured["upscaled"] = model_silhouettes(upscaled, scenes, candidates, desc="upscaled", **common)
        small = upscaled.generator.image_resolution
        label = f"{upscaled.path} ({small} px; image bicubic, mask bilinear to {args.resolution} px)"
        rows.append((label, measured["upscaled"].scores))
    if args.floor:
        floor = floor_silhouettes(dataset, args.images, args.seed, candidates, desc="floor", **common)
        rows.append((f"floor: true renders of {dataset.root} read and re-rendered", floor.scores))
    print(
        f"Silhouettes at {args.resolution} px against the true render at the pose render-and-match reads "
        f"({candidates.describe()}); masks at {MASK_THRESHOLD:g}; {args.images} scenes, seed {args.seed}\n"
    )
    text = table(rows, args.tolerance)
    print(text)
    if args.output is not None:
        payload = json.dumps({"tolerance_px": args.tolerance, "rows": [record(*row) for row in rows]}, indent=1)
        write_atomically(args.output, lambda f: f.write(payload.encode()), mode=0o644)
        print(f"wrote {args.output}")
    if args.figure is not None:
        model_run = measured["model"]
        picks = quantile_images(model_run.scores.boundary.f_score, FIGURE_IMAGES)
        columns = [model_run.rendered.image, model_run.truth.image]
        if "upscaled" in measured:
            columns.append(measured["upscaled"].rendered.image)
        sources = [(c + 1) / 2 for c in columns]
        true_mask = model_run.truth.mask[:, 0] >= MASK_THRESHOLD
        grid = zoom_figure(sources, true_mask, picks, FIGURE_WINDOW, FIGURE_ZOOM)
        save_image(grid, args.figure)
        names = "model | matched true render" + (" | upscaled model" if "upscaled" in measured else "")
        f_scores = ", ".join(f"{model_run.scores.boundary.f_score[i]:.2f}" for i in picks)
        print(f"wrote {args.figure}: columns {names}; rows images {picks} (model F {f_scores})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
