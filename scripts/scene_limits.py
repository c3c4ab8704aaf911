"""What limits a multi-object model's count and translation scores: a diagnosis beside the scorecard.

    python scripts/scene_limits.py --checkpoint models/clevr_64.pt --threads 1

On the scorecard's own base scenes (giraffehd-eval-scenes' protocol), for the model and for the floor
(the dataset's renderer drawing the same scenes):
- each slot drawn alone: how often the scene evaluator reads 0, 1 or 2+ objects, and the slot's
  foreground coverage (a faint or empty slot covers little and reads 0; a split one reads 2+);
- the add-objects sweep: how often the count is read short, right or over (missing or merged objects
  read short, split ones over);
- the translation sweep: the read x of the moved object against the knob's projected x, fitted by a
  line (a slope away from 1 is a knob that moves the object by the wrong amount; what is left after the
  fit is the scatter no calibration removes), and the share of frames read more than 2 px away (the
  moved object not drawn, or matched to another).
Prints a Markdown table per part.
"""

import argparse

import torch

from giraffehd.evaluation.labels import read_dataset
from giraffehd.evaluation.scenes.controls import (
    SceneProtocol,
    add_objects_sweep,
    render_and_read,
    translation_sweep,
    x_range_of,
)
from giraffehd.evaluation.scenes.evaluator import load_scene_evaluator, read_scenes
from giraffehd.evaluation.scenes.geometry import read_at, separated_scenes
from giraffehd.evaluation.sources import generator_source, synthetic_source
from giraffehd.model_io import load_model


def slots_alone(source, reader, scenes, batch_size):
    """Per slot: shares of scenes read as 0 / 1 / 2+ objects and the mean foreground coverage."""
    n, b = scenes.num_objects, scenes.batch_size
    index = torch.arange(b).repeat_interleave(n)
    slot = torch.arange(n).repeat(b)
    chosen = scenes.select(index).replace(object_present=torch.arange(n)[None, :] == slot[:, None])
    rendered, readings = render_and_read(source, reader, chosen, batch_size)
    counts = torch.tensor([r.count for r in readings])
    coverage = rendered.mask.mean(dim=(1, 2, 3))
    rows = []
    for k in range(n):
        c = counts[slot == k]
        rows.append(
            (
                k,
                (c == 0).float().mean().item(),
                (c == 1).float().mean().item(),
                (c >= 2).float().mean().item(),
                coverage[slot == k].mean().item(),
                coverage[slot == k].min().item(),
            )
        )
    return rows


def count_errors(source, reader, scenes, batch_size):
    """Per number of objects present: shares read short, right and over."""
    n = scenes.num_objects
    counts, chosen = add_objects_sweep(scenes)
    _, readings = render_and_read(source, reader, chosen, batch_size)
    delta = torch.tensor([r.count for r in readings]) - counts
    return [
        (
            k,
            (delta[counts == k] < 0).float().mean().item(),
            (delta[counts == k] == 0).float().mean().item(),
            (delta[counts == k] > 0).float().mean().item(),
        )
        for k in range(0, n + 1)
    ]


OUTLIER_PX = 2.0  # a read this far from the knob's centre is another object or none: left out of the fit


def translation_fit(source, reader, scenes, x_range, protocol, resolution):
    """Read x against the knob's projected x of the moved object, fitted on frames read within OUTLIER_PX:
    slope, intercept, mean and median error over all frames, mean error within OUTLIER_PX, share beyond."""
    swept, expected, moved, chosen = translation_sweep(scenes, x_range, protocol, resolution)
    _, readings = render_and_read(source, reader, swept.select(chosen), protocol.batch_size)
    read, want = [], []
    for reading, frame in zip(readings, chosen.tolist(), strict=True):
        centres, _ = read_at(reading, expected[frame])
        read.append(centres[moved[frame]])
        want.append(expected[frame, moved[frame]])
    read, want = torch.stack(read), torch.stack(want)
    error = (read - want).norm(dim=1)
    near = error < OUTLIER_PX
    r, w = read[near], want[near]
    design = torch.stack([w[:, 0], torch.ones_like(w[:, 0])], dim=1)
    slope, intercept = torch.linalg.lstsq(design, r[:, :1]).solution[:, 0].tolist()
    return (
        slope,
        intercept,
        error.mean().item(),
        error.median().item(),
        error[near].mean().item(),
        1 - near.float().mean().item(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/clevr_64.pt")
    parser.add_argument("--evaluator", default="models/evaluator_clevr_64.pt")
    parser.add_argument("--dataset", default="data/synthetic_clevr")
    parser.add_argument("--num-scenes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    evaluator = load_scene_evaluator(args.evaluator)
    dataset = read_dataset(args.dataset, single_object=False)
    protocol = SceneProtocol(seed=args.seed, num_scenes=args.num_scenes)
    resolution = model.generator.image_resolution
    scenes = separated_scenes(model.prior, protocol.num_scenes, protocol.seed, resolution, protocol.min_separation_px)

    def reader(images):
        return read_scenes(evaluator, images, protocol.batch_size)

    sources = {"model": generator_source(model.generator), "floor": synthetic_source(dataset, resolution)}
    with torch.no_grad():
        print("## Each slot drawn alone\n\n| source | slot | read 0 | read 1 | read 2+ | coverage mean | min |")
        print("|---|---|---|---|---|---|---|")
        for name, source in sources.items():
            for k, zero, one, many, mean, least in slots_alone(source, reader, scenes, protocol.batch_size):
                print(f"| {name} | {k} | {zero:.1%} | {one:.1%} | {many:.1%} | {mean:.2%} | {least:.2%} |")
        print("\n## Add-objects sweep\n\n| source | objects | read short | right | read over |\n|---|---|---|---|---|")
        for name, source in sources.items():
            for k, short, right, over in count_errors(source, reader, scenes, protocol.batch_size):
                print(f"| {name} | {k} | {short:.1%} | {right:.1%} | {over:.1%} |")
        print(
            "\n## Translation sweep: read x = slope * knob x + intercept\n\n"
            "| source | slope | intercept px | error px (mean / median) | error within 2 px (mean) "
            "| frames beyond 2 px |\n"
            "|---|---|---|---|---|---|"
        )
        for name, source in sources.items():
            slope, intercept, mean, median, near, beyond = translation_fit(
                source, reader, scenes, x_range_of(model.prior), protocol, resolution
            )
            print(f"| {name} | {slope:.3f} | {intercept:.2f} | {mean:.2f} / {median:.2f} | {near:.2f} | {beyond:.1%} |")


if __name__ == "__main__":
    main()
