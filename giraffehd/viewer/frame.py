"""From a view to the picture the page shows: render, pick what to show, encode, letterbox.

Pure functions around :func:`giraffehd.model.frames.render`, so that the viewer's frame and
``giraffehd-render`` of the same scene are one computation: frames are rendered one scene at a time
(``batch_size`` 1), which the exported scene JSON records.
"""

import io

import numpy as np
from jaxtyping import UInt8
from PIL import Image

from giraffehd.media import to_uint8
from giraffehd.model.frames import depth_to_image, render
from giraffehd.model.generator import Generator
from giraffehd.scene import ScenePrior
from giraffehd.sweeps.job import depth_range
from giraffehd.viewer.state import SHOW, ViewState, scene_of

BATCH_SIZE = 1  # scenes per forward pass of a viewer frame (giraffehd-render reproduces it with the same)


def render_view(generator: Generator, prior: ScenePrior, state: ViewState) -> UInt8[np.ndarray, "H W 3"]:
    """The picture of ``state``: the image, the foreground on black, the background alone (every object
    removed), the foreground mask, or the depth (white near, over the frame's own depth range)."""
    if state.show not in SHOW:
        raise ValueError(f"show must be one of {', '.join(SHOW)}, got {state.show!r}")
    scene = scene_of(state, prior)
    if state.show == "background":
        scene = scene.replace(object_present=False)
    frames = render(generator, scene, state.truncation_psi, batch_size=BATCH_SIZE)
    if state.show in ("image", "background"):
        picture = frames.image
    elif state.show == "foreground":
        picture = frames.image * frames.mask
    elif state.show == "mask":
        picture = frames.mask.expand(-1, 3, -1, -1)
    else:
        picture = depth_to_image(frames.depth, frames.alpha, generator.image_resolution, depth_range(frames))
    return to_uint8(picture[0])


def png_bytes(picture: UInt8[np.ndarray, "H W 3"]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def letterbox(picture: UInt8[np.ndarray, "H W 3"], aspect: float, colour: int = 0) -> UInt8[np.ndarray, "H W2 3"]:
    """``picture`` centred on bars of ``colour`` to a width / height of ``aspect`` (the browser view's),
    so that the view, which stretches its background to fill, shows it undistorted."""
    height, width = picture.shape[:2]
    if not aspect > 0:
        return picture
    target_w, target_h = max(width, round(height * aspect)), max(height, round(width / aspect))
    if (target_w, target_h) == (width, height):
        return picture
    out = np.full((target_h, target_w, 3), colour, dtype=np.uint8)
    top, left = (target_h - height) // 2, (target_w - width) // 2
    out[top : top + height, left : left + width] = picture
    return out
