"""The README's picture of giraffehd-view, taken in the headless Chromium the viewer's tests drive.

python scripts/viewer_screenshot.py --checkpoint models/hd_car_256.pt --output renders/viewer/viewer.png
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "viewer"))

from page import ARGS, CHROMIUM, MISSING, free_port, wait_for_frame, wait_until  # noqa: E402

from giraffehd.model_io import load_model  # noqa: E402
from giraffehd.viewer.app import Viewer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/hd_car_256.pt")
    parser.add_argument("--output", default="renders/viewer/viewer.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rotation", type=float, default=None, help="object 1's rotation, degrees")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit(MISSING)
    from playwright.sync_api import sync_playwright

    viewer = Viewer(load_model(args.checkpoint), args.checkpoint, port=free_port(), seed=args.seed)
    try:
        if args.rotation is not None:
            viewer.post(viewer.state.replace_object(0, rotation_deg=args.rotation))
            viewer._sync_object_controls()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{viewer.server.get_port()}/")
            wait_until(lambda: viewer.latest is not None and len(viewer.server.get_clients()) == 1, 60, "the page")
            wait_for_frame(page, viewer)
            notice = page.locator(".mantine-Notification-closeButton")  # "software WebGL": true, and not news
            if notice.count():
                notice.first.click()
            page.wait_for_timeout(500)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.output)
            browser.close()
    finally:
        viewer.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
