"""Render planned sweeps of a loaded model and write their grids, videos, maps and scene JSON.

For each sweep NAME, into the output folder:

- ``NAME.png``: the grid, rows = seeds, columns = steps (2 px white padding);
- ``NAME.mp4`` (and/or ``NAME.gif``): the video, frame t showing every seed side by side;
- ``NAME_mask.png``, ``NAME_depth.png``: the grid's masks and depth maps (when asked for);
- ``NAME.json``: the scene parameters of every grid cell and video frame (see :func:`sweep_record`).

Axis legend: S seeds (rows), T grid steps, F video frames.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from jaxtyping import Float
from torch import Tensor

from giraffehd.atomic import write_atomically
from giraffehd.media import write_grid, write_video
from giraffehd.model.frames import Frames, depth_to_image, render
from giraffehd.model_io import LoadedModel
from giraffehd.scene import SceneParameters
from giraffehd.scene_json import scene_to_json
from giraffehd.sweeps.api import sample_rows
from giraffehd.sweeps.plan import SweepPlan, sweep_scenes


@dataclass(frozen=True)
class RenderOptions:
    seeds: Sequence[int]  # one row per seed
    truncation_psi: float | int = 1.0
    object_index: int | None = 0  # the object slot that object sweeps move; None = every object
    fps: int = 24
    video_formats: Sequence[str] = ("mp4",)  # any of mp4, gif; empty: no videos
    video_size: int | None = None  # side of each seed's video tile, px (nearest neighbour); None: the model's
    depth: bool = False
    mask: bool = False
    scene_json: bool = True
    batch_size: int = 16


def sweep_frames(
    plan: SweepPlan, rows: Sequence[Sequence[SceneParameters]], options: RenderOptions, video: bool
) -> SceneParameters:
    """All scenes of a sweep: the grid's (S * T) then, with ``video``, the video's (S * F), row-major."""
    scenes = [sweep_scenes(plan, draws, plan.grid_values, options.object_index) for draws in rows]
    if video:
        scenes += [sweep_scenes(plan, draws, plan.video_values, options.object_index) for draws in rows]
    return SceneParameters.cat(scenes)


def depth_range(frames: Frames) -> tuple[float, float]:
    """Nearest and farthest foreground depth (alpha >= 0.5) of the frames; (0, 1) when there is none."""
    seen = frames.depth[frames.alpha >= 0.5]
    return (float(seen.min()), float(seen.max())) if seen.numel() else (0.0, 1.0)


def sweep_record(
    model: LoadedModel, plan: SweepPlan, options: RenderOptions, scenes: SceneParameters, video: bool
) -> dict:
    """The JSON document of a sweep: settings, and one entry per grid cell and per video frame of each seed.

    Any entry re-renders exactly: ``render(generator, scene_from_json(entry["scene"]),
    truncation_psi=doc["truncation_psi"], batch_size=doc["batch_size"])``.
    """
    seeds, steps, frames = list(options.seeds), len(plan.grid_values), len(plan.video_values)
    records = scene_to_json(scenes)
    grid = [
        {"row": r, "column": c, "seed": seed, "value": float(plan.grid_values[c]), "scene": records[r * steps + c]}
        for r, seed in enumerate(seeds)
        for c in range(steps)
    ]
    offset = len(seeds) * steps
    video_frames = [
        {
            "row": r,
            "frame": f,
            "seed": seed,
            "value": float(plan.video_values[f]),
            "scene": records[offset + r * frames + f],
        }
        for r, seed in enumerate(seeds)
        for f in range(frames if video else 0)
    ]
    return {
        "sweep": plan.name,
        "summary": plan.sweep.summary,
        "kind": plan.sweep.kind,
        "range": list(plan.range) if plan.range is not None else None,
        "checkpoint": str(model.path),
        "step": model.step,
        "truncation_psi": float(options.truncation_psi),
        "batch_size": options.batch_size,
        "object_index": options.object_index,
        "seeds": seeds,
        "fps": options.fps,
        "grid": grid,
        "video": video_frames,
    }


def _grid_part(images: Float[Tensor, "B C H W"], rows: int, columns: int) -> Float[Tensor, "S T C H W"]:
    """The first rows * columns images (the grid's), as rows x columns."""
    return images[: rows * columns].reshape(rows, columns, *images.shape[1:])


def run_sweeps(
    model: LoadedModel,
    plans: Sequence[SweepPlan],
    options: RenderOptions,
    output_dir: str | Path,
    progress: Callable[[int], object] | None = None,
    base: SceneParameters | None = None,
) -> list[Path]:
    """Render and write every sweep of ``plans``; returns the files written, in order.

    ``base`` (one scene per seed): the rows' own scenes, in place of each seed's first draw (a scene file);
    the seeds still draw the targets of interpolations and swaps.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    video = bool(options.video_formats)
    rows = sample_rows(model.prior, list(options.seeds), max((p.num_targets for p in plans), default=0))
    if base is not None:
        if base.batch_size != len(rows):
            raise ValueError(f"{base.batch_size} base scenes for {len(rows)} seeds")
        rows = [[base.select(slice(i, i + 1)), *row[1:]] for i, row in enumerate(rows)]
    resolution = model.generator.image_resolution
    tile = options.video_size or -(-resolution // 16) * 16  # MP4 frame sides must be multiples of 16
    written = []
    for plan in plans:
        scenes = sweep_frames(plan, rows, options, video)
        frames = render(model.generator, scenes, options.truncation_psi, options.batch_size, progress)
        grid_of = partial(_grid_part, rows=len(options.seeds), columns=len(plan.grid_values))

        written.append(write_grid(grid_of(frames.image), output_dir / f"{plan.name}.png"))
        if options.mask:
            written.append(write_grid(grid_of(frames.mask), output_dir / f"{plan.name}_mask.png"))
        record = sweep_record(model, plan, options, scenes, video)
        if options.depth:
            near_far = depth_range(frames)
            depth = depth_to_image(frames.depth, frames.alpha, resolution, near_far)
            written.append(write_grid(grid_of(depth), output_dir / f"{plan.name}_depth.png"))
            record["depth_range"] = list(near_far)  # scene units at white and at dark grey
        if video:
            clip = frames.image[len(options.seeds) * len(plan.grid_values) :]
            clip = clip.reshape(len(options.seeds), len(plan.video_values), *clip.shape[1:])
            for suffix in options.video_formats:
                path = output_dir / f"{plan.name}.{suffix}"
                written.append(write_video(clip, path, fps=options.fps, size=tile))
        if options.scene_json:
            path = output_dir / f"{plan.name}.json"
            text = json.dumps(record).encode()
            written.append(write_atomically(path, lambda f, text=text: f.write(text)))
    return written
