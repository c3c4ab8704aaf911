"""FID and KID of every kept checkpoint of a run: is quality improving over training?

    .venv/bin/giraffehd-train experiment=demo checkpoint.keep_every_n_steps=500    # keeps step_*.ckpt
    .venv/bin/python scripts/fid_over_training.py runs/demo --num-samples 256 --num-reference 256

Scores ``run/checkpoints/step_*.ckpt`` and ``last.ckpt`` (EMA generator) with the protocol of
``giraffehd-eval metrics=[fid]`` (clean-fid clean mode, offline Inception, images i drawn from seed
(seed, i), the first ``--num-reference`` images of the dataset as the reference; the reference features
are cached). Prints a Markdown table and writes it with the figures as JSON to
``run/eval/fid_over_training.{md,json}``. Inception dominates the time on CPU (docs/evaluation_fid.md, Speed).
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--num-samples", type=int, default=256, help="generated images per checkpoint")
    parser.add_argument("--num-reference", type=int, default=None, help="first N dataset images (default: all)")
    parser.add_argument("--reference", type=Path, default=ROOT / "data" / "synthetic_car_32" / "images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every-n-steps", type=int, default=None, help="only kept steps divisible by N (and the last)")
    parser.add_argument("--weights", default=None, help="Inception file (default: the offline sources)")
    parser.add_argument("--cache-dir", default=None, help="reference feature cache (default: giraffehd-eval's)")
    args = parser.parse_args(argv)
    if args.every_n_steps is not None and args.every_n_steps < 1:
        print(
            f"fid_over_training: error: --every-n-steps must be at least 1, got {args.every_n_steps}", file=sys.stderr
        )
        return 2

    from giraffehd.allocator import keep_freed_memory

    keep_freed_memory()
    from giraffehd.atomic import write_atomically
    from giraffehd.evaluation.quality.fid import compute_quality
    from giraffehd.evaluation.quality.fid_protocol import describe_protocol
    from giraffehd.evaluation.sources import generator_source, seeded_images
    from giraffehd.model_io import load_model

    folder = args.run_dir / "checkpoints"
    files = sorted(folder.glob("step_*.ckpt")) + [folder / "last.ckpt"]
    files = [f for f in files if f.is_file()]
    if args.every_n_steps is not None:  # kept files are step_NNNNNNN.ckpt (giraffehd/training/kept_checkpoints.py)
        files = [f for f in files if f.name == "last.ckpt" or int(f.stem.split("_")[1]) % args.every_n_steps == 0]
    if not files:
        print(f"fid_over_training: error: no checkpoints in {folder}", file=sys.stderr)
        return 2
    rows, seen = [], set()
    for file in files:
        model = load_model(file)
        if model.step in seen:  # last.ckpt at a kept step
            continue
        seen.add(model.step)
        images = seeded_images(generator_source(model.generator), model.prior, args.seed)
        scores = compute_quality(
            images,
            args.num_samples,
            args.reference,
            weights=args.weights,
            num_reference=args.num_reference,
            cache_dir=args.cache_dir,
            progress=False,
        )
        rows.append({"step": model.step, "checkpoint": str(file), "fid": scores.fid, "kid": scores.kid})
        print(f"step {model.step}: FID {scores.fid:.1f}, KID {scores.kid:.4f}", flush=True)
    rows.sort(key=lambda row: row["step"])
    table = ["| step | FID | KID |", "|---|---|---|"]
    table += [f"| {row['step']} | {row['fid']:.1f} | {row['kid']:.4f} |" for row in rows]
    protocol = (
        f"{args.num_samples} generated images (seed {args.seed}) against {scores.num_reference} of "
        f"{args.reference}; clean-fid clean mode; {describe_protocol(scores.deviations)} (for tracking: compare rows "
        f"with each other; scripts/fid_protocol.py gives the protocol's figures); {datetime.date.today().isoformat()}"
    )
    text = "\n".join([f"FID/KID over training of {args.run_dir}: {protocol}", "", *table, ""])
    print(text)
    out = args.run_dir / "eval"
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "fid_over_training.md", lambda f: f.write(text.encode()), mode=0o644)
    record = json.dumps({"protocol": protocol, "rows": rows}, indent=2).encode()
    write_atomically(out / "fid_over_training.json", lambda f: f.write(record), mode=0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
