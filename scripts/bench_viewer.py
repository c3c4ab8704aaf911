"""Updates per second of giraffehd-view, counted in a real browser while the view is dragged.

    python scripts/bench_viewer.py --checkpoint models/demo_car_64.pt --seconds 10 --repeats 3
    python scripts/bench_viewer.py --checkpoint models/hd_car_256.pt

Starts the viewer in this process and headless Chromium beside it (both on this machine's cores, as on a
laptop), waits for the first frame, then drags the view continuously (a mouse move every 16 ms, a 60 Hz
pointer) for ``--seconds`` and counts the new frames the page shows (its "Frame" image replaced). Prints
per repeat: frames shown per second, views posted by the drag, views rendered, views cancelled (replaced
before their render started) and the mean render time; then the median rate. ``--drive knob`` instead
turns the azimuth knob 60 times a second from the server side (as a panel slider dragged), which leaves
out the time a headless browser takes to take each pointer event. Needs Debian's chromium and Playwright
(pip install -e '.[dev]').
"""

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "viewer"))

from page import ARGS, free_port, set_number, shown_frame, wait_until  # noqa: E402

from giraffehd.model_io import load_model  # noqa: E402
from giraffehd.viewer.app import Viewer  # noqa: E402

_COUNT_FRAMES = """() => {
  window.__frames = [];
  const seen = new Set();
  new MutationObserver(() => {
    const image = [...document.querySelectorAll('img')].find(i => i.src.startsWith('blob:'));
    if (image && !seen.has(image.src)) { seen.add(image.src); window.__frames.push(performance.now()); }
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['src'], childList: true});
}"""


def drag(page, seconds: float) -> float:
    """Drag left and right across the view for ``seconds``; returns the drag's wall time in ms (page clock)."""
    canvas = page.locator("canvas").last.bounding_box()
    x0, y = canvas["x"] + canvas["width"] * 0.3, canvas["y"] + canvas["height"] * 0.5
    page.mouse.move(x0, y)
    page.mouse.down()
    start_ms = page.evaluate("() => performance.now()")
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end:
        phase = (step % 120) / 120  # there and back over 2 s
        offset = 300 * (2 * phase if phase < 0.5 else 2 - 2 * phase)
        page.mouse.move(x0 + offset, y)
        step += 1
        time.sleep(0.016)
    page.mouse.up()
    print(f"  ({step} pointer moves in {seconds:.0f} s)", file=sys.stderr)
    return start_ms


def turn_knob(viewer, seconds: float, page, latencies: list[float]) -> float:
    """Turn the azimuth knob by one degree 60 times a second for ``seconds``, as a slider dragged in the
    panel does (the server receives the values; no pointer events wait on the page); once a second, type a
    field of view into the page's panel and time until the viewer has it (``latencies``, ms: is the page
    still responsive while frames render?). Returns the start in the page's clock."""
    start_ms = page.evaluate("() => performance.now()")
    end = time.monotonic() + seconds
    step = 0
    azimuth = viewer.state.azimuth_deg
    while time.monotonic() < end:
        viewer.post(viewer.state.replace(azimuth_deg=azimuth + step % 360))
        step += 1
        if step % 60 == 0:
            fov = round(viewer.state.fov_deg + (0.5 if step % 120 else -0.5), 1)
            typed = time.perf_counter()
            set_number(page, "Field of view (deg)", fov)
            wait_until(lambda fov=fov: viewer.state.fov_deg == fov, 10, "the typed field of view")
            latencies.append(1000 * (time.perf_counter() - typed))
        time.sleep(1 / 60)
    print(f"  ({step} knob values in {seconds:.0f} s)", file=sys.stderr)
    return start_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/demo_car_64.pt")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument(
        "--drive", choices=("drag", "knob"), default="drag", help="drag the view with the mouse, or turn a knob"
    )
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("bench_viewer: chromium not found (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    model = load_model(args.checkpoint)
    viewer = Viewer(model, args.checkpoint, port=free_port())
    rates, latencies = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"http://127.0.0.1:{viewer.server.get_port()}/")
            wait_until(lambda: shown_frame(page) is not None, 60, "the first frame")
            page.evaluate(_COUNT_FRAMES)
            print(
                f"{args.checkpoint}: {model.generator.image_resolution} px, viewport {args.width}x{args.height}, "
                f"driven by {'a mouse drag' if args.drive == 'drag' else 'a knob turned 60 times a second'}"
            )
            print("| repeat | frames shown per s | views posted | rendered | cancelled | render ms (mean) |")
            print("|---|---|---|---|---|---|")
            for repeat in range(args.repeats):
                viewer.worker.wait_idle(30.0)
                before = (viewer.worker.stats.posted, viewer.worker.stats.rendered, viewer.worker.stats.cancelled)
                seconds_before = viewer.worker.stats.seconds
                start_ms = (
                    drag(page, args.seconds)
                    if args.drive == "drag"
                    else turn_knob(viewer, args.seconds, page, latencies)
                )
                end_ms = page.evaluate("() => performance.now()")
                shown = page.evaluate(f"() => window.__frames.filter(t => t >= {start_ms} && t <= {end_ms}).length")
                rate = shown / ((end_ms - start_ms) / 1000)
                stats = viewer.worker.stats
                posted, rendered, cancelled = (
                    stats.posted - before[0],
                    stats.rendered - before[1],
                    stats.cancelled - before[2],
                )
                render_ms = 1000 * (stats.seconds - seconds_before) / max(1, rendered)
                rates.append(rate)
                print(f"| {repeat + 1} | {rate:.1f} | {posted} | {rendered} | {cancelled} | {render_ms:.1f} |")
            browser.close()
    finally:
        viewer.close()
    print(f"median: {statistics.median(rates):.1f} frames shown per second")
    if latencies:
        print(
            f"panel round trip while rendering (a value typed in the page until the viewer has it): median "
            f"{statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms over {len(latencies)}"
        )


if __name__ == "__main__":
    main()
