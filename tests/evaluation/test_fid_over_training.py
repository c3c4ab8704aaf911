"""scripts/fid_over_training.py: FID/KID of every kept checkpoint of a run, in step order."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fid_over_training.py"


def _script():
    spec = importlib.util.spec_from_file_location("fid_over_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scores_each_kept_checkpoint_once_in_step_order(images, tiny_train_config, tmp_path, capsys):
    from giraffehd.train import train

    run_dir = train(tiny_train_config(images, tmp_path / "run", "checkpoint.keep_every_n_steps=2"))
    options = ["--num-samples", "4", "--num-reference", "6", "--reference", str(images)]
    assert _script().main([str(run_dir), *options, "--cache-dir", str(tmp_path / "cache")]) == 0
    record = json.loads((run_dir / "eval" / "fid_over_training.json").read_text())
    assert [row["step"] for row in record["rows"]] == [2, 4]  # last.ckpt is step 4: not scored twice
    assert all(row["fid"] > 0 and row["kid"] == row["kid"] for row in record["rows"])
    assert record["rows"][0]["fid"] != record["rows"][1]["fid"]
    assert "| 4 |" in (run_dir / "eval" / "fid_over_training.md").read_text()
    assert "4 generated images (seed 0) against 6" in capsys.readouterr().out


def test_a_run_without_checkpoints_is_refused(tmp_path, capsys):
    assert _script().main([str(tmp_path)]) == 2
    assert "no checkpoints in" in capsys.readouterr().err


def test_every_n_steps_scores_the_multiples_and_the_last(images, tiny_train_config, tmp_path):
    from giraffehd.train import train

    run_dir = train(tiny_train_config(images, tmp_path / "run", "checkpoint.keep_every_n_steps=1"))
    options = ["--num-samples", "4", "--num-reference", "6", "--reference", str(images), "--every-n-steps", "3"]
    assert _script().main([str(run_dir), *options, "--cache-dir", str(tmp_path / "cache")]) == 0
    record = json.loads((run_dir / "eval" / "fid_over_training.json").read_text())
    assert [row["step"] for row in record["rows"]] == [3, 4]  # kept 1 to 4; 3 is the multiple, 4 the last
    assert _script().main([str(run_dir), "--every-n-steps", "0"]) == 2
