"""The viewer's side panel: every control of the page, declared with viser's GUI API.

One function builds the panel's folders (Camera, Objects, Background, Render, Export) and returns their
handles by name; :class:`giraffehd.viewer.app.Viewer` wires them to the view state and keeps them in sync.
Slider ranges come from the model's prior (giraffehd/knobs.py), widened so that a user can go past what
the model was trained on.
"""

from typing import Any

import numpy as np

from giraffehd.knobs import all_knobs
from giraffehd.scene import ScenePrior
from giraffehd.viewer.exports import TURNTABLE
from giraffehd.viewer.orbit import MAX_ELEVATION_DEG, wrap_degrees
from giraffehd.viewer.state import SHOW, ViewState


def _widened(low: float, high: float, margin: float) -> tuple[float, float]:
    span = max(high - low, margin)
    return low - span / 2, high + span / 2


def build_panel(gui: Any, prior: ScenePrior, state: ViewState, seed: int) -> dict[str, Any]:
    """The panel's controls (viser GUI handles) by name, built on ``gui`` (a viser server's ``gui``) with
    the values of ``state``; ``seed`` is the scene seed shown."""
    knobs = all_knobs(prior)
    g: dict = {}
    g["frame"] = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="Frame", format="png")
    g["status"] = gui.add_markdown("starting ...")

    with gui.add_folder("Camera"):
        radius = knobs["radius"].default_range
        fov = knobs["fov"].default_range
        g["azimuth"] = gui.add_slider("Azimuth (deg)", -180.0, 180.0, 0.5, wrap_degrees(state.azimuth_deg))
        g["elevation"] = gui.add_slider(
            "Elevation (deg)", -MAX_ELEVATION_DEG, MAX_ELEVATION_DEG, 0.1, state.elevation_deg
        )
        g["radius"] = gui.add_slider("Radius", 0.5 * radius[0], 2.0 * radius[1], 0.01, state.radius)
        g["fov"] = gui.add_slider(
            "Field of view (deg)", max(1.0, fov[0] / 2), min(120.0, fov[1] * 2), 0.1, state.fov_deg
        )
        g["reset"] = gui.add_button("Reset view")
    with gui.add_folder("Objects"):
        g["object"] = gui.add_dropdown("Object", [str(k + 1) for k in range(prior.num_objects)], initial_value="1")
        g["present"] = gui.add_checkbox("Present", True)
        with gui.add_folder("Pose"):
            g["rotation"] = gui.add_slider("Rotation (deg)", -180.0, 180.0, 0.5, 0.0)
            for name in "xyz":
                low, high = _widened(*knobs[f"translation_{name}"].default_range, 0.5)
                g[f"t{name}"] = gui.add_slider(f"Translation {name}", low, high, 0.005, 0.0)
            low, high = knobs["scale"].default_range
            g["scale"] = gui.add_slider("Scale (x mean size)", 0.25 * low, 2.0 * high, 0.01, 1.0)
        with gui.add_folder("Codes"):
            for kind in ("shape", "appearance"):
                g[f"{kind}_seed"] = gui.add_number(f"{kind.capitalize()} seed", 0, min=0, step=1)
                g[f"{kind}_other"] = gui.add_number(f"{kind.capitalize()} seed B", 1, min=0, step=1)
                g[f"{kind}_t"] = gui.add_slider(f"{kind.capitalize()} A to B", 0.0, 1.0, 0.01, 0.0)
        if prior.num_objects > 1:
            g["add"] = gui.add_button("Add object")
            g["remove"] = gui.add_button("Remove object")
    with gui.add_folder("Background", expand_by_default=False):
        for kind in ("shape", "appearance"):
            g[f"bg_{kind}_seed"] = gui.add_number(f"Background {kind} seed", 0, min=0, step=1)
            g[f"bg_{kind}_other"] = gui.add_number(f"Background {kind} seed B", 1, min=0, step=1)
            g[f"bg_{kind}_t"] = gui.add_slider(f"Background {kind} A to B", 0.0, 1.0, 0.01, 0.0)
    with gui.add_folder("Render"):
        g["show"] = gui.add_dropdown("Show", SHOW, initial_value=state.show)
        g["truncation"] = gui.add_slider("Truncation psi", 0.0, 1.0, 0.01, state.truncation_psi)
        g["seed"] = gui.add_number("Scene seed", seed, min=0, step=1)
        g["new_scene"] = gui.add_button("New scene from seed")
    with gui.add_folder("Export"):
        g["turntable_of"] = gui.add_dropdown("Turntable turns", TURNTABLE, initial_value="objects")
        g["export_png"] = gui.add_button("Download frame (PNG)")
        g["export_mp4"] = gui.add_button("Download turntable (MP4)")
        g["export_json"] = gui.add_button("Download scene (JSON)")
    return g
