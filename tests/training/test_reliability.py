"""Training that loses nothing: one process per run folder, stops that save, finite checkpoints, and resumed
runs that apply the config's optimizer settings (real processes and real signals where it matters)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from giraffehd.torch_files import CheckpointError, load_checkpoint_file
from giraffehd.train import train
from giraffehd.training import module as module_file
from giraffehd.training.resume_hyperparameters import apply_configured
from giraffehd.training.run_lock import RunFolderBusy, RunLock

TINY = [
    "model=tiny",
    "data.resolution=32",
    "data.batch_size=4",
    "data.num_workers=0",
    "discriminator.channel_base=256",
    "discriminator.channel_max=16",
    "+trainer.enable_progress_bar=false",
    "training.losses.r1_interval=2",
    "checkpoint.every_n_steps=100000",
    "samples.every_n_steps=1",
    "samples.num_samples=2",
    "trainer.max_steps=100000",
]


def start_training(images, run_dir, *overrides: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_WAIT_POLICY": "PASSIVE"}
    arguments = [*TINY, f"data.path={images}", f"run_dir={run_dir}", *overrides]
    return subprocess.Popen(
        [sys.executable, "-m", "giraffehd.train", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_steps(process: subprocess.Popen, run_dir, steps: int, timeout: float = 240.0) -> None:
    """Until the run has written the sample grid of ``steps`` steps (one per step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.communicate()[1][-2000:]}")
        if len(list((run_dir / "samples").glob("step_*.png"))) >= steps:
            return
        time.sleep(0.2)
    process.kill()
    raise AssertionError("training did not reach its steps in time")


def last_line(text: str) -> str:
    return [line for line in text.strip().splitlines() if line.startswith("giraffehd-train:")][-1]


def test_a_run_folder_is_held_by_one_lock_at_a_time(tmp_path):
    with RunLock(tmp_path / "run"):
        with pytest.raises(RunFolderBusy, match=f"in use by another giraffehd-train \\(process {os.getpid()} on "):
            RunLock(tmp_path / "run").acquire()
    with RunLock(tmp_path / "run"):  # released on exit: taken again
        pass


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from giraffehd.training.run_lock import RunLock; import time; "
         f"held = RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunFolderBusy, match=f"process {holder.pid} on "):
        RunLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    assert (tmp_path / ".lock").exists()  # the file stays; the lock died with its process
    RunLock(tmp_path).acquire().release()


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_the_step_reached_and_a_second_run_is_refused_meanwhile(images, tmp_path, signum, status):
    run_dir = tmp_path / "run"
    first = start_training(images, run_dir)
    try:
        wait_for_steps(first, run_dir, 3)
        second = subprocess.run(
            [sys.executable, "-m", "giraffehd.train", *TINY, f"data.path={images}", f"run_dir={run_dir}"],
            capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )  # fmt: skip
        assert second.returncode == 2
        assert f"is in use by another giraffehd-train (process {first.pid} on " in last_line(second.stderr)
        first.send_signal(signum)
        _, stderr = first.communicate(timeout=240)
    finally:
        first.kill()
    assert first.returncode == status, stderr[-2000:]
    line = last_line(stderr)
    assert line.startswith(f"giraffehd-train: stopped by {signal.Signals(signum).name} at step ")
    step = int(line.split(" at step ")[1].split(";")[0])
    assert load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["global_step"] == step >= 3
    assert "Traceback" not in stderr
    # The folder is free again, and the run resumes from the step it reached.
    resumed = train_config_run(images, run_dir, f"trainer.max_steps={step + 1}")
    assert load_checkpoint_file(resumed / "checkpoints" / "last.ckpt")["global_step"] == step + 1


def train_config_run(images, run_dir, *overrides: str):
    from hydra import compose, initialize_config_dir

    from giraffehd.config_types import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [*TINY, f"data.path={images}", f"run_dir={run_dir}", *overrides])
    return train(cfg)


@pytest.mark.slow
def test_weights_that_are_not_finite_are_never_saved(images, tmp_path, monkeypatch):
    run_dir = train_config_run(images, tmp_path / "run", "trainer.max_steps=2", "checkpoint.every_n_steps=1")
    kept = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    original = module_file.update_ema

    def poisoned(ema, generator, decay):  # a step whose update leaves NaN weights but finite losses
        original(ema, generator, decay)
        with torch.no_grad():
            next(generator.parameters()).fill_(float("nan"))

    monkeypatch.setattr(module_file, "update_ema", poisoned)
    with pytest.raises(CheckpointError, match=r"not finite .* at step 3: not saved; .*last\.ckpt keeps step 2"):
        train_config_run(images, run_dir, "trainer.max_steps=6", "checkpoint.every_n_steps=1")
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == kept
    assert not list((run_dir / "checkpoints").glob("*.tmp"))


