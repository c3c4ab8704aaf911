"""Render a trained generator from Python: the functions giraffehd-render is made of.

    import torch
    from giraffehd.sweeps import api
    model = api.load_model("runs/demo")                      # the EMA generator and its training prior
    scene = model.prior.sample(4, torch.Generator().manual_seed(0))
    scene = scene.replace(object_rotation_deg=90.0)           # any knob, degrees and scene units
    frames = api.render(model.generator, scene)               # images in [0, 1], masks, depth
    api.write_grid(frames.image.reshape(2, 2, *frames.image.shape[1:]), "renders/grid.png")

It gathers, for users of the Python API, what lives elsewhere: ``render`` and ``Frames``
(giraffehd/model/frames.py: deterministic, fixed-size passes), ``write_grid`` and ``write_video``
(giraffehd/media.py) and ``load_model`` (giraffehd/model_io.py).

Axis legend: B scenes, S samples (rows), T steps or frames (columns).
"""

import torch

from giraffehd.media import resize_nearest, write_grid, write_video
from giraffehd.model.frames import Frames, depth_to_image, render
from giraffehd.model_io import LoadedModel, load_model
from giraffehd.scene import SceneParameters, ScenePrior

__all__ = [
    "Frames",
    "LoadedModel",
    "depth_to_image",
    "load_model",
    "render",
    "resize_nearest",
    "sample_rows",
    "write_grid",
    "write_video",
]


def sample_rows(prior: ScenePrior, seeds: list[int], num_targets: int = 0) -> list[list[SceneParameters]]:
    """For each seed, ``1 + num_targets`` single scenes drawn in turn from ``torch.Generator().manual_seed(seed)``.

    The first is the seed's own scene; the rest are targets of interpolations and swaps. A seed's draws
    depend on nothing else (not on the other seeds, nor on how many targets are drawn after them).
    """
    rows = []
    for seed in seeds:
        rng = torch.Generator().manual_seed(seed)
        rows.append([prior.sample(1, rng) for _ in range(1 + num_targets)])
    return rows
