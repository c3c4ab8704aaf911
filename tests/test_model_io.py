"""Loading a trained generator from a run folder, a checkpoint or an exported model; clear refusals."""

import os
from pathlib import Path

import pytest
import torch

from giraffehd.model_io import export_model, load_model
from giraffehd.torch_files import CheckpointError, load_checkpoint_file


def _render(model):
    scene = model.prior.sample(2, torch.Generator().manual_seed(3))
    return model.generator(scene).image


def test_run_folder_checkpoint_and_export_load_the_same_ema_generator(tiny_run, tmp_path):
    checkpoint = load_checkpoint_file(tiny_run / "checkpoints" / "last.ckpt")
    assert checkpoint["giraffehd_config"]["model"]["image_resolution"] == 32
    from_folder = load_model(tiny_run)
    from_file = load_model(tiny_run / "checkpoints" / "last.ckpt")
    exported = load_model(export_model(tiny_run, tmp_path / "model.pt"))
    assert from_folder.step == from_file.step == exported.step == 4
    ema = {k[len("generator_ema.") :]: v for k, v in checkpoint["state_dict"].items() if k.startswith("generator_ema.")}
    for name, tensor in from_folder.generator.state_dict().items():
        if not name.startswith("styles.w_avg"):  # the average styles are estimated on load
            torch.testing.assert_close(tensor, ema[name], rtol=0, atol=0)
    image = _render(from_folder)
    assert torch.equal(image, _render(exported))
    assert from_folder.prior.elevation_deg == exported.prior.elevation_deg
    assert not from_folder.generator.training and bool(from_folder.generator.w_avg_ready)
    assert (tmp_path / "model.pt").stat().st_size < checkpoint_size(tiny_run)


def checkpoint_size(run):
    return (run / "checkpoints" / "last.ckpt").stat().st_size


def test_a_checkpoint_without_stored_config_reads_the_run_folder_config(tiny_run, tmp_path):
    run = tmp_path / "old_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text((tiny_run / "config.yaml").read_text())
    checkpoint = load_checkpoint_file(tiny_run / "checkpoints" / "last.ckpt")
    del checkpoint["giraffehd_config"]
    torch.save(checkpoint, run / "checkpoints" / "last.ckpt")
    assert torch.equal(_render(load_model(run)), _render(load_model(tiny_run)))
    (run / "config.yaml").unlink()
    with pytest.raises(CheckpointError, match="carries no config"):
        load_model(run)


def test_bad_paths_and_foreign_files_fail_with_one_line_naming_them(tiny_run, tmp_path):
    with pytest.raises(CheckpointError, match="not found: .*missing.ckpt"):
        load_model(tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match="without checkpoints/last.ckpt"):
        load_model(tmp_path)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*corrupt.ckpt"):
        load_model(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"weight": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError, match="foreign.pt was not written by giraffehd"):
        load_model(foreign)
    checkpoint = load_checkpoint_file(tiny_run / "checkpoints" / "last.ckpt")
    checkpoint["giraffehd_config"] = {**checkpoint["giraffehd_config"]}
    checkpoint["giraffehd_config"]["model"] = {**checkpoint["giraffehd_config"]["model"], "w_dim": 24}
    mismatched = tmp_path / "mismatched.ckpt"
    torch.save(checkpoint, mismatched)
    with pytest.raises(CheckpointError, match="mismatched.ckpt"):
        load_model(mismatched)


def test_a_model_saved_before_the_generator_had_parts_loads_and_renders_as_it_did(tmp_path):
    """tests/fixtures/legacy_generator.pt was written by the flat generator (one build_generator config, tiny
    sizes, random weights) with the image that code rendered at seed 0, from a checkout of the commit before
    the generator was made of parts: the upgraded model renders it again, and re-exports in today's layout."""
    legacy = Path(__file__).parent / "fixtures" / "legacy_generator.pt"
    reference = torch.load(legacy, weights_only=True)["reference_image"]
    model = load_model(legacy)
    assert model.config["model"]["_target_"] == "giraffehd.model.generator.Generator"
    assert model.generator.mask_steepness == 2.0 and model.step == 7
    with torch.no_grad():
        image = model.generator(model.prior.sample(2, torch.Generator().manual_seed(0))).image
    # 1e-5: another CPU's vector width reorders float sums (a few 1e-6 apart); a change in the code is far larger.
    torch.testing.assert_close(image, reference, rtol=0, atol=1e-5)
    again = load_model(export_model(legacy, tmp_path / "upgraded.pt"))
    assert torch.load(tmp_path / "upgraded.pt", weights_only=True)["config"]["model"]["styles"]["z_dim"] == 8
    with torch.no_grad():
        assert torch.equal(again.generator(model.prior.sample(2, torch.Generator().manual_seed(0))).image, image)


class _RunsCode:
    def __reduce__(self):
        return (print, ("this ran",))


def test_crafted_and_damaged_model_files_are_refused_in_one_complete_line(tiny_run, tmp_path, capsys):
    good = export_model(tiny_run, tmp_path / "good.pt")
    payload = torch.load(good, weights_only=True)

    def write(name: str, content) -> Path:
        torch.save(content, tmp_path / name)
        return tmp_path / name

    cases = {
        write("tag_only.pt", {"format": payload["format"]}): "its generator weights are missing or not tensors",
        write("listed.pt", {**payload, "generator": [1, 2]}): "its generator weights are missing or not tensors",
        write("no_camera.pt", {**payload, "config": {k: v for k, v in payload["config"].items() if k != "camera"}}):
            "its config has no camera group",
        write("bad_step.pt", {**payload, "step": "late"}): "its step is 'late', not an integer",
        write("nan.pt", {**payload, "generator": {k: v.float().fill_(float("nan")) if v.is_floating_point() else v
                                                  for k, v in payload["generator"].items()}}):
            "holds weights that are not finite (NaN or Inf)",
        write("code.pt", {"x": _RunsCode()}): "holds Python objects besides tensors, numbers and text",
    }  # fmt: skip
    (tmp_path / "empty.pt").write_bytes(b"")
    cases[tmp_path / "empty.pt"] = "the file is empty (0 bytes)"
    checkpoint = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    cases[write("listed.ckpt", {**checkpoint, "state_dict": [1, 2]})] = "its state_dict is not a mapping of tensors"
    (tmp_path / "notes.txt").write_text("hello, not a model")
    cases[tmp_path / "notes.txt"] = "it is not a PyTorch file (it begins with b'hell')"
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:5000])
    cases[tmp_path / "cut.pt"] = "it is damaged ("
    (tmp_path / "folder.pt").mkdir()
    cases[tmp_path / "folder.pt"] = "is a folder without checkpoints/last.ckpt"
    os.mkfifo(tmp_path / "pipe.pt")
    cases[tmp_path / "pipe.pt"] = "is not a regular file (a named pipe or device): name a file"
    for path, reason in cases.items():
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        message = str(info.value)
        assert reason in message and str(path) in message and "\n" not in message, message
        assert message.endswith((")", "render", "group", "integer", "tensors", "?)", "a file")), message  # whole
    assert "this ran" not in capsys.readouterr().out  # the pickled call never ran
    with pytest.raises(CheckpointError, match="^checkpoint is required: checkpoint=RUN_FOLDER"):
        load_model(None)  # checkpoint=null on any command line
