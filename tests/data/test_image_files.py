import io
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from giraffehd.data.image_files import (
    CropBox,
    DataError,
    check_images,
    check_resolution,
    find_images,
    resize_and_crop,
)


def _noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _encoded(pixels: np.ndarray, format: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode=mode).save(buffer, format=format)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _truncated_png() -> bytes:
    data = _encoded(_noise(40, 40, seed=9))
    return data[: len(data) // 2]


# Names of the valid images of the tree below, in the expected (sorted) order.
_EXPECTED = ["a.png", "b/c/deep.JPG", "b/mid.jpeg", "upper.PNG", "z.bmp", "z.webp"]


def _make_tree(root: Path) -> Path:
    files = {
        "a.png": _encoded(_noise(6, 5, 0)),
        "upper.PNG": _encoded(_noise(4, 4, 1)),
        "b/mid.jpeg": _encoded(_noise(8, 8, 2), "JPEG"),
        "b/c/deep.JPG": _encoded(_noise(8, 6, 3), "JPEG"),
        "z.webp": _encoded(_noise(5, 5, 4), "WEBP"),
        "z.bmp": _encoded(_noise(3, 7, 5), "BMP"),
        ".hidden.png": b"not an image",
        ".git/x.png": b"not an image",
        "__MACOSX/._a.png": b"not an image",
        "b/__MACOSX/y.png": b"not an image",
        "notes.txt": b"text",
    }
    for name, data in files.items():
        _write(root / name, data)
    return root


def _zip_of(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder).as_posix())  # folders too, as zip directory entries
    return archive


def test_folder_and_zip_are_found_in_sorted_order_and_read_identically(tmp_path):
    folder = _make_tree(tmp_path / "tree")
    from_folder = find_images(folder)
    from_zip = find_images(_zip_of(folder, tmp_path / "tree.zip"))
    assert list(from_folder.names) == _EXPECTED
    assert list(from_zip.names) == _EXPECTED
    assert not from_folder.is_zip and from_zip.is_zip
    for index in range(len(_EXPECTED)):
        a, b = from_folder.read(index), from_zip.read(index)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(from_folder.read(0), _noise(6, 5, 0))  # lossless PNG round trip


def test_zip_collection_pickles_after_reading(tmp_path):
    collection = find_images(_zip_of(_make_tree(tmp_path / "tree"), tmp_path / "tree.zip"))
    first = collection.read(0)  # opens the archive
    copy = pickle.loads(pickle.dumps(collection))
    np.testing.assert_array_equal(copy.read(0), first)


def test_rgba_is_composited_onto_white(tmp_path):
    pixels = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 255, 128]]], dtype=np.uint8)
    _write(tmp_path / "rgba.png", _encoded(pixels, mode="RGBA"))
    rgb = find_images(tmp_path).read(0).astype(int)
    np.testing.assert_array_equal(rgb[0, 0], [255, 0, 0])  # opaque: unchanged
    np.testing.assert_array_equal(rgb[0, 1], [255, 255, 255])  # transparent: white
    np.testing.assert_allclose(rgb[0, 2], [127, 127, 255], atol=1)  # half: halfway to white


def test_greyscale_with_alpha_and_palette_transparency(tmp_path):
    la = np.array([[[0, 0], [100, 255]]], dtype=np.uint8)
    _write(tmp_path / "a_la.png", _encoded(la, mode="LA"))
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "b_p.png", transparency=0)
    collection = find_images(tmp_path)
    np.testing.assert_array_equal(collection.read(0), [[[255] * 3, [100] * 3]])
    np.testing.assert_array_equal(collection.read(1), [[[255] * 3, [10, 20, 30]]])


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    _write(tmp_path / "grey.png", _encoded(grey, mode="L"))
    _write(tmp_path / "grey16.png", _encoded(grey.astype(np.uint16) * 257))
    collection = find_images(tmp_path)
    for index in range(2):
        rgb = collection.read(index)
        assert rgb.shape == (3, 4, 3)
        for channel in range(3):
            np.testing.assert_array_equal(rgb[..., channel], grey)


@pytest.mark.parametrize("data", [b"\x89PNG" + bytes(range(256)) * 3, _truncated_png()], ids=["random", "truncated"])
def test_a_corrupt_file_gives_a_one_line_data_error_naming_it(tmp_path, data):
    _write(tmp_path / "good.png", _encoded(_noise(4, 4, 0)))
    _write(tmp_path / "sub" / "bad.png", data)
    collection = find_images(tmp_path)
    assert collection.names == ("good.png", "sub/bad.png")
    with pytest.raises(DataError, match="cannot read image sub/bad.png in ") as info:
        collection.read(1)
    message = str(info.value)
    assert str(tmp_path) in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_check_images_raises_on_the_first_bad_file_with_the_count(tmp_path):
    _write(tmp_path / "a.png", _encoded(_noise(4, 4, 0)))
    _write(tmp_path / "b.png", b"garbage")
    _write(tmp_path / "c.png", _truncated_png())
    with pytest.raises(DataError, match=r"^2 of 3 images .* the first is b.png: ") as info:
        check_images(find_images(tmp_path), skip_corrupt=False)
    assert info.value.__cause__ is None


