"""The viewer's side panel: every control of the page, declared with viser's GUI API.

One function builds the panel's folders (Camera, Objects, Background, Render, Export) and returns their
handles by name; :class:`giraffehd.viewer.app.Viewer` wires them to the view state and keeps them in sync.
The knob sliders are those of giraffehd/viewer/controls.py, one per knob, under the knob's own name.
"""

from typing import Any

import numpy as np

from giraffehd.scene import ScenePrior
from giraffehd.viewer.controls import KNOB_CONTROLS, slider_spans
from giraffehd.viewer.exports import TURNTABLE
from giraffehd.viewer.state import SHOW, ViewState


def build_panel(gui: Any, prior: ScenePrior, state: ViewState, seed: int) -> dict[str, Any]:
    """The panel's controls (viser GUI handles) by name, built on ``gui`` (a viser server's ``gui``) with
    the values of ``state``; ``seed`` is the scene seed shown."""
    spans = slider_spans(prior)
    g: dict = {}

    def sliders(folder: str) -> None:
        for control in KNOB_CONTROLS:
            if control.folder == folder:
                low, high = spans[control.knob]
                value = control.shown(state, 0)
                g[control.knob] = gui.add_slider(control.label, low, high, control.step, value)

    g["frame"] = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="Frame", format="png")
    g["status"] = gui.add_markdown("starting ...")

    with gui.add_folder("Camera"):
        sliders("camera")
        g["reset"] = gui.add_button("Reset view")
    with gui.add_folder("Objects"):
        g["object"] = gui.add_dropdown("Object", [str(k + 1) for k in range(prior.num_objects)], initial_value="1")
        g["present"] = gui.add_checkbox("Present", True)
        with gui.add_folder("Pose"):
            sliders("pose")
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
