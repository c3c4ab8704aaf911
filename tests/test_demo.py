"""giraffehd-demo end to end on a tiny configuration: data, training, renders and the scorecard."""

import json

import imageio.v3 as iio
import pytest

from giraffehd.demo import main

TINY = [
    "data.num_images=24",
    "train.minutes=5",
    "train.overrides=['model=tiny','data.batch_size=4','data.num_workers=0','trainer.max_steps=2',"
    "'discriminator.channel_base=256','discriminator.channel_max=16','discriminator.channel_min=8','+trainer.enable_progress_bar=false']",
    "render.overrides=['samples=2','steps=3','frames=4','video_size=32','video_formats=[mp4,gif]']",
    "showcase.overrides=['samples=1','steps=2','frames=2','video_size=64','video_formats=[gif]']",
    "eval.fid=false",
    "eval.overrides=['num_seeds=2','sweep_steps=4','num_samples=8','batch_size=8']",
]


def test_the_demo_shows_the_shipped_model_makes_data_trains_renders_and_scores(tmp_path, capsys):
    data, run, out = tmp_path / "cars", tmp_path / "run", tmp_path / "renders"
    paths = [f"data.output={data}", f"run_dir={run}", f"output_dir={out}"]
    main([*paths, *TINY])
    shipped = out / "hd_car_256"  # the shipped GIRAFFE HD model at its own 256 px, before any training
    for sweep in ("elevation", "rotation"):
        assert iio.imread(shipped / f"{sweep}.png").shape == (1 * 258 + 2, 2 * 258 + 2, 3)
    assert iio.imread(shipped / "turntable.gif", index=None).shape[:3] == (2, 64, 64)  # frames, one seed
    assert json.loads((data / "labels.json").read_text())["num_images"] == 24
    assert (run / "checkpoints" / "last.ckpt").is_file()
    for sweep in ("elevation", "rotation"):
        assert iio.imread(out / f"{sweep}.png").shape == (2 * 34 + 2, 3 * 34 + 2, 3)
    assert iio.imread(out / "turntable.mp4").shape == (4, 32, 2 * 32, 3)  # seeds side by side
    assert (out / "turntable.gif").is_file()
    card = json.loads((out / "scorecard.json").read_text())
    assert card["step"] == 2
    printed = capsys.readouterr().out
    assert printed.index("[1/5] showcase") < printed.index("[3/5] train")
    assert "[5/5] eval" in printed and "object rotation error" in printed
    # A second call keeps the data, resumes the finished run (already at its last step) and re-renders.
    main([*paths, *TINY, "stages=[data,train]"])
    assert "exists with 24 images; kept" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "named"),
    [("stages=[data,paint]", "stages"), ("train.minutes=0", "train.minutes"), ("camera.fov_deg=1", "camera"),
     ("train.minutes=ten", "train.minutes must be a number")],
)  # fmt: skip
def test_bad_overrides_fail_before_any_work(tmp_path, capsys, override, named):
    with pytest.raises(SystemExit) as exit_info:
        main([f"data.output={tmp_path / 'cars'}", f"run_dir={tmp_path / 'run'}", override])
    assert exit_info.value.code == 2  # bad input, not a crash
    message = capsys.readouterr().err.strip()
    assert named in message and message.startswith("giraffehd-demo: error: ") and "\n" not in message
    assert not (tmp_path / "cars").exists() and not (tmp_path / "run").exists()
