"""The viewer's page: viser's browser camera and GUI wired to a :class:`ViewState` and a render worker.

viser serves a three.js page: dragging orbits its camera (left drag turns, wheel dollies, right drag
pans), and GUI controls declared here appear in its side panel. The generated image is the view's
background, letterboxed to the browser's aspect, and, pixel for pixel, the "Frame" image in the panel.
Every change (a control, a drag) makes a new :class:`ViewState` and posts it to the render worker; the
worker publishes each finished picture to every connected page. One view is shared by all pages.
"""

import contextlib
import io
import threading
import time

import numpy as np
import viser

from giraffehd.model_io import LoadedModel
from giraffehd.viewer.controls import KNOB_CONTROLS
from giraffehd.viewer.exports import scene_json_bytes, turntable_mp4
from giraffehd.viewer.frame import letterbox, png_bytes, render_view
from giraffehd.viewer.orbit import Orbit, offset_from_orbit, orbit_from_offset, wrap_degrees
from giraffehd.viewer.panel import build_panel
from giraffehd.viewer.state import Code, ViewState, initial_state
from giraffehd.viewer.worker import RenderWorker

ORBIT_TOLERANCE = 1e-3  # a browser camera closer than this (degrees, scene units) to the view is the same pose
# While frames stream (a drag), the panel's camera sliders and status line are refreshed at most this often:
# each refresh re-renders part of the page, which competes with showing frames. The last frame of a
# burst always refreshes them.
PANEL_REFRESH_S = 0.25


