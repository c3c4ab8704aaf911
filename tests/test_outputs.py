"""Output locations are checked before any work, and nothing is ever left half-written (tiny and read-only
filesystems where this machine lets a test mount one)."""

import os
import subprocess
import time

import pytest
import torch

from giraffehd.atomic import write_atomically
from giraffehd.media import save_image, save_video
from giraffehd.outputs import OutputError, check_output_folder, remove_old_temporaries


def test_a_file_or_a_path_under_a_file_is_refused_and_nothing_is_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=f"^output_dir {blocker} is a file: choose a folder$"):
        check_output_folder(blocker, "output_dir")
    with pytest.raises(OutputError, match=f"lies under {blocker}, which is a file"):
        check_output_folder(blocker / "a" / "b", "output_dir")
    assert check_output_folder(tmp_path / "new" / "deep", "output_dir") == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()  # checked through the nearest existing folder, not made
    check_output_folder(tmp_path / "new" / "deep", "output_dir", create=True)
    assert (tmp_path / "new" / "deep").is_dir()


def test_only_old_temporaries_are_removed(tmp_path):
    old, young, video, kept = (tmp_path / n for n in (".a.png.x1.tmp", ".b.json.x2.tmp", ".c.mp4.7.tmp.mp4", "d.tmp"))
    for path in (old, young, video, kept):
        path.write_text("")
    past = time.time() - 3600
    for path in (old, video, kept):
        os.utime(path, (past, past))
    assert sorted(remove_old_temporaries(tmp_path)) == sorted([old, video])
    assert young.exists() and kept.exists()  # a running write's file, and a file that is not ours


@pytest.fixture
def mount(tmp_path):
    """``mount(options)``: a fresh tmpfs with ``options`` (e.g. size=64k, ro), or a skip where this machine
    does not let the tests mount one (not root, or no mount capability)."""
    mounted = []

    def make(options: str):
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip() or 'not permitted'})")
        mounted.append(target)
        return target

    yield make
    for target in mounted:
        subprocess.run(["umount", str(target)], check=False)


def test_a_read_only_folder_is_refused_before_any_work(mount):
    folder = mount("size=64k,ro")
    with pytest.raises(OutputError, match=f"^output_dir {folder / 'out'} is not writable: Read-only file system"):
        check_output_folder(folder / "out", "output_dir")


def test_a_full_disk_is_refused_up_front_and_never_leaves_half_a_file(mount):
    folder = mount("size=64k")
    with pytest.raises(OutputError, match=r"has 0\.\d MiB free, and the first write needs about 1\.0 MiB"):
        check_output_folder(folder, "output_dir", need_bytes=2**20)
    save_image(torch.zeros(3, 8, 8), folder / "frame.png")
    before = (folder / "frame.png").read_bytes()
    with pytest.raises(OSError):  # the disk fills mid-write
        write_atomically(folder / "frame.png", lambda f: f.write(os.urandom(200_000)))
    assert (folder / "frame.png").read_bytes() == before  # the old file, whole
    with pytest.raises(OSError):
        save_video(torch.rand(40, 3, 64, 64), folder / "clip.gif")
    assert sorted(p.name for p in folder.iterdir()) == ["frame.png"]  # no partial GIF, no temporary
