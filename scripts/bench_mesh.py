"""How close exported meshes of generated cars are to the synthetic set's true car.

    python scripts/bench_mesh.py --checkpoint models/demo_car_64.pt --cars 8 --scales 0.5 1 2 4

For each of ``--cars`` scenes (seeds 0, 1, ...) and each threshold scale (multiples of ln 2 / sampling
interval, the export's ``threshold_scale``): the object's mesh in its box frame (marching cubes on a
``--grid``^3 grid), 20,000 points drawn on it by area, carried into the dataset's box frame through scene
units (the model's box half sizes are the scene's object scale, the dataset's are in its labels.json),
against 20,000 points on the true car (giraffehd/mesh/truth.py), after the best turn about up. Prints per
scale the mean and spread over cars of the Chamfer distance and the share of the true surface within 5%
of the box size, and the comparison's own error (true car against a second draw of the true car).
"""

import argparse
import json
import statistics
from pathlib import Path

import torch
import trimesh

from giraffehd.mesh.compare import between_boxes, match_surfaces
from giraffehd.mesh.density import default_threshold, object_density_grid
from giraffehd.mesh.extract import EmptySurface, drop_floaters, marching_cubes
from giraffehd.mesh.truth import surface_points
from giraffehd.model_io import load_model

POINTS = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/demo_car_64.pt")
    parser.add_argument("--cars", type=int, default=8)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--grid", type=int, default=128)
    parser.add_argument("--dataset", default="data/synthetic_car_heldout", help="its labels.json gives the true box")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    truth = surface_points("car", POINTS, seed=0)
    prior = json.loads((Path(args.dataset) / "labels.json").read_text())["prior"]
    truth_box = torch.tensor([low for low, high in prior["scale"]])
    if any(low != high for low, high in prior["scale"]):
        raise SystemExit(f"{args.dataset}: its objects' box sizes vary; the true surface needs one")
    floor = match_surfaces(surface_points("car", POINTS, seed=1), truth)
    print(f"{args.checkpoint} (step {model.step}), {args.cars} cars, grid {args.grid}^3, {len(truth)} true points, "
          f"true box half sizes {truth_box.tolist()} (scene units)")  # fmt: skip
    print(
        f"comparison's own error (true car vs a second draw): Chamfer {floor.chamfer:.4f}, covered {floor.covered:.1%}"
    )
    print(
        "| threshold scale | Chamfer (box sizes), mean +- sd | covered within 5%, mean +- sd "
        "| mesh to truth | truth to mesh |"
    )
    print("|---|---|---|---|---|")
    grids = []
    for seed in range(args.cars):
        scene = model.prior.sample(1, torch.Generator().manual_seed(seed))
        density = object_density_grid(model.generator, scene, 0, args.grid)
        grids.append((density, default_threshold(model.generator, scene, 0), scene.object_scale[0, 0]))
    for scale in args.scales:
        matches = []
        for density, base, model_box in grids:
            try:
                mesh = drop_floaters(marching_cubes(density, base * scale))  # as the export does
            except EmptySurface:
                continue
            shape = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
            points = torch.from_numpy(trimesh.sample.sample_surface(shape, POINTS, seed=0)[0]).float()
            points = between_boxes(points, model_box, truth_box)
            matches.append(match_surfaces(points, truth))
        if not matches:
            print(f"| {scale:g} | no surface | | | |")
            continue

        def stat(name: str, percent: bool = False, matches=matches) -> str:
            values = [getattr(m, name) for m in matches]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return (
                f"{statistics.mean(values):.1%} +- {sd:.1%}"
                if percent
                else f"{statistics.mean(values):.4f} +- {sd:.4f}"
            )

        empty = f" ({args.cars - len(matches)} without a surface)" if len(matches) < args.cars else ""
        print(
            f"| {scale:g}{empty} | {stat('chamfer')} | {stat('covered', True)} | {stat('accuracy')} "
            f"| {stat('completeness')} |"
        )


if __name__ == "__main__":
    main()
