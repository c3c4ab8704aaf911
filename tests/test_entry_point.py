"""The shared edge of the Hydra commands: one line and status 2 for a bad input, a stop's own status,
override kinds and ``threads`` applied before the job runs."""

import sys

import pytest
import torch

from giraffehd.entry_point import hydra_command


class _Stopped(RuntimeError):
    exit_status = 143


def _run(monkeypatch, job, *arguments: str, errors=(ValueError,), report=None):
    monkeypatch.setattr(sys, "argv", ["giraffehd-x", *arguments])
    hydra_command("giraffehd-x", "train_encoder", job, (*errors, _Stopped), report)()


def test_a_bad_input_is_one_line_and_status_2(monkeypatch, capsys):
    def job(cfg):
        raise ValueError("output   is\n a folder")

    with pytest.raises(SystemExit) as stop:
        _run(monkeypatch, job)
    assert stop.value.code == 2
    assert capsys.readouterr().err == "giraffehd-x: error: output is a folder\n"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("outptu=x.pt", "Could not override 'outptu'. To append to your config use +outptu=x.pt"),
        ("training.steps=[1", "no viable alternative at input '[1'"),
    ],
)
def test_an_override_hydra_cannot_apply_is_one_line_and_status_2_before_the_job(monkeypatch, capsys, argument, message):
    ran = []
    with pytest.raises(SystemExit) as stop:
        _run(monkeypatch, ran.append, argument)
    assert stop.value.code == 2 and ran == []
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"giraffehd-x: error: {message}")


def test_a_stop_exits_with_its_own_status_and_a_crash_is_not_caught(monkeypatch, capsys):
    def stopped(cfg):
        raise _Stopped("stopped by SIGTERM at step 7")

    with pytest.raises(SystemExit) as stop:
        _run(monkeypatch, stopped)
    assert stop.value.code == 143 and capsys.readouterr().err == "giraffehd-x: stopped by SIGTERM at step 7\n"

    def crash(cfg):
        raise KeyError("a bug")

    with pytest.raises(SystemExit) as stop:  # a real crash: Hydra's status 1, never the bad-input status
        _run(monkeypatch, crash)
    assert stop.value.code == 1 and "KeyError: 'a bug'" in capsys.readouterr().err


def test_override_kinds_and_threads_are_checked_before_the_job(monkeypatch, capsys):
    ran, reported = [], []
    before = torch.get_num_threads()
    try:
        _run(
            monkeypatch, lambda cfg: ran.append(torch.get_num_threads()) or "done", "threads=1", report=reported.append
        )
        assert ran == [1] and reported == ["done"]
        for argument, message in [
            ("threads=0", "threads must be null or an integer of at least 1, got 0"),
            ("training.steps=abc", "training.steps must be an integer (its default is 1500), got 'abc'"),
        ]:
            with pytest.raises(SystemExit):
                _run(monkeypatch, ran.append, argument)
            assert capsys.readouterr().err == f"giraffehd-x: error: {message}\n"
        assert len(ran) == 1  # the job never ran on a bad input
    finally:
        torch.set_num_threads(before)


def test_an_operating_system_error_during_the_work_is_one_line_naming_the_file(monkeypatch, capsys):
    def job(cfg):
        raise OSError(28, "No space left on device", "renders/x.png")

    with pytest.raises(SystemExit) as stop:
        _run(monkeypatch, job)
    assert stop.value.code == 2
    assert capsys.readouterr().err == "giraffehd-x: error: No space left on device: renders/x.png\n"


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("giraffehd.sweeps.cli", []),
        ("giraffehd.viewer.cli", []),
        ("giraffehd.mesh.cli", []),
        ("giraffehd.inversion.cli", ["image=photo.png"]),
        ("giraffehd.inversion.encoder_cli", []),
        ("giraffehd.evaluation.scenes.cli", []),
    ],
)
def test_checkpoint_null_is_one_line_in_every_command_that_loads_a_model(monkeypatch, capsys, tmp_path, module, extra):
    import importlib

    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    monkeypatch.setattr(sys, "argv", ["entry", "checkpoint=null", *extra])
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(module).main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("error: checkpoint is required: checkpoint=RUN_FOLDER, a training "
                                                 "checkpoint or an exported model")  # fmt: skip
