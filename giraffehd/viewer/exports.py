"""What the viewer's export buttons hand to the browser: the frame as PNG, a turntable MP4 of the scene,
and the scene as JSON that ``giraffehd-render scene=FILE`` renders again bit for bit."""

import json
import tempfile
from pathlib import Path

import torch

from giraffehd.media import write_video
from giraffehd.model.frames import render
from giraffehd.model.generator import Generator
from giraffehd.scene import ScenePrior
from giraffehd.scene_json import scene_to_json
from giraffehd.viewer.frame import BATCH_SIZE
from giraffehd.viewer.state import ViewState, scene_of

TURNTABLE = ("objects", "camera")  # objects turn about their up axes, or the camera orbits the scene


def scene_record(state: ViewState, prior: ScenePrior, checkpoint: str) -> dict:
    """The scene file of a view: the scene parameters, the render settings that reproduce its frame, and the
    command that does. ``giraffehd-render`` reads ``scene``, ``truncation_psi`` and ``batch_size`` from it."""
    return {
        "scene": scene_to_json(scene_of(state, prior))[0],
        "truncation_psi": state.truncation_psi,
        "batch_size": BATCH_SIZE,
        "checkpoint": checkpoint,
        "command": f"giraffehd-render checkpoint={checkpoint} scene=scene.json sweeps=[]",
    }


def scene_json_bytes(state: ViewState, prior: ScenePrior, checkpoint: str) -> bytes:
    return json.dumps(scene_record(state, prior, checkpoint), indent=1).encode()


def turntable_mp4(
    generator: Generator, prior: ScenePrior, state: ViewState, of: str = "objects", frames: int = 48, fps: int = 24
) -> bytes:
    """A whole turn in ``frames`` frames (k * 360 / frames degrees, so the loop is seamless) as MP4 bytes,
    each frame side the model's resolution rounded up to a multiple of 16 (nearest neighbour)."""
    if of not in TURNTABLE:
        raise ValueError(f"turntable must turn one of {', '.join(TURNTABLE)}, got {of!r}")
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    scene = scene_of(state, prior)
    steps = torch.arange(frames, dtype=torch.float32) * (360.0 / frames)
    scenes = scene.select(torch.zeros(frames, dtype=torch.long))
    if of == "objects":
        scenes = scenes.replace(object_rotation_deg=scenes.object_rotation_deg + steps[:, None])
    else:
        scenes = scenes.replace(camera_azimuth_deg=scenes.camera_azimuth_deg + steps)
    images = render(generator, scenes, state.truncation_psi, batch_size=min(frames, 16)).image
    size = -(-generator.image_resolution // 16) * 16
    with tempfile.TemporaryDirectory(prefix="giraffehd-view-") as folder:
        path = write_video(images[None], Path(folder) / "turntable.mp4", fps=fps, size=size)
        return path.read_bytes()
