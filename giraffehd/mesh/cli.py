"""giraffehd-export-mesh: each object of a generated scene as a coloured mesh (conf/export_mesh.yaml).

    giraffehd-export-mesh checkpoint=models/demo_car_64.pt seed=3
    giraffehd-export-mesh checkpoint=models/clevr_64.pt slots=[0,1]

Everything is checked before any work; a bad value stops with one line, ``giraffehd-export-mesh: error:
...``, exit status 2. Writes ``object_K.ply`` and ``object_K.glb`` per object, ``scene.json`` (the scene,
which giraffehd-render and giraffehd-view read) and ``preview.png`` (the model's image beside the meshes'
vertices seen from the same camera).
"""

import json
import sys
from pathlib import Path

import torch
from omegaconf import DictConfig

from giraffehd.atomic import write_atomically
from giraffehd.config_types import is_int, require, resolved_device
from giraffehd.entry_point import hydra_command, print_written
from giraffehd.media import make_grid, resize_nearest, save_image
from giraffehd.mesh.density import default_threshold
from giraffehd.mesh.export import FORMATS, UNITS, object_mesh, preview, write_mesh
from giraffehd.mesh.extract import Mesh, to_scene_units
from giraffehd.model.frames import render
from giraffehd.model_io import load_model
from giraffehd.outputs import check_output_folder
from giraffehd.scene_file import read_scene_file
from giraffehd.scene_json import scene_to_json


def check_settings(cfg: DictConfig) -> list[str]:
    require(cfg, is_int(cfg.grid_size) and 16 <= cfg.grid_size <= 512, "grid_size", "must be an integer from 16 to 512")
    require(cfg, cfg.threshold is None or cfg.threshold > 0, "threshold", "must be null or a positive density")
    require(cfg, cfg.threshold_scale > 0, "threshold_scale", "must be positive")
    require(cfg, 0 <= cfg.floaters_share < 1, "floaters_share", "must be in [0, 1)")
    require(cfg, cfg.units in UNITS, "units", f"must be one of {', '.join(UNITS)}")
    require(cfg, is_int(cfg.views) and cfg.views >= 1, "views", "must be an integer of at least 1")
    require(cfg, is_int(cfg.seed) and cfg.seed >= 0, "seed", "must be a non-negative integer")
    require(cfg, 0 <= cfg.truncation_psi <= 1, "truncation_psi", "must be in [0, 1]")
    formats = list(cfg.formats)
    require(
        cfg, bool(formats) and all(f in FORMATS for f in formats), "formats", f"must list some of {', '.join(FORMATS)}"
    )
    resolved_device(cfg.device)
    return list(dict.fromkeys(formats))


def run(cfg: DictConfig) -> list[Path]:
    formats = check_settings(cfg)
    output = check_output_folder(cfg.output_dir, "output_dir", need_bytes=8 * 2**20)
    device = resolved_device(cfg.device)
    model = load_model(cfg.checkpoint, device)
    n = model.prior.num_objects
    truncation = float(cfg.truncation_psi)
    if cfg.scene is not None:
        scene_file = read_scene_file(cfg.scene, model.prior)
        for note in scene_file.notes:
            print(f"giraffehd-export-mesh: note: {note}", file=sys.stderr)
        scene = scene_file.scene.select(slice(0, 1))
        truncation = truncation if scene_file.truncation_psi is None else scene_file.truncation_psi
    else:
        scene = model.prior.sample(1, torch.Generator().manual_seed(cfg.seed))
    present = [k for k in range(n) if bool(scene.object_present[0, k])]
    objects = present if cfg.slots is None else list(cfg.slots)
    bad = [k for k in objects if not (is_int(k) and 0 <= k < n)]
    if bad or not objects:
        raise ValueError(f"slots must list object slots in [0, {n - 1}] (this scene has {present}), got {objects}")
    scene = scene.replace(object_present=torch.tensor([[k in objects for k in range(n)]]))
    written, meshes = [], []
    for k in objects:
        threshold = cfg.threshold
        if threshold is None:
            threshold = float(cfg.threshold_scale) * default_threshold(model.generator, scene, k)
        print(f"object {k}: density on {cfg.grid_size}^3 points, surface at {threshold:.4g} ...", file=sys.stderr)
        share = float(cfg.floaters_share)
        box = object_mesh(model.generator, scene, k, cfg.grid_size, threshold, "box", cfg.views, truncation, share)
        placed = to_scene_units(box, scene, k)  # the preview shows every object where the scene puts it
        meshes.append(placed)
        mesh = placed if cfg.units == "scene" else box
        for suffix in formats:
            written.append(write_mesh(mesh, output / f"object_{k}.{suffix}"))
    record = {"scene": scene_to_json(scene)[0], "truncation_psi": truncation, "batch_size": 1}
    text = json.dumps(record, indent=1).encode()
    written.append(write_atomically(output / "scene.json", lambda f: f.write(text)))
    image = render(model.generator, scene, truncation, batch_size=1).image
    size = max(256, image.shape[-1])
    image = resize_nearest(image, size)[0]
    together = Mesh(
        vertices=torch.cat([torch.from_numpy(m.vertices) for m in meshes]).numpy(),
        faces=torch.cat([torch.from_numpy(m.faces) for m in meshes]).numpy(),
        colours=torch.cat([torch.from_numpy(m.colours) for m in meshes]).numpy(),
    )
    grid = make_grid(torch.stack([image, preview(together, scene, size)])[None])
    written.append(save_image(grid, output / "preview.png"))
    return written


main = hydra_command("giraffehd-export-mesh", "export_mesh", run, report=print_written)

if __name__ == "__main__":
    main()
