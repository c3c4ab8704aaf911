"""giraffehd-render: sweeps and turntable videos from a trained model (conf/render.yaml, docs/render.md).

    giraffehd-render checkpoint=runs/demo
    giraffehd-render checkpoint=runs/demo sweeps=[elevation,rotation] sweep.elevation=[0,45]
    giraffehd-render checkpoint=models/hd_car_256.pt scene=scene.json sweeps=[]   # a viewer's export

Everything is checked before any rendering starts (settings, the checkpoint, the sweeps and their
ranges, the output folder); a bad value stops with one line, ``giraffehd-render: error: ...``, exit code 2.
"""

import sys
from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from giraffehd.config_types import is_int, require, resolved_device
from giraffehd.entry_point import hydra_command, print_written
from giraffehd.media import save_image, write_grid
from giraffehd.model.frames import render
from giraffehd.model_io import load_model
from giraffehd.outputs import check_output_folder
from giraffehd.scene_file import read_scene_file
from giraffehd.sweeps.job import RenderOptions, run_sweeps
from giraffehd.sweeps.plan import plan_sweeps

VIDEO_FORMATS = ("mp4", "gif")


def _check_settings(cfg: DictConfig) -> RenderOptions:
    if cfg.seeds is None:
        require(cfg, is_int(cfg.samples) and cfg.samples >= 1, "samples", "must be at least 1")
        require(cfg, is_int(cfg.seed) and cfg.seed >= 0, "seed", "must be a non-negative integer")
        seeds = list(range(cfg.seed, cfg.seed + cfg.samples))
    else:
        seeds = list(cfg.seeds) if OmegaConf.is_list(cfg.seeds) else [cfg.seeds]
        require(cfg, len(seeds) >= 1 and all(is_int(s) and s >= 0 for s in seeds), "seeds", "must list integers >= 0")
    require(cfg, is_int(cfg.steps) and cfg.steps >= 2, "steps", "must be an integer of at least 2")
    require(cfg, is_int(cfg.frames) and cfg.frames >= 2, "frames", "must be an integer of at least 2")
    require(cfg, is_int(cfg.fps) and cfg.fps >= 1, "fps", "must be a positive integer")
    require(cfg, is_int(cfg.batch_size) and cfg.batch_size >= 1, "batch_size", "must be a positive integer")
    require(cfg, isinstance(cfg.truncation_psi, float | int), "truncation_psi", "must be a number")
    require(cfg, cfg.extrapolate is not None and 0 <= cfg.extrapolate <= 10, "extrapolate", "must be in [0, 10]")
    require(cfg, cfg.object_index is None or is_int(cfg.object_index), "object_index", "must be an integer or null")
    formats = list(cfg.video_formats) if OmegaConf.is_list(cfg.video_formats) else [cfg.video_formats]
    require(
        cfg, all(f in VIDEO_FORMATS for f in formats), "video_formats", f"must list any of {', '.join(VIDEO_FORMATS)}"
    )
    size = cfg.video_size
    require(
        cfg, size is None or (is_int(size) and size >= 16 and size % 16 == 0), "video_size", "must be a multiple of 16"
    )
    resolved_device(cfg.device)
    return RenderOptions(
        seeds=seeds,
        truncation_psi=cfg.truncation_psi,
        object_index=cfg.object_index,
        fps=cfg.fps,
        video_formats=tuple(dict.fromkeys(formats)),
        video_size=size,
        depth=bool(cfg.depth),
        mask=bool(cfg.mask),
        scene_json=bool(cfg.scene_json),
        batch_size=cfg.batch_size,
    )


def run_render(cfg: DictConfig) -> list[Path]:
    """Check everything, then render every requested sweep; returns the files written."""
    if OmegaConf.is_missing(cfg, "checkpoint"):
        raise ValueError("checkpoint is required: checkpoint=RUN_FOLDER, a training checkpoint or an exported model")
    options = _check_settings(cfg)
    output_dir = check_output_folder(cfg.output_dir, "output_dir", need_bytes=2**20)
    device = resolved_device(cfg.device)
    model = load_model(cfg.checkpoint, device)
    num_objects = model.prior.num_objects
    if options.object_index is not None and not 0 <= options.object_index < num_objects:
        raise ValueError(f"object_index must be in [0, {num_objects - 1}] for this model, got {options.object_index}")
    ranges = OmegaConf.to_container(cfg.sweep, resolve=True)
    sweeps = cfg.sweeps if isinstance(cfg.sweeps, str) else list(cfg.sweeps)
    only_scene = cfg.scene is not None and not sweeps  # sweeps=[] with a scene file: the frame alone
    plans, notes = (
        ([], []) if only_scene else plan_sweeps(sweeps, ranges, model.prior, cfg.steps, cfg.frames, cfg.extrapolate)
    )
    base = None
    if cfg.scene is not None:
        scene_file = read_scene_file(cfg.scene, model.prior)
        notes += scene_file.notes
        base = scene_file.scene
        options = replace(
            options,
            seeds=list(range(options.seeds[0], options.seeds[0] + base.batch_size)),
            truncation_psi=options.truncation_psi if scene_file.truncation_psi is None else scene_file.truncation_psi,
            batch_size=options.batch_size if scene_file.batch_size is None else scene_file.batch_size,
        )
        notes.append(
            f"scene file {cfg.scene}: {base.batch_size} scene(s), rendered with truncation_psi="
            f"{options.truncation_psi} and batch_size={options.batch_size}"
        )
    for note in notes:
        print(f"giraffehd-render: note: {note}", file=sys.stderr)
    written = []
    if base is not None:
        frames = render(model.generator, base.to(device), options.truncation_psi, options.batch_size)
        # One scene: its frame exactly (no grid padding), the image a viewer export shows; several: a row.
        path = output_dir / "scene.png"
        written.append(
            save_image(frames.image[0], path) if base.batch_size == 1 else write_grid(frames.image[None], path)
        )
    video = bool(options.video_formats)
    total = len(options.seeds) * sum(len(p.grid_values) + (len(p.video_values) if video else 0) for p in plans)
    with tqdm(total=total, desc=f"rendering {len(plans)} sweeps", unit="frame", disable=not plans) as progress:
        return written + run_sweeps(model, plans, options, output_dir, progress.update, base)


main = hydra_command("giraffehd-render", "render", run_render, report=print_written)

if __name__ == "__main__":
    main()
