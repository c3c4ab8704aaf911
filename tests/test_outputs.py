"""Output locations are checked before any work, and nothing is ever left half-written (tiny and read-only
filesystems where this machine lets a test mount one)."""

import os
import stat
import time

import pytest
import torch

from giraffehd.atomic import umask_mode, write_atomically
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


def test_an_mp4_the_encoder_could_not_finish_never_takes_its_name(mount):
    folder = mount("size=200k")  # room for the encoder to start, not to finish
    with pytest.raises(OSError, match="the video encoder did not finish .*clip.mp4"):
        save_video(torch.rand(40, 3, 128, 128), folder / "clip.mp4")
    assert list(folder.iterdir()) == []  # ffmpeg exits normally after a failed close: the file is read back


def test_files_are_written_with_the_users_umask(tmp_path):
    for mask, expected in ((0o022, 0o644), (0o077, 0o600)):
        umask_mode.cache_clear()
        old = os.umask(mask)
        try:
            write_atomically(tmp_path / f"{mask}.bin", lambda f: f.write(b"x"))
            save_image(torch.zeros(3, 8, 8), tmp_path / f"{mask}.png")
        finally:
            os.umask(old)
            umask_mode.cache_clear()
        assert stat.S_IMODE((tmp_path / f"{mask}.bin").stat().st_mode) == expected
        assert stat.S_IMODE((tmp_path / f"{mask}.png").stat().st_mode) == expected