class Viewer:
    """A running viewer on ``host:port`` for ``model``; ``close()`` stops it."""

    def __init__(
        self,
        model: LoadedModel,
        checkpoint: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        seed: int = 0,
        truncation_psi: float = 1.0,
        turntable_frames: int = 48,
        fps: int = 24,
    ) -> None:
        self.model, self.checkpoint = model, checkpoint
        self.prior = model.prior
        self.turntable_frames, self.fps = turntable_frames, fps
        self.state = initial_state(self.prior, seed, truncation_psi)
        self._home = self.state
        self._lock = threading.RLock()
        self.latest: tuple[int, ViewState, np.ndarray] | None = None  # the last published frame
        self.frames_published = 0
        self._panel_refreshed = 0.0  # time.monotonic() of the last refresh of the sliders and status
        with contextlib.redirect_stdout(io.StringIO()):  # viser's own banner: the entry point prints the address
            self.server = viser.ViserServer(host=host, port=port, label="giraffehd", verbose=False)
        self.server.scene.set_up_direction("+y")
        # A page opens at the view's camera (not viser's default), so its first camera report changes nothing.
        home = offset_from_orbit(Orbit(self.state.azimuth_deg, self.state.elevation_deg, self.state.radius))
        self.server.initial_camera.position = home
        self.server.initial_camera.look_at = (0.0, 0.0, 0.0)
        # The panel docked beside the view, not over it: the letterboxed frame stays whole. No share button:
        # sharing goes through viser's relay on the internet, and a viewer on a forwarded port needs none.
        self.server.gui.configure_theme(show_share_button=False, control_width="medium")
        self.server.gui.main_panel.dock_right()
        self.worker: RenderWorker[ViewState, np.ndarray] = RenderWorker(
            lambda state: render_view(model.generator, self.prior, state), self._publish, self._report
        )
        self._build_gui(seed)
        self.server.on_client_connect(self._connect)
        self.post()

    # --- state ---------------------------------------------------------------------------------------
    def post(self, state: ViewState | None = None) -> int:
        """Make ``state`` (default: the current one) the view and render it."""
        with self._lock:
            if state is not None:
                self.state = state
            return self.worker.post(self.state)

    def _change(self, **changes) -> None:
        with self._lock:
            self.post(self.state.replace(**changes))

    def _change_object(self, **changes) -> None:
        with self._lock:
            self.post(self.state.replace_object(self._slot(), **changes))

    def _slot(self) -> int:
        return int(self.gui["object"].value) - 1

    # --- publishing ----------------------------------------------------------------------------------
    def _publish(self, number: int, state: ViewState, picture: np.ndarray) -> None:
        self.latest = (number, state, picture)
        self.frames_published += 1
        self.gui["frame"].image = picture
        for client in self.server.get_clients().values():
            self._show_on(client, picture)
        now = time.monotonic()
        if now - self._panel_refreshed >= PANEL_REFRESH_S or not self.worker.has_pending:
            self._panel_refreshed = now
            with self._lock:
                self._sync_camera_controls()  # the sliders follow a drag here, not on every pointer move
            render_ms = 1000 * self.worker.stats.seconds / max(1, self.worker.stats.rendered)
            self.gui[
                "status"
            ].content = (
                f"frame {number} &middot; {picture.shape[0]} px &middot; {render_ms:.0f} ms per frame on average"
            )

    def _show_on(self, client: viser.ClientHandle, picture: np.ndarray) -> None:
        try:
            aspect = client.camera.aspect
        except (AssertionError, ZeroDivisionError):  # the page has not reported its size yet
            aspect = 1.0
        client.scene.set_background_image(letterbox(picture, aspect), format="png")

    def _report(self, error: BaseException) -> None:
        message = " ".join(str(error).split()) or type(error).__name__
        self.gui["status"].content = f"**render failed:** {message}"

    # --- browser camera ------------------------------------------------------------------------------
    def _connect(self, client: viser.ClientHandle) -> None:
        self._move_camera(client)
        client.camera.on_update(self._camera_moved)
        if self.latest is not None:
            self._show_on(client, self.latest[2])

    def _move_camera(self, client: viser.ClientHandle) -> None:
        state = self.state
        offset = offset_from_orbit(Orbit(state.azimuth_deg, state.elevation_deg, state.radius))
        with client.atomic():
            client.camera.position = offset
            client.camera.look_at = (0.0, 0.0, 0.0)

    def _camera_moved(self, camera: viser.CameraHandle) -> None:
        orbit = orbit_from_offset(tuple(np.asarray(camera.position) - np.asarray(camera.look_at)))
        with self._lock:
            state = self.state
            same = (
                abs(wrap_degrees(orbit.azimuth_deg - state.azimuth_deg)) < ORBIT_TOLERANCE
                and abs(orbit.elevation_deg - state.elevation_deg) < ORBIT_TOLERANCE
                and abs(orbit.radius - state.radius) < ORBIT_TOLERANCE
            )
            if same:  # our own move echoed back, or a resize: show the last frame at the new aspect
                if self.latest is not None:
                    self._show_on(camera.client, self.latest[2])
                return
            self.post(
                state.replace(azimuth_deg=orbit.azimuth_deg, elevation_deg=orbit.elevation_deg, radius=orbit.radius)
            )

    def _move_cameras(self) -> None:
        for client in self.server.get_clients().values():
            self._move_camera(client)

    # --- GUI -----------------------------------------------------------------------------------------
    def _build_gui(self, seed: int) -> None:
        self.gui = build_panel(self.server.gui, self.prior, self.state, seed)
        self._sync_controls()
        self._wire()

    def _wire(self) -> None:
        g = self.gui

        def from_user(handler):
            def callback(event) -> None:
                if event.client is not None:  # values set here (syncing the panel) are not user changes
                    handler(event)

            return callback

        for control in KNOB_CONTROLS:

            def turned(event, control=control) -> None:
                with self._lock:
                    self.post(control.write(self.state, self._slot(), float(g[control.knob].value)))
                if control.moves_camera:
                    self._move_cameras()

            g[control.knob].on_update(from_user(turned))
        g["reset"].on_click(lambda e: self._reset())
        g["object"].on_update(from_user(lambda e: self._sync_object_controls()))
        g["present"].on_update(from_user(lambda e: self._change_object(present=bool(g["present"].value))))
        for kind in ("shape", "appearance"):

            def object_code(event, kind=kind) -> None:
                self._change_object(**{kind: self._code(kind)})

            def background_code(event, kind=kind) -> None:
                self._change(**{f"background_{kind}": self._code(f"bg_{kind}")})

            for part in ("seed", "other", "t"):
                g[f"{kind}_{part}"].on_update(from_user(object_code))
                g[f"bg_{kind}_{part}"].on_update(from_user(background_code))
        if "add" in g:
            g["add"].on_click(lambda e: self._add_object())
            g["remove"].on_click(lambda e: self._remove_object())
        g["show"].on_update(from_user(lambda e: self._change(show=str(g["show"].value))))
        g["truncation"].on_update(from_user(lambda e: self._change(truncation_psi=float(g["truncation"].value))))
        g["new_scene"].on_click(lambda e: self._new_scene())
        for name in ("png", "mp4", "json"):
            g[f"export_{name}"].on_click(self._reporting(getattr(self, f"_export_{name}")))

    def _reporting(self, handler):
        """``handler`` with any failure shown in the panel's status line instead of lost in a thread."""

        def run(event) -> None:
            try:
                handler(event)
            except Exception as error:
                self._report(error)

        return run

    def _code(self, prefix: str) -> Code:
        g = self.gui
        return Code(int(g[f"{prefix}_seed"].value), int(g[f"{prefix}_other"].value), float(g[f"{prefix}_t"].value))

    def _sync_knob_controls(self, folder: str) -> None:
        slot = self._slot()
        for control in KNOB_CONTROLS:
            if control.folder == folder:
                self.gui[control.knob].value = control.shown(self.state, slot)

    def _sync_camera_controls(self) -> None:
        self._sync_knob_controls("camera")

    def _sync_object_controls(self) -> None:
        g = self.gui
        o = self.state.objects[self._slot()]
        g["present"].value = o.present
        self._sync_knob_controls("pose")
        for kind in ("shape", "appearance"):
            c = getattr(o, kind)
            g[f"{kind}_seed"].value, g[f"{kind}_other"].value, g[f"{kind}_t"].value = c.seed, c.other, c.t

    def _sync_controls(self) -> None:
        g, s = self.gui, self.state
        self._sync_camera_controls()
        self._sync_object_controls()
        for kind in ("shape", "appearance"):
            c = getattr(s, f"background_{kind}")
            g[f"bg_{kind}_seed"].value, g[f"bg_{kind}_other"].value, g[f"bg_{kind}_t"].value = c.seed, c.other, c.t
        g["show"].value = s.show
        g["truncation"].value = s.truncation_psi

    def _reset(self) -> None:
        home = self._home
        with self._lock:
            self.post(
                self.state.replace(
                    azimuth_deg=home.azimuth_deg,
                    elevation_deg=home.elevation_deg,
                    radius=home.radius,
                    fov_deg=home.fov_deg,
                )
            )
            self._sync_camera_controls()
        self._move_cameras()

    def _new_scene(self) -> None:
        with self._lock:
            fresh = initial_state(self.prior, int(self.gui["seed"].value), self.state.truncation_psi)
            self._home = fresh
            self.post(fresh.replace(show=self.state.show))
            self._sync_controls()
        self._move_cameras()

    def _add_object(self) -> None:
        with self._lock:
            absent = [k for k, o in enumerate(self.state.objects) if not o.present]
            if not absent:
                self.gui["status"].content = "every object slot is already present"
                return
            self.gui["object"].value = str(absent[0] + 1)
            self.post(self.state.replace_object(absent[0], present=True))
            self._sync_object_controls()

    def _remove_object(self) -> None:
        with self._lock:
            self.post(self.state.replace_object(self._slot(), present=False))
            self._sync_object_controls()

    # --- exports -------------------------------------------------------------------------------------
    def _export_png(self, event) -> None:
        self.worker.wait_idle(timeout=60.0)
        if event.client is not None and self.latest is not None:
            event.client.send_file_download("giraffehd_frame.png", png_bytes(self.latest[2]), save_immediately=True)

    def _export_mp4(self, event) -> None:
        if event.client is None:
            return
        state = self.state
        self.gui["status"].content = f"rendering a turntable of {self.turntable_frames} frames ..."
        start = time.perf_counter()
        data = turntable_mp4(
            self.model.generator,
            self.prior,
            state,
            str(self.gui["turntable_of"].value),
            self.turntable_frames,
            self.fps,
        )
        self.gui["status"].content = f"turntable rendered in {time.perf_counter() - start:.1f} s"
        event.client.send_file_download("giraffehd_turntable.mp4", data, save_immediately=True)

    def _export_json(self, event) -> None:
        if event.client is not None:
            data = scene_json_bytes(self.state, self.prior, self.checkpoint)
            event.client.send_file_download("giraffehd_scene.json", data, save_immediately=True)

    def close(self) -> None:
        self.worker.stop()
        self.server.stop()
