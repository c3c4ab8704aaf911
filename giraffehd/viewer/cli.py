"""giraffehd-view: a trained model's every knob, live in the browser (conf/view.yaml, docs/view.md).

    giraffehd-view                                   # models/hd_car_256.pt on http://127.0.0.1:8080
    giraffehd-view checkpoint=runs/demo port=8081

Everything is checked before the server starts (settings, the checkpoint, the port); a bad value stops
with one line, ``giraffehd-view: error: ...``, exit status 2. Ctrl-C or SIGTERM stops the server (exit
status 0).
"""

import errno
import signal
import socket
import sys
import time

from omegaconf import DictConfig

from giraffehd.config_types import is_int, require, resolved_device
from giraffehd.entry_point import hydra_command
from giraffehd.model_io import load_model


def check_settings(cfg: DictConfig) -> None:
    require(cfg, isinstance(cfg.host, str) and bool(cfg.host), "host", "must be an address such as 127.0.0.1")
    require(cfg, is_int(cfg.port) and 1 <= cfg.port <= 65535, "port", "must be an integer from 1 to 65535")
    resolved_device(cfg.device)
    require(cfg, is_int(cfg.seed) and cfg.seed >= 0, "seed", "must be a non-negative integer")
    psi = cfg.truncation_psi
    require(
        cfg,
        isinstance(psi, int | float) and not isinstance(psi, bool) and 0 <= psi <= 1,
        "truncation_psi",
        "must be in [0, 1]",
    )
    require(
        cfg, is_int(cfg.turntable_frames) and cfg.turntable_frames >= 2, "turntable_frames", "must be an integer >= 2"
    )
    require(cfg, is_int(cfg.fps) and cfg.fps >= 1, "fps", "must be a positive integer")


def check_port(host: str, port: int) -> None:
    """Refuse a port something already listens on (the server would otherwise move to another one)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ValueError(f"port {port} on {host} is in use: stop what holds it, or choose port=...") from None
            raise ValueError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


def run_viewer(cfg: DictConfig, block: bool = True):
    """Check everything, start the viewer and print its address; with ``block``, serve until Ctrl-C."""
    from giraffehd.viewer.app import Viewer  # viser loads only once the settings are known to be good

    check_settings(cfg)
    device = resolved_device(cfg.device)
    model = load_model(cfg.checkpoint, device)
    check_port(cfg.host, cfg.port)
    viewer = Viewer(
        model, str(cfg.checkpoint), cfg.host, cfg.port, cfg.seed, cfg.truncation_psi, cfg.turntable_frames, cfg.fps
    )
    if viewer.server.get_port() != cfg.port:  # taken between the check and the start
        viewer.close()
        raise ValueError(f"port {cfg.port} on {cfg.host} is in use: stop what holds it, or choose port=...")
    if block:
        # Ctrl-C stops the server even where the parent shell started it with SIGINT ignored, and so does
        # SIGTERM (kill, a container stop). Installed before the address is printed: whoever reads it may
        # stop the server at once.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _stop)
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    address = (
        f"giraffehd-view: {model.path} (step {model.step}, {model.generator.image_resolution} px) "
        f"at http://{host}:{cfg.port}  (Ctrl-C to stop)"
    )
    if not block:
        print(address, flush=True)
        return viewer
    try:
        # Printed inside the try: whoever reads the address may stop the server before print returns.
        print(address, flush=True)
        while True:
            # Short sleeps: the operating system may deliver a signal to any thread, and Python runs its handler
            # only when the main thread next runs; a long sleep would hold a Ctrl-C or SIGTERM back for as long.
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("giraffehd-view: stopped", file=sys.stderr)
    finally:
        viewer.close()
    return None


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


main = hydra_command("giraffehd-view", "view", run_viewer)

if __name__ == "__main__":
    main()
