"""FID and KID of checkpoints under the fidelity protocol, against one dataset, beside the real-against-real floor.

    .venv/bin/python scripts/fid_protocol.py data/synthetic_car models/demo_car_64.pt
    .venv/bin/python scripts/fid_protocol.py data/synthetic_car_256 runs/hd_car_256 models/demo_car_64.pt@256
    .venv/bin/python scripts/fid_protocol.py data/synthetic_car_256 --upscaled-real 64 models/demo_car_64.pt@256

DATASET is a synthetic dataset (the floor's images are rendered beside it, once) or an image folder (the floor's
images are held out of it). Each CHECKPOINT is a run folder, checkpoint or exported model (EMA generator);
CHECKPOINT@SIZE first resizes its images to SIZE px (bicubic, antialiased), e.g. a 64 px model upscaled to be
scored against a 256 px set. Images i are drawn as ``giraffehd-eval`` draws them (seed ``seed * 1_000_003 + i``).
``--upscaled-real LOW`` adds a reference row, the upscaled real set (giraffehd/evaluation/quality/fid_upscaled_real.py):
the floor's real images (not in the reference) area-downsampled to LOW px, then bicubic back to the reference's
size, what a perfect LOW px model plus bicubic would score; it needs the floor.
The reference features and the floor's are cached, so a second run only renders and scores the models.
Prints a Markdown table (the floor first) and, with ``--output FILE.md``, writes it and FILE.json.
See docs/evaluation_fid.md for the protocol and how to read the floor.
"""

import argparse
import json
import sys
import time
from pathlib import Path


def parse_checkpoint(text: str) -> tuple[Path, int | None]:
    """ "runs/x@256" -> (runs/x, 256); "runs/x" -> (runs/x, None)."""
    path, at, size = text.rpartition("@")
    if not at or not size.isdigit():
        return Path(text), None
    if int(size) < 1:
        raise ValueError(f"{text}: the size after @ must be at least 1 pixel")
    return Path(path), int(size)


