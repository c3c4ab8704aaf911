"""Inversion measured on held-out images of the synthetic car set: pose recovered against the labels.

    giraffehd-data synth num_images=40 seed=7 output=data/synthetic_car_heldout   # images no model trained on
    python scripts/bench_invert.py --checkpoint models/demo_car_64.pt --dataset data/synthetic_car_heldout --images 20

Per image: giraffehd-invert's optimisation (default settings), started from the pose encoder's reading
(``--encoder``: auto = NAME.encoder.pt beside the checkpoint, a path, or none), then
- heading error: |recovered heading - label| after the model's one global rotation offset, measured once on
  64 samples of the model: render-and-match (the dataset's own ray tracer, giraffehd/evaluation/
  render_match.py) reads their heading, and the offset is the circular median of read minus knob (the car
  evaluator's offset is printed beside it), degrees; the raw residual (no offset) is printed too;
- the encoder's own heading error (its reading, before the search) and confidence;
- elevation error, degrees; PSNR of the reconstruction, dB; mask IoU against the true mask (rendered mask
  and true mask each at 0.5); seconds per image on this machine.
Prints one row per image and the means (and medians).
"""

import argparse
import statistics
import time

import torch

from giraffehd.evaluation.alignment import circular_offset, wrap_degrees
from giraffehd.evaluation.car.evaluator import load_evaluator
from giraffehd.evaluation.car.render_candidates import cached_candidates, dataset_candidate_spec
from giraffehd.evaluation.car.render_match import match_reader
from giraffehd.evaluation.labels import label_tensors, load_pixels, read_dataset
from giraffehd.inversion.encoder import default_encoder_path, load_encoder
from giraffehd.inversion.optimise import InversionSettings, invert
from giraffehd.model_io import load_model
from giraffehd.sweeps.api import render


def rotation_offsets(model, evaluator, matcher, samples: int = 64) -> dict[str, float]:
    """Heading read minus the heading knob, over samples of the model, its circular median, by each reader:
    the car evaluator (a network) and render-and-match (the dataset's ray tracer, no learned weights)."""
    scenes = model.prior.sample(samples, torch.Generator().manual_seed(123))
    images = render(model.generator, scenes, batch_size=16).image * 2 - 1  # the readers take [-1, 1]
    knob = scenes.object_rotation_deg[:, 0] - scenes.camera_azimuth_deg
    readings = {
        "evaluator": evaluator.read(images).heading_deg,
        "render-and-match": matcher(images, scenes).heading_deg,
    }
    return {name: float(circular_offset(wrap_degrees(read - knob)[None])[0]) for name, read in readings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/demo_car_64.pt")
    parser.add_argument("--dataset", default="data/synthetic_car_heldout")
    parser.add_argument("--evaluator", default="models/evaluator_car_32.pt")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--encoder", default="auto", help="auto, none, or an encoder file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    evaluator = load_evaluator(args.evaluator).evaluator
    encoder = None
    if args.encoder != "none":
        path = default_encoder_path(model.path) if args.encoder == "auto" else args.encoder
        encoder = load_encoder(path, model.generator)[0]
    dataset = read_dataset(args.dataset)
    indices = list(range(min(args.images, len(dataset.records))))
    images, masks = load_pixels(dataset, indices, progress=False)
    labels = label_tensors(dataset, indices)
    spec = dataset_candidate_spec(dataset, 5.0, 2.5, 5.0, 32)
    matcher = match_reader(cached_candidates(spec, ".cache/render_match", progress=True))
    with torch.no_grad():
        offsets = rotation_offsets(model, evaluator, matcher)
    offset = offsets["render-and-match"]
    print(f"{args.checkpoint} (step {model.step}) on {len(indices)} images of {args.dataset}, "
          f"encoder: {args.encoder}")  # fmt: skip
    print("global rotation offset (reading minus knob on 64 samples, circular median): "
          + ", ".join(f"{name} {value:.1f} deg" for name, value in offsets.items())
          + "; the errors below use render-and-match's")  # fmt: skip
    print(
        "| image | heading error, deg | elevation error, deg | PSNR, dB | mask IoU | seconds | raw heading residual "
        "| encoder's heading error, deg | encoder's confidence |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for i in indices:
        start = time.perf_counter()
        target = images[i].float() / 255
        guess = encoder.read(target[None]) if encoder is not None else None
        result = invert(model.generator, model.prior, target, InversionSettings(), guess=guess)
        seconds = time.perf_counter() - start
        heading = result.scene.object_rotation_deg[0, 0] - result.scene.camera_azimuth_deg[0]
        raw = float(wrap_degrees(heading - labels.heading_deg[i]))
        heading_error = float(wrap_degrees(heading + offset - labels.heading_deg[i]).abs())
        elevation_error = float((result.scene.camera_elevation_deg[0] - labels.elevation_deg[i]).abs())
        mine, truth = result.mask[0] > 0.5, masks[i, 0] > 127
        iou = float((mine & truth).sum() / (mine | truth).sum().clamp(min=1))
        rows.append((heading_error, elevation_error, result.psnr_db, iou, seconds))
        reading = " | "
        if guess is not None:
            read_error = float(wrap_degrees(guess.heading_deg[0] + offset - labels.heading_deg[i]).abs())
            reading = f"{read_error:.1f} | {float(guess.confidence[0]):.2f}"
        print(
            f"| {i} | {heading_error:.1f} | {elevation_error:.2f} | {result.psnr_db:.2f} | {iou:.3f} | {seconds:.1f} "
            f"| {raw:.1f} | {reading} |",
            flush=True,
        )
    columns = list(zip(*rows, strict=True))
    means = " | ".join(f"{statistics.mean(c):.2f}" for c in columns)
    medians = " | ".join(f"{statistics.median(c):.2f}" for c in columns)
    print(f"| mean | {means} | | | |\n| median | {medians} | | | |")


if __name__ == "__main__":
    main()
