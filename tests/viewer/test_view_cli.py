"""giraffehd-view refuses what it cannot serve in one line, exit status 2, before any server starts."""

import signal
import socket
import sys
from pathlib import Path

import pytest
import torch

from giraffehd.viewer import cli

MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_car_64.pt"


def refusal(capsys, *arguments: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["giraffehd-view", *arguments])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("giraffehd-view: error: "), captured.err
    assert "http://" not in captured.out  # no server was started
    return lines[0]


def test_a_missing_checkpoint_is_refused(capsys, tmp_path):
    assert str(tmp_path / "nothing.pt") in refusal(capsys, f"checkpoint={tmp_path / 'nothing.pt'}")


def test_a_foreign_checkpoint_is_refused(capsys, tmp_path):
    foreign = tmp_path / "resnet.pt"
    torch.save({"conv1.weight": torch.zeros(2, 2)}, foreign)
    line = refusal(capsys, f"checkpoint={foreign}")
    assert str(foreign) in line


def test_an_occupied_port_is_refused(capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = refusal(capsys, f"checkpoint={MODEL}", f"port={port}")
    assert f"port {port} on 127.0.0.1 is in use" in line


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("port=0", "port must be an integer from 1 to 65535, got 0"),
        ("port=http", "port must be an integer (its default is 8080), got 'http'"),
        ("truncation_psi=2", "truncation_psi must be in [0, 1], got 2"),
        ("threads=0", "threads must be null or an integer of at least 1, got 0"),
        ("device=tpu", "device must be cpu, cuda or auto, got 'tpu'"),
        ("turntable_frames=1", "turntable_frames must be an integer >= 2, got 1"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(capsys, argument, message):
    assert refusal(capsys, f"checkpoint={MODEL}", argument) == f"giraffehd-view: error: {message}"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_server_prints_its_address_and_stops_cleanly_on_a_signal(signum):
    import os
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "giraffehd.viewer.cli", f"checkpoint={MODEL}", f"port={port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    try:
        for line in server.stdout:
            if line.startswith("giraffehd-view: "):
                assert f"at http://127.0.0.1:{port}" in line
                break
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # serving
        server.send_signal(signum)
        _, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0 and "giraffehd-view: stopped" in err and "Traceback" not in err, err[-2000:]