def test_a_diverging_run_keeps_its_last_healthy_checkpoint_and_resumes_from_it(images, tmp_path, monkeypatch):
    run_dir = train_config_run(images, tmp_path / "run", "trainer.max_steps=2", "checkpoint.every_n_steps=1")
    kept = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    original = module_file.update_ema

    def diverging(ema, generator, decay):  # weights blow up while every loss is still finite
        original(ema, generator, decay)
        with torch.no_grad():
            next(ema.parameters()).mul_(1e30)

    monkeypatch.setattr(module_file, "update_ema", diverging)
    rule = r"training diverged: .* reaches [0-9.]+e\+\d+ at step 3, over checkpoint\.max_abs_weight=100000: not saved; "
    with pytest.raises(CheckpointError, match=rule + r".*last\.ckpt keeps step 2 \(resume from it with lower"):
        train_config_run(images, run_dir, "trainer.max_steps=6", "checkpoint.every_n_steps=1")
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == kept  # the rescue point, untouched
    monkeypatch.setattr(module_file, "update_ema", original)  # what a lower learning rate does for a real run
    train_config_run(
        images, run_dir, "trainer.max_steps=4", "checkpoint.every_n_steps=1", "optimizer.generator.lr=0.0001"
    )
    assert load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 4


def test_a_last_checkpoint_that_is_not_a_file_is_refused_not_ignored(images, tmp_path):
    (tmp_path / "run" / "checkpoints" / "last.ckpt").mkdir(parents=True)
    with pytest.raises(CheckpointError, match=r"last\.ckpt is not a file \(a folder\?\): move it away"):
        train_config_run(images, tmp_path / "run", "trainer.max_steps=1")


@pytest.mark.slow
def test_a_resumed_run_applies_the_configured_learning_rate_and_betas(images, tmp_path, capsys):
    run_dir = train_config_run(images, tmp_path / "run", "trainer.max_steps=2")
    train_config_run(
        images,
        run_dir,
        "trainer.max_steps=3",
        "optimizer.generator.lr=0.001",
        "optimizer.discriminator.betas=[0.5,0.9]",
    )
    err = capsys.readouterr().err
    assert (
        "optimizer.generator lr 0.0005 -> 0.001" in err
        and "optimizer.discriminator betas (0.0, 0.99) -> (0.5, 0.9)" in err
    )
    saved = load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["optimizer_states"]
    assert saved[0]["param_groups"][0]["lr"] == 0.001 and tuple(saved[1]["param_groups"][0]["betas"]) == (0.5, 0.9)


def test_configured_hyperparameters_replace_restored_ones_group_by_group():
    weights = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    restored = torch.optim.Adam([{"params": [weights[0]]}, {"params": [weights[1]], "lr": 0.1}], lr=0.01)
    wanted = torch.optim.Adam(
        [{"params": [weights[0]]}, {"params": [weights[1]], "lr": 0.2}], lr=0.01, betas=(0.0, 0.9)
    )
    changes = apply_configured(restored, wanted)
    assert changes == [
        "betas (parameter group 0) (0.9, 0.999) -> (0.0, 0.9)",
        "lr (parameter group 1) 0.1 -> 0.2",
        "betas (parameter group 1) (0.9, 0.999) -> (0.0, 0.9)",
    ]
    assert [g["lr"] for g in restored.param_groups] == [0.01, 0.2]
    assert apply_configured(restored, wanted) == []  # nothing left to change


@pytest.mark.slow
def test_sigkill_mid_run_resumes_from_the_last_checkpoint_and_leaves_no_stale_files(images, tmp_path):
    run_dir = tmp_path / "run"
    process = start_training(images, run_dir, "checkpoint.every_n_steps=1")
    try:
        wait_for_steps(process, run_dir, 4)
        process.kill()  # SIGKILL: no handler runs, a checkpoint write may be cut anywhere
        process.wait(timeout=60)
    finally:
        process.kill()
    saved = load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["global_step"]  # whole and readable
    assert saved >= 3
    (run_dir / "checkpoints" / ".last.ckpt.killed.tmp").write_bytes(b"half a checkpoint")  # as a cut write leaves
    resumed = train_config_run(images, run_dir, f"trainer.max_steps={saved + 1}")
    assert load_checkpoint_file(resumed / "checkpoints" / "last.ckpt")["global_step"] == saved + 1
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))


@pytest.mark.slow
def test_an_image_only_decoding_finds_broken_is_skipped_or_refused_before_training(images, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(images, data)
    first = sorted(data.iterdir())[0]
    blob = bytearray(first.read_bytes())
    start = blob.index(b"IDAT") + 20
    blob[start : start + 40] = bytes(40)  # damaged compressed pixels; the header still reads
    (data / "zz_damaged.png").write_bytes(bytes(blob))
    strict = r"the first is zz_damaged.png: .*\(data\.skip_corrupt=true leaves them out\)"
    with pytest.raises(ValueError, match=strict):
        train_config_run(data, tmp_path / "strict", "trainer.max_steps=1")
    assert not (tmp_path / "strict").exists()  # refused before anything was written
    with pytest.warns(UserWarning, match="skipping 1 unreadable images .*zz_damaged.png"):
        run_dir = train_config_run(data, tmp_path / "skip", "trainer.max_steps=2", "data.skip_corrupt=true")
    assert load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 2


def test_a_run_folder_without_room_for_two_checkpoints_is_refused_before_training(images, mount):
    from giraffehd.outputs import OutputError

    folder = mount("size=256k")
    with pytest.raises(OutputError, match=r"run_dir \(its checkpoints/ folder\) .* MiB free, and the first write"):
        train_config_run(images, folder / "run", "trainer.max_steps=1")
    assert not list((folder / "run" / "checkpoints").glob("*.ckpt"))
