"""The viewer in a real browser: knobs and drags change the frame, the frame is the model's render of the
view's scene, and every export is the file it says it is (headless Chromium through Playwright)."""

import io
import json
import os
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from page import ARGS, CHROMIUM, MISSING, free_port, set_number, shown_frame, wait_for_frame, wait_until
from PIL import Image

from giraffehd.model_io import load_model
from giraffehd.sweeps import cli as render_cli
from giraffehd.sweeps.api import render
from giraffehd.viewer.state import initial_state, scene_of

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason=MISSING)]
MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_car_64.pt"


@pytest.fixture(scope="module")
def viewer():
    from giraffehd.viewer.app import Viewer

    running = Viewer(load_model(MODEL), str(MODEL), port=free_port(), seed=3, turntable_frames=8)
    yield running
    running.close()


@pytest.fixture(scope="module")
def page(viewer):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        tab.goto(f"http://127.0.0.1:{viewer.server.get_port()}/")
        wait_until(lambda: shown_frame(tab) is not None and len(viewer.server.get_clients()) == 1, 60, "the page")
        yield tab
        browser.close()


def expected_frame(viewer) -> np.ndarray:
    """giraffehd's own render of the scene the viewer's current view stands for, as 8-bit pixels."""
    state = viewer.state
    frames = render(viewer.model.generator, scene_of(state, viewer.prior), state.truncation_psi, batch_size=1)
    return (frames.image[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def assert_shows_the_render(page, viewer) -> np.ndarray:
    shown = wait_for_frame(page, viewer)
    expected = expected_frame(viewer)
    assert shown.shape == expected.shape == (64, 64, 3)
    assert np.abs(shown.astype(int) - expected.astype(int)).max() <= 1  # within 1/255
    return shown


def test_the_first_frame_is_the_render_of_the_first_scene(page, viewer):
    assert_shows_the_render(page, viewer)
    first = initial_state(viewer.prior, 3)  # the page opened at the seed's camera and did not move it
    assert (viewer.state.azimuth_deg, viewer.state.elevation_deg, viewer.state.radius) == pytest.approx(
        (first.azimuth_deg, first.elevation_deg, first.radius), abs=1e-6
    )
    if os.environ.get("GIRAFFEHD_VIEWER_SCREENSHOT"):  # the README's picture (scripts/viewer_screenshot.sh)
        page.screenshot(path=os.environ["GIRAFFEHD_VIEWER_SCREENSHOT"])


def test_a_knob_typed_in_changes_the_view_and_the_frame(page, viewer):
    before = wait_for_frame(page, viewer)
    set_number(page, "Rotation (deg)", 123.5)
    wait_until(lambda: viewer.state.objects[0].rotation_deg == 123.5, 30, "the rotation to reach the view")
    shown = assert_shows_the_render(page, viewer)
    assert not np.array_equal(shown, before)
    set_number(page, "Elevation (deg)", 20)
    wait_until(lambda: viewer.state.elevation_deg == 20.0, 30, "the elevation to reach the view")
    assert_shows_the_render(page, viewer)


def test_dragging_the_view_orbits_the_camera(page, viewer):
    start = viewer.state
    canvas = page.locator("canvas").last
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 160, y - 40, steps=12)
    page.mouse.up()
    wait_until(lambda: abs(viewer.state.azimuth_deg - start.azimuth_deg) > 5, 30, "the drag to turn the camera")
    assert viewer.state.radius == pytest.approx(start.radius, rel=1e-3)  # turning does not zoom
    assert_shows_the_render(page, viewer)
    assert viewer.gui["azimuth"].value == pytest.approx(viewer.state.azimuth_deg)  # the panel follows the drag
    turned = viewer.state
    page.mouse.move(x, y)
    page.mouse.wheel(0, 400)  # the wheel dollies: the camera moves away, the orbit's angles stay
    wait_until(lambda: viewer.state.radius > turned.radius * 1.05, 30, "the wheel to move the camera away")
    assert viewer.state.azimuth_deg == pytest.approx(turned.azimuth_deg, abs=0.01)
    assert_shows_the_render(page, viewer)
    page.get_by_role("button", name="Reset view").click()
    home = viewer._home

    def camera(state):
        return (state.azimuth_deg, state.elevation_deg, state.radius, state.fov_deg)

    wait_until(lambda: camera(viewer.state) == camera(home), 30, "the reset to the first scene's camera")
    assert_shows_the_render(page, viewer)


def test_each_export_is_the_file_it_claims(page, viewer, tmp_path, monkeypatch):
    shown = assert_shows_the_render(page, viewer)

    def download(button: str, timeout: float = 30_000) -> Path:
        with page.expect_download(timeout=timeout) as started:
            page.get_by_role("button", name=button).click()
        path = tmp_path / started.value.suggested_filename
        started.value.save_as(path)
        return path

    png = download("Download frame (PNG)")
    assert png.name == "giraffehd_frame.png"
    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), shown)

    mp4 = download("Download turntable (MP4)", 120_000)
    assert mp4.name == "giraffehd_turntable.mp4"
    frames = iio.imread(mp4)
    assert frames.shape == (8, 64, 64, 3)  # turntable_frames, the model's side (a multiple of 16)
    assert np.abs(frames[0].astype(int) - shown.astype(int)).mean() < 8  # frame 0 is the view (H.264 is lossy)

    record = json.loads(download("Download scene (JSON)").read_text())
    assert record["batch_size"] == 1 and record["truncation_psi"] == viewer.state.truncation_psi
    scene_file = tmp_path / "scene.json"
    scene_file.write_text(json.dumps(record))
    monkeypatch.setattr(sys, "argv", ["giraffehd-render", f"checkpoint={MODEL}", f"scene={scene_file}", "sweeps=[]",
                                      f"output_dir={tmp_path / 'out'}"])  # fmt: skip
    render_cli.main()
    again = np.asarray(Image.open(tmp_path / "out" / "scene.png").convert("RGB"))
    assert np.array_equal(again, shown)  # giraffehd-render reproduces the viewer's frame bit for bit


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_what_to_show_switches_the_frame(page, viewer):
    image = wait_for_frame(page, viewer)
    choose(page, "Show", "mask")
    wait_until(lambda: viewer.state.show == "mask", 30, "the mask to be chosen")
    mask = wait_for_frame(page, viewer)
    assert np.array_equal(mask[..., 0], mask[..., 1]) and np.array_equal(mask[..., 0], mask[..., 2])  # grey
    assert mask.max() == 255 and mask.min() == 0  # the car, and the backdrop around it
    choose(page, "Show", "background")
    wait_until(lambda: viewer.state.show == "background", 30, "the background to be chosen")
    background = wait_for_frame(page, viewer)
    car = mask[..., 0] > 250
    assert np.abs(background[car].astype(int) - image[car].astype(int)).mean() > 10  # the car is gone
    choose(page, "Show", "image")
    wait_until(lambda: viewer.state.show == "image", 30, "the image to be chosen")
    assert_shows_the_render(page, viewer)


def test_png_bytes_round_trip():
    from giraffehd.viewer.frame import png_bytes

    picture = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(picture)))), picture)