def test_check_images_skips_the_bad_files_with_one_warning(tmp_path):
    _write(tmp_path / "a.png", _encoded(_noise(4, 4, 0)))
    _write(tmp_path / "b.png", b"garbage")
    _write(tmp_path / "c.png", _truncated_png())
    _write(tmp_path / "d.png", _encoded(_noise(4, 4, 1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = check_images(find_images(tmp_path), skip_corrupt=True)
    assert kept.names == ("a.png", "d.png")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "b.png" in message and "c.png" in message and "a.png" not in message


def test_check_images_lists_at_most_twenty_names(tmp_path):
    _write(tmp_path / "good.png", _encoded(_noise(4, 4, 0)))
    for i in range(23):
        _write(tmp_path / f"bad{i:02d}.png", b"garbage")
    with pytest.warns(UserWarning, match="and 3 more$") as caught:
        kept = check_images(find_images(tmp_path), skip_corrupt=True)
    assert len(caught) == 1 and kept.names == ("good.png",)
    assert "bad19.png" in str(caught[0].message) and "bad20.png" not in str(caught[0].message)


def test_check_images_with_nothing_left_is_an_error(tmp_path):
    _write(tmp_path / "bad.png", b"garbage")
    with pytest.raises(DataError, match="none of the 1 images"):
        check_images(find_images(tmp_path), skip_corrupt=True)


def test_missing_empty_and_non_archive_paths(tmp_path):
    with pytest.raises(DataError, match=f"data path does not exist: {tmp_path / 'nope'}$"):
        find_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty" / ".hidden.png", _encoded(_noise(4, 4, 0)))
    with pytest.raises(DataError, match=r"no images \(\.png, \.jpg, \.jpeg, \.webp, \.bmp\) found in .*empty$"):
        find_images(tmp_path / "empty")
    with pytest.raises(DataError, match="neither a folder nor a zip archive: .*notes.txt$"):
        find_images(_write(tmp_path / "notes.txt", b"text"))
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "no images here")
    with pytest.raises(DataError, match="found in .*empty.zip$"):
        find_images(tmp_path / "empty.zip")


@pytest.mark.parametrize("resolution", [0, 4, 100, 2048])
def test_check_resolution_names_the_key(resolution):
    with pytest.raises(
        DataError, match=f"^data.resolution must be a power of two between 8 and 1024, got {resolution}$"
    ):
        check_resolution(resolution)
    with pytest.raises(DataError, match="^resolutions "):
        check_resolution(resolution, key="resolutions")


@pytest.mark.parametrize("resolution", [8, 64, 1024])
def test_check_resolution_accepts_powers_of_two(resolution):
    check_resolution(resolution)


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (5, 7), (16, 16)])
def test_resize_and_crop_returns_a_square_of_the_resolution(shape):
    out = resize_and_crop(_noise(*shape, seed=0), 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8


def test_centre_crop_keeps_the_centre():
    wide = np.zeros((100, 300, 3), dtype=np.uint8)
    wide[:, 140:160] = [255, 0, 0]  # a red stripe in the centre, 1/5 of the centre square's width
    out = resize_and_crop(wide, 20).astype(int)
    assert (np.abs(out[:, 9:11] - [255, 0, 0]) <= 8).all()  # the stripe, in the middle
    assert (out[:, :6] <= 8).all() and (out[:, -6:] <= 8).all()  # black on both sides
    tall = np.ascontiguousarray(wide.transpose(1, 0, 2))
    np.testing.assert_array_equal(resize_and_crop(tall, 20), out.transpose(1, 0, 2))


def test_crop_box_is_honoured():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    image[:20, :30] = [10, 200, 30]  # top-left quadrant
    image[20:, 30:] = [250, 250, 250]
    out = resize_and_crop(image, 8, CropBox(left=0, top=0, width=30, height=20))
    np.testing.assert_array_equal(out, np.broadcast_to([10, 200, 30], (8, 8, 3)))
    out = resize_and_crop(image, 8, CropBox(left=30, top=20, width=30, height=20))
    np.testing.assert_array_equal(out, np.full((8, 8, 3), 250))
    with pytest.raises(ValueError, match="does not fit inside an image of 60x40"):
        resize_and_crop(image, 8, CropBox(left=40, top=0, width=30, height=20))
    with pytest.raises(DataError, match="width, height >= 1"):
        CropBox(left=0, top=0, width=0, height=5)


def _damaged_png_data() -> bytes:
    """A PNG whose header and chunk layout are intact but whose compressed pixels are not (a fixed CRC)."""
    import struct
    import zlib

    data = bytearray(_encoded(_noise(40, 40, seed=3)))
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    for i in range(start + 10, start + length - 4, 7):
        data[i] ^= 0x5A
    crc = zlib.crc32(bytes(data[start - 4 : start + length])) & 0xFFFFFFFF
    data[start + length : start + length + 4] = struct.pack(">I", crc)
    return bytes(data)


def _truncated_jpeg() -> bytes:
    data = _encoded(_noise(64, 64, seed=4), format="JPEG")
    return data[: len(data) * 2 // 3]


def test_the_check_decodes_pixels_and_finds_what_a_header_check_misses(tmp_path):
    _write(tmp_path / "good.png", _encoded(_noise(4, 4, 0)))
    _write(tmp_path / "cut.jpg", _truncated_jpeg())
    _write(tmp_path / "damaged.png", _damaged_png_data())
    for name in ("cut.jpg", "damaged.png"):  # both pass PIL's verify()
        with Image.open(tmp_path / name) as image:
            image.verify()
    with pytest.raises(DataError, match=r"^2 of 3 images .* the first is cut.jpg: "):
        check_images(find_images(tmp_path), skip_corrupt=False)
    with pytest.warns(UserWarning, match="skipping 2 unreadable images"):
        kept = check_images(find_images(tmp_path), skip_corrupt=True)
    assert kept.names == ("good.png",)
    kept.read(0)


def test_a_named_pipe_is_reported_not_opened(tmp_path):
    import os

    _write(tmp_path / "good.png", _encoded(_noise(4, 4, 0)))
    os.mkfifo(tmp_path / "x.png")  # opening it for reading would wait for a writer forever
    with pytest.raises(DataError, match=r"the first is x.png: not a regular file"):
        check_images(find_images(tmp_path), skip_corrupt=False)
    with pytest.warns(UserWarning, match="x.png"):
        assert check_images(find_images(tmp_path), skip_corrupt=True).names == ("good.png",)
    with pytest.raises(DataError, match="x.png is not a regular file"):
        find_images(tmp_path).read(1)


def test_each_file_is_decoded_once_until_it_changes(tmp_path, monkeypatch):
    import os

    from giraffehd.data.image_files import ImageCollection

    for i in range(3):
        _write(tmp_path / f"{i}.png", _encoded(_noise(4, 4, i)))
    decoded = []
    original = ImageCollection.read
    monkeypatch.setattr(ImageCollection, "read", lambda self, i: decoded.append(self.names[i]) or original(self, i))
    check_images(find_images(tmp_path), skip_corrupt=False)
    assert sorted(decoded) == ["0.png", "1.png", "2.png"]
    decoded.clear()
    check_images(find_images(tmp_path), skip_corrupt=False)
    assert decoded == []  # remembered: a second start decodes nothing
    _write(tmp_path / "1.png", b"garbage")  # changed (size and time): checked again, and found bad
    os.utime(tmp_path / "1.png", ns=(1, 1))
    with pytest.raises(DataError, match="the first is 1.png"):
        check_images(find_images(tmp_path), skip_corrupt=False)
    assert decoded == ["1.png"]


def test_linked_subfolders_are_followed_once_and_a_link_loop_ends(tmp_path):
    import os

    outside = _write(tmp_path / "elsewhere" / "linked.png", _encoded(_noise(4, 4, 0))).parent
    root = tmp_path / "data"
    _write(root / "own.png", _encoded(_noise(4, 4, 1)))
    os.symlink(outside, root / "more")
    os.symlink(root, root / "more_of_me")  # a link back up the tree
    assert find_images(root).names == ("more/linked.png", "own.png")


def test_a_named_pipe_as_the_data_path_is_refused_without_opening_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "data.zip")  # looking for a zip archive in it would wait for a writer forever
    with pytest.raises(DataError, match="is not a regular file or folder \\(a named pipe or device\\)"):
        find_images(tmp_path / "data.zip")


def test_images_smaller_than_the_resolution_are_counted_in_one_warning(tmp_path):
    _write(tmp_path / "big.png", _encoded(_noise(64, 64, 0)))
    _write(tmp_path / "tiny.png", _encoded(_noise(1, 1, 1)))
    _write(tmp_path / "small.png", _encoded(_noise(16, 20, 2)))
    with pytest.warns(UserWarning, match="2 of 3 images .* smaller than 32 px .* the smallest is tiny.png, 1 px"):
        check_images(find_images(tmp_path), skip_corrupt=False, resolution=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_images(find_images(tmp_path), skip_corrupt=False, resolution=1)  # remembered sizes, no warning