def table(rows: list[dict]) -> str:
    """The Markdown table of the measured rows (each with images, figures, counts and the protocol note)."""
    lines = [
        "| images | FID | KID (mean +- std over subsets) | generated | reference | protocol |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        kid = f"{row['kid']:.4f} +- {row['kid_std']:.4f}"
        counts = f"{row['num_samples']} | {row['num_reference']}"
        lines.append(f"| {row['images']} | {row['fid']:.2f} | {kid} | {counts} | {row['protocol']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="synthetic dataset or image folder (the reference)")
    parser.add_argument("checkpoints", nargs="*", help="CHECKPOINT or CHECKPOINT@SIZE")
    parser.add_argument("--num-samples", type=int, default=None, help="generated (and floor) images; default 2000")
    parser.add_argument("--num-reference", type=int, default=None, help="first N reference images (default: all)")
    parser.add_argument("--no-floor", action="store_true", help="skip the real-against-real floor")
    parser.add_argument("--floor-seed", type=int, default=None, help="default: the dataset's seed + 1")
    parser.add_argument("--seed", type=int, default=0, help="first image seed, and KID's subsets")
    parser.add_argument("--truncation-psi", type=float, default=1.0)
    parser.add_argument("--weights", default=None, help="Inception file (default: the offline sources)")
    parser.add_argument("--cache-dir", default=None, help="feature cache (default: giraffehd-eval's)")
    parser.add_argument("--output", type=Path, default=None, help="also write the table here (.md) and as .json")
    parser.add_argument(
        "--upscaled-real",
        type=int,
        default=None,
        metavar="LOW",
        help="add the upscaled real set: the floor's images area-downsampled to LOW px, bicubic back up",
    )
    args = parser.parse_intermixed_args(argv)  # options may come before or after the checkpoints

    from PIL import Image

    from giraffehd.allocator import keep_freed_memory

    keep_freed_memory()
    from giraffehd.atomic import write_atomically
    from giraffehd.evaluation.quality.fid import compute_quality
    from giraffehd.evaluation.quality.fid_floor import reference_set
    from giraffehd.evaluation.quality.fid_protocol import PROTOCOL_NUM_SAMPLES, describe_protocol, protocol_deviations
    from giraffehd.evaluation.quality.fid_upscaled_real import upscaled_real_label, upscaled_real_sampler
    from giraffehd.evaluation.quality.inception import InceptionWeightsError, resolve_weights
    from giraffehd.evaluation.sources import generator_source, seeded_images
    from giraffehd.model_io import load_model

    num_samples = args.num_samples or PROTOCOL_NUM_SAMPLES
    try:
        if not args.checkpoints and args.upscaled_real is None:
            raise ValueError("name at least one CHECKPOINT, or --upscaled-real")
        if args.upscaled_real is not None and args.no_floor:
            raise ValueError(
                "--upscaled-real is made from the floor's real images (not in the reference): drop --no-floor"
            )
        entries = [parse_checkpoint(text) for text in args.checkpoints]
        weights = resolve_weights(args.weights)
        reference = reference_set(
            args.dataset, args.num_reference, None if args.no_floor else num_samples, args.floor_seed
        )
        models = [(load_model(path), size) for path, size in entries]  # all load before hours of scoring
    except (ValueError, OSError, InceptionWeightsError) as error:  # CheckpointError is a ValueError
        print(f"fid_protocol: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2

    def score(sample_images, resize_to=None):
        return compute_quality(
            sample_images,
            num_samples,
            reference,
            weights=weights,
            cache_dir=args.cache_dir,
            seed=args.seed,
            resize_to=resize_to,
        )

    rows, floor_row, upscaled_real_row = [], None, None
    if args.upscaled_real is not None:
        with Image.open(reference.files[0]) as first:
            reference_size = first.width
        started = time.monotonic()
        sampler = upscaled_real_sampler(reference.floor_files, args.upscaled_real, reference_size)
        scores = score(sampler)
        upscaled_real_row = {
            "images": upscaled_real_label(args.upscaled_real, reference_size, num_samples),
            "low_size": args.upscaled_real,
            "fid": scores.fid,
            "kid": scores.kid,
            "kid_std": scores.kid_std,
            "num_samples": scores.num_samples,
            "num_reference": scores.num_reference,
            "protocol": describe_protocol(scores.deviations),
            "seconds": round(time.monotonic() - started, 1),
        }
        print(f"{upscaled_real_row['images']}: FID {scores.fid:.2f}, KID {scores.kid:.4f}", flush=True)
    for model, size in models:
        made = model.generator.image_resolution
        started = time.monotonic()
        generator = generator_source(model.generator, args.truncation_psi)
        scores = score(seeded_images(generator, model.prior, args.seed), size)
        seconds = round(time.monotonic() - started, 1)  # with the reference's and floor's features when not cached
        resized = f", bicubic to {size} px" if size is not None and size != made else ""
        rows.append(
            {
                "images": f"{model.path} ({made} px{resized})",
                "checkpoint": str(model.path),
                "step": model.step,
                "resize_to": size,
                "fid": scores.fid,
                "kid": scores.kid,
                "kid_std": scores.kid_std,
                "num_samples": scores.num_samples,
                "num_reference": scores.num_reference,
                "protocol": describe_protocol(scores.deviations),
                "seconds": seconds,
            }
        )
        print(f"{rows[-1]['images']}: FID {scores.fid:.2f}, KID {scores.kid:.4f} ({seconds} s)", flush=True)
    if not args.no_floor:  # every model's scores hold the same floor figures: show them once, first
        # The floor's images are real images at the reference's size: only counts can depart from the protocol.
        deviations = protocol_deviations(num_samples, len(reference.files), reference.num_in_set, (1, 1), (1, 1), True)
        floor_row = {
            "images": f"real, not in the reference (floor): {scores.floor_source}",
            "fid": scores.floor_fid,
            "kid": scores.floor_kid,
            "kid_std": scores.floor_kid_std,
            "num_samples": scores.num_samples,
            "num_reference": scores.num_reference,
            "protocol": describe_protocol(deviations),
        }
    measured = [row for row in (floor_row, upscaled_real_row) if row is not None] + rows
    weights = Path(scores.weights).resolve()
    if weights.is_relative_to(Path.cwd()):  # a committed table names no folder of this machine
        weights = weights.relative_to(Path.cwd())
    heading = (
        f"FID/KID (clean-fid clean mode, {weights}) against {args.dataset}: {num_samples} images "
        f"(seed {args.seed}, truncation {args.truncation_psi:g}) against {scores.num_reference} real"
    )
    text = "\n".join([heading, "", table(measured), ""])
    print(text)
    if args.output is not None:
        write_atomically(args.output, lambda f: f.write(text.encode()), mode=0o644)
        record = {"heading": heading, "floor": floor_row, "upscaled_real": upscaled_real_row, "rows": rows}
        payload = json.dumps(record, indent=2).encode()
        write_atomically(args.output.with_suffix(".json"), lambda f: f.write(payload), mode=0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
