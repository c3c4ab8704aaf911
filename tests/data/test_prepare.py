import zipfile

import numpy as np
import pytest
from PIL import Image

from giraffehd.data.cli import main as data_main
from giraffehd.data.image_files import CropBox, DataError, find_images
from giraffehd.data.prepare import prepare_dataset


def _source(root, count: int = 3):
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    for i in range(count):
        folder = root / "sub" if i % 2 else root
        Image.fromarray(rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return root


def _tree(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _only_targets(output, names):
    assert sorted(p.name for p in output.iterdir()) == sorted(names)  # no temporary files left over


def test_prepare_writes_folders_at_every_resolution(tmp_path):
    targets = prepare_dataset(_source(tmp_path / "src"), tmp_path / "out", [8, 16])
    assert targets == [tmp_path / "out" / "8", tmp_path / "out" / "16"]
    _only_targets(tmp_path / "out", ["8", "16"])
    for target, resolution in zip(targets, (8, 16), strict=True):
        names = sorted(p.name for p in target.iterdir())
        assert names == ["00000000.png", "00000001.png", "00000002.png"]
        for name in names:
            with Image.open(target / name) as image:
                assert image.size == (resolution, resolution) and image.mode == "RGB"


def test_prepare_writes_zips_that_read_back(tmp_path):
    source = _source(tmp_path / "src")
    targets = prepare_dataset(source, tmp_path / "out", [16, 8], as_zip=True)
    assert targets == [tmp_path / "out" / "16.zip", tmp_path / "out" / "8.zip"]
    _only_targets(tmp_path / "out", ["8.zip", "16.zip"])
    with zipfile.ZipFile(targets[1]) as zf:
        assert zf.namelist() == ["00000000.png", "00000001.png", "00000002.png"]
    prepared = find_images(targets[1])
    assert prepared.read(2).shape == (8, 8, 3)
    crop = CropBox(2, 2, 10, 10)
    cropped = prepare_dataset(source, tmp_path / "cropped", [8], crop=crop)[0]
    assert len(list(cropped.iterdir())) == 3


def test_an_existing_target_is_refused_and_left_untouched(tmp_path):
    source = _source(tmp_path / "src")
    output = tmp_path / "out"
    (output / "16").mkdir(parents=True)
    (output / "16" / "mine.txt").write_text("keep me")
    before = _tree(output)
    with pytest.raises(DataError, match=f"target already exists: {output / '16'}"):
        prepare_dataset(source, output, [8, 16])
    with pytest.raises(DataError, match="target already exists"):
        prepare_dataset(tmp_path / "no-source", output, [16])  # checked before the source is looked at
    assert _tree(output) == before
    _only_targets(output, ["16"])
    prepare_dataset(source, output, [8, 16], overwrite=True)
    _only_targets(output, ["8", "16"])
    assert not (output / "16" / "mine.txt").exists() and len(list((output / "16").iterdir())) == 3


def test_invalid_resolutions_fail_before_reading(tmp_path):
    with pytest.raises(DataError, match="^resolutions must be a power of two between 8 and 1024, got 100$"):
        prepare_dataset(tmp_path / "does-not-exist", tmp_path / "out", [64, 100])
    assert not (tmp_path / "out").exists()


def test_a_failed_run_leaves_no_target_and_no_temporaries(tmp_path):
    source = _source(tmp_path / "src", count=4)
    (source / "sub" / "zz_bad.png").write_bytes(b"garbage")  # read last, after others were written
    for as_zip in (False, True):
        with pytest.raises(DataError, match="cannot read image sub/zz_bad.png"):
            prepare_dataset(source, tmp_path / "out", [8], as_zip=as_zip)
        assert list((tmp_path / "out").iterdir()) == []


def test_skip_corrupt_numbers_the_good_images_without_gaps(tmp_path):
    source = _source(tmp_path / "src", count=3)
    (source / "a_bad.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="skipped 1 unreadable images in .*: a_bad.png$") as caught:
        (target,) = prepare_dataset(source, tmp_path / "out", [8], skip_corrupt=True)
    assert len(caught) == 1
    assert sorted(p.name for p in target.iterdir()) == ["00000000.png", "00000001.png", "00000002.png"]


def test_output_inside_the_source_is_not_read_back(tmp_path):
    source = _source(tmp_path / "src")
    prepare_dataset(source, source, [8])
    (target,) = prepare_dataset(source, source, [8], overwrite=True)
    assert len(list(target.iterdir())) == 3


def test_the_command_takes_overrides_like_every_other(tmp_path, capsys):
    source = _source(tmp_path / "src")
    out = tmp_path / "out"
    data_main(["prepare", f"source={source}", f"output={out}", "resolutions=[8,16]", "zip=true",
               "crop=[0,0,20,20]", "skip_corrupt=true"])  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["16.zip", "8.zip"]
    assert capsys.readouterr().out.splitlines() == [f"wrote {out / '8.zip'}", f"wrote {out / '16.zip'}"]
    data_main(["prepare", f"source={source}", f"output={out}"])  # the default: one folder at 256 px
    assert (out / "256").is_dir()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "source is required: giraffehd-data prepare source=FOLDER_OR_ZIP output=FOLDER"),
        (["output=X"], "source is required"),
        (["crop=[1,2,3]"], "crop must be [left, top, width, height] in whole pixels, or null, got [1, 2, 3]"),
        (["crop=abc"], "crop must be [left, top, width, height] in whole pixels, or null, got 'abc'"),
        (["resolutions=256"], "resolutions must be a list, such as [a,b] (its default is [256]), got 256"),
        (["zip=maybe"], "zip must be true or false"),
    ],
)
def test_bad_prepare_input_is_one_line_naming_the_key(tmp_path, capsys, overrides, message):
    source = _source(tmp_path / "src")
    given = [f"source={source}", f"output={tmp_path / 'out'}"] if "source is required" not in message else []
    with pytest.raises(SystemExit) as stop:
        data_main(["prepare", *given, *overrides])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("giraffehd-data prepare: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()
