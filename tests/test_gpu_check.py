"""scripts/gpu_check.sh end to end on the CPU with tiny sizes: everything but the device."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_gpu_check_runs_on_cpu_and_writes_its_markdown(tmp_path):
    output = tmp_path / "check.md"
    env = {
        **os.environ,
        "GPU_CHECK_DEVICE": "cpu",
        "GPU_CHECK_OUTPUT": str(output),
        "GPU_CHECK_MODELS": "tiny",
        "GPU_CHECK_BATCH": "2",
        "GPU_CHECK_EXPERIMENT": "demo",
        "GPU_CHECK_STEP_BATCH": "2",
        "GPU_CHECK_REPEATS": "1",
        "GPU_CHECK_TESTS": "gpu",  # on the CPU every one of them is skipped
        "GPU_CHECK_PYTHON": sys.executable,
    }
    result = subprocess.run([str(ROOT / "scripts" / "gpu_check.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = output.read_text()
    for heading in ("## Tests marked `gpu`", "## Generation, fp32", "## Generation, bf16", "## G+D step of demo, bf16"):
        assert heading in report, heading
    assert "skipped" in report
    rows = [line for line in report.splitlines() if line.startswith("| tiny ") or line.startswith("| demo ")]
    assert len(rows) == 4 and all("| bf16 |" in row or "| fp32 |" in row for row in rows)
    assert not list(tmp_path.glob("*.tmp"))


def test_without_a_cuda_device_it_says_so_in_one_line(tmp_path):
    env = {**os.environ, "GPU_CHECK_OUTPUT": str(tmp_path / "check.md"), "GPU_CHECK_PYTHON": sys.executable}
    env["CUDA_VISIBLE_DEVICES"] = ""  # no device, even on a machine with one
    result = subprocess.run([str(ROOT / "scripts" / "gpu_check.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "gpu_check: torch sees no CUDA device (torch.cuda.is_available() is False)"
    assert not (tmp_path / "check.md").exists()
