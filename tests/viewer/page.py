"""Driving the viewer's page in headless Chromium (Debian's ``chromium``) through Playwright."""

import base64
import io
import shutil
import socket
import time

import numpy as np
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = "headless Chromium not found: install it (root: apt-get update && apt-get install -y chromium); .ci/run does"
# As root, without a display or GPU, on a machine with no network: no sandbox, software WebGL, and none of
# Chromium's background connections (each refused, many at a time).
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_READ_FRAME = """async () => {
  const image = [...document.querySelectorAll('img')].find(i => i.src.startsWith('blob:'));
  if (!image) return null;
  let bytes;
  try {
    bytes = new Uint8Array(await (await fetch(image.src)).arrayBuffer());
  } catch (error) {
    return null;  // the page replaced the image (and revoked its address) while we read it: read again
  }
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""

_INPUT_OF = """(label) => {
  const owner = [...document.querySelectorAll('label, div, p, span')].find(
    e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() === label));
  if (!owner) return null;
  let row = owner;
  while (row && !row.querySelector('input[type=text]')) row = row.parentElement;
  return row ? row.querySelector('input[type=text]').id : null;
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shown_frame(page) -> np.ndarray | None:
    """The "Frame" image the page shows, decoded from its own bytes (H, W, 3); None while it is being replaced."""
    data = page.evaluate(_READ_FRAME)
    return None if data is None else np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def wait_until(condition, timeout: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_frame(page, viewer, timeout: float = 30.0) -> np.ndarray:
    """Once the viewer is idle: the page's frame, when it equals the viewer's last published picture."""
    assert viewer.worker.wait_idle(timeout)

    def matches():
        picture, shown = viewer.latest[2], shown_frame(page)
        return shown is not None and shown.shape == picture.shape and np.array_equal(shown, picture)

    wait_until(matches, timeout, "the page to show the viewer's last frame")
    return viewer.latest[2]


def set_number(page, label: str, value: float) -> None:
    """Type ``value`` into the text box of the control labelled ``label`` and press Enter."""
    element = page.evaluate(_INPUT_OF, label)
    assert element, f"no control labelled {label!r} on the page"
    box = page.locator(f"[id='{element}']")
    box.fill(str(value))
    box.press("Enter")
