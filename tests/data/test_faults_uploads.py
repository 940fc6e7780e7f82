"""Hostile and odd inputs for the folder set: zip slips, zip bombs, broken and exotic images, uploads."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data import folder as folder_mod
from gan_core.data import load_dataset
from gan_core.data.folder import decode_image, extract_zip, native_shape, save_uploads, scan_images
from gan_core.data.uploads import upload_label, upload_names
from gan_core.errors import DataError


def png(color: tuple[int, ...] = (10, 200, 30), size: tuple[int, int] = (20, 12), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def all_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, names in os.walk(root) for f in names]


def make_zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def test_zip_slip_absolute_drive_and_symlink_entries_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    absolute = str(tmp_path / "abs.png")
    z = make_zip(tmp_path / "evil.zip", [
        ("ok/a.png", png()), ("../slip.png", png()), ("ok/../../slip2.png", png()), ("..\\win.png", png()),
        (absolute, png()), ("C:/drive.png", png()), (link, b"../../../etc/passwd"),
    ])
    dest = tmp_path / "out" / "dest"
    report = extract_zip(z, dest)
    assert report.extracted == 1 and (dest / "ok" / "a.png").read_bytes() == png()
    refused = dict(report.refused)
    assert set(refused) == {"../slip.png", "ok/../../slip2.png", "..\\win.png", absolute, "C:/drive.png", "link.png"}
    assert refused["link.png"] == "symbolic link" and refused[absolute] == "absolute path"
    assert all_files(tmp_path / "out") == [dest / "ok" / "a.png"]  # nothing else written anywhere below out/
    assert not (tmp_path / "slip.png").exists() and not (tmp_path / "abs.png").exists()
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def _bomb_entries(n_bytes: int) -> list[tuple[str, bytes]]:
    return [("first.png", png()), ("zeros.bin", bytes(n_bytes))]


def test_zip_bomb_stops_and_leaves_nothing(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "bomb.zip", _bomb_entries(50 * 2**20))
    assert z.stat().st_size < 200_000  # 50 MB of zeros compress to almost nothing
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="MB"):
        extract_zip(z, dest, max_bytes=2**20)
    assert not dest.exists()


def _lie_about_size(data: bytes, name: bytes, claimed: int) -> bytes:
    """Patch the uncompressed size of entry `name` in both its local header and the central directory."""
    out = bytearray(data)
    for sig, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = out.find(sig)
        while pos != -1:
            if out[pos + name_at : pos + name_at + len(name)] == name:
                out[pos + offset : pos + offset + 4] = struct.pack("<I", claimed)
            pos = out.find(sig, pos + 4)
    return bytes(out)


@pytest.mark.parametrize("max_bytes", [2**20, 2**31])
def test_lying_size_header_is_not_trusted(tmp_path: Path, max_bytes: int) -> None:
    z = make_zip(tmp_path / "liar.zip", _bomb_entries(8 * 2**20))
    z.write_bytes(_lie_about_size(z.read_bytes(), b"zeros.bin", 10))
    assert zipfile.ZipFile(z).getinfo("zeros.bin").file_size == 10  # the header now claims 10 bytes
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("kept")  # files that were there before must survive the clean-up
    with pytest.raises(DataError):
        extract_zip(z, dest, max_bytes=max_bytes)
    assert all_files(dest) == [dest / "mine.txt"]  # first.png (written before the failure) was removed


def test_too_many_entries_and_too_deep(tmp_path: Path) -> None:
    many = make_zip(tmp_path / "many.zip", [(f"{i}.png", png()) for i in range(6)])
    with pytest.raises(DataError, match="6 entries"):
        extract_zip(many, tmp_path / "d1", max_entries=5)
    assert extract_zip(many, tmp_path / "d2", max_entries=6).extracted == 6
    deep = make_zip(tmp_path / "deep.zip", [("a/b/c/d/x.png", png())])
    with pytest.raises(DataError, match="5 deep"):
        extract_zip(deep, tmp_path / "d3", max_depth=4)
    assert not (tmp_path / "d1").exists() and not (tmp_path / "d3").exists()


def test_not_a_zip_is_a_data_error(tmp_path: Path) -> None:
    fake = tmp_path / "x.zip"
    fake.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="not a readable zip") as err:
        extract_zip(fake, tmp_path / "d")
    assert "File is not a zip file" not in str(err.value)  # Python's words, not ours (issue #20, item 10)
    with pytest.raises(DataError, match="not a .zip"):
        load_dataset(DataConfig(name="folder", data_dir=str(fake)))


def test_save_uploads_sanitizes_names_and_unpacks_zips(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "p.zip", [("a.png", png()), ("../b.png", png())])
    dest = tmp_path / "up" / "dest"
    got = save_uploads([("../../evil.png", png()), ("photos.zip", z.read_bytes()), ("evil.png", b"x")], dest)
    assert got == dest
    names = sorted(str(p.relative_to(dest)) for p in all_files(dest))
    # no ../b.png, no leftover zip; the hidden names file keeps what the user chose, for messages
    assert names == [".upload.json", "evil.png", "evil_1.png", "photos/a.png"]
    assert upload_names(dest) == ["../../evil.png", "photos.zip", "evil.png"]
    assert upload_label(dest) == "your upload (../../evil.png, photos.zip, evil.png)" and upload_label(tmp_path) is None
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "b.png").exists()
    d = load_dataset(DataConfig(name="folder", data_dir=str(got), image_size=16))
    assert d.images.shape == (2, 3, 16, 16) and "1 not an image" in d.notices[1]
    assert d.notices[0] == "1 unsafe zip member dropped: ../b.png (path leaves the folder (..))."


def _bomb_png() -> bytes:
    """A valid 1x1 PNG whose IHDR claims 60000 x 60000 pixels (CRC fixed, so only the size check stops it)."""
    data = bytearray(png(size=(1, 1)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 60000, 60000)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)  # noise, so the file is big enough that a cut loses real data
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def test_broken_and_foreign_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(png())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.jpg").write_bytes(_jpeg())
    (tmp_path / "truncated.jpg").write_bytes(_jpeg()[:1500])
    (tmp_path / "text.png").write_text("hello, I am not a picture")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("RGB", (8, 8)).save(tmp_path / "tiff.png", format="TIFF")  # the content, not the name, decides
    (tmp_path / "bomb.png").write_bytes(_bomb_png())
    (tmp_path / ".hidden.png").write_bytes(b"junk")  # dotfiles are not the user's images: ignored silently
    progress: list[tuple[float, str]] = []
    images, skipped = scan_images(tmp_path, 16, 3, progress=lambda f, m: progress.append((f, m)))
    assert images.shape == (2, 3, 16, 16)
    reasons = dict(skipped)
    assert set(reasons) == {"truncated.jpg", "text.png", "empty.png", "tiff.png", "bomb.png"}
    assert reasons["truncated.jpg"].startswith("truncated or corrupt")
    assert reasons["text.png"] == "not an image" and reasons["empty.png"] == "empty file"
    assert reasons["tiff.png"] == "unsupported format (TIFF)"
    assert reasons["bomb.png"].startswith("too large")
    assert progress and all(0.0 <= f <= 1.0 for f, _ in progress)
    d = load_dataset(DataConfig(name="folder", data_dir=str(tmp_path), image_size=16))
    assert d.notices[0].startswith("Skipped 5 of 7 files:") and "1 truncated or corrupt" in d.notices[0]
    assert "Skipped tiff.png: unsupported format (TIFF)" in d.notices


def test_pixel_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.png").write_bytes(png(size=(12, 12)))  # 144 px: Pillow warns (over the limit)
    (tmp_path / "b.png").write_bytes(png(size=(20, 20)))  # 400 px: Pillow raises (over twice the limit)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    images, skipped = scan_images(tmp_path, 8, 3)
    assert len(images) == 0 and [r for _, r in skipped] == ["too large (decompression bomb)"] * 2
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10**9)
    monkeypatch.setattr(folder_mod, "MAX_PIXELS", 200)  # our own, tighter cap
    images, skipped = scan_images(tmp_path, 8, 3)
    assert len(images) == 1 and skipped == [("b.png", "too large (20x20 pixels)")]


def test_no_usable_image_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("text")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="folder", data_dir=str(tmp_path)))
    assert (
        "No usable images" in str(err.value) and "Supported: png, jpg" in str(err.value) and "a.txt" in str(err.value)
    )
    (tmp_path / "a.txt").unlink()
    with pytest.raises(DataError, match="the folder has no files"):
        load_dataset(DataConfig(name="folder", data_dir=str(tmp_path)))


def test_an_uploaded_zip_says_how_many_unsafe_members_it_dropped_and_why(tmp_path: Path) -> None:
    unsafe = [("../../evil.png", png()), ("/tmp/abs.png", png())]
    mixed = make_zip(tmp_path / "mixed.zip", [*unsafe, ("good.png", png())])
    dest = save_uploads([("mixed.zip", mixed.read_bytes())], tmp_path / "up")
    d = load_dataset(DataConfig(name="folder", data_dir=str(dest), image_size=16))
    assert len(d.images) == 1
    assert d.notices[0] == ("2 unsafe zip members dropped: ../../evil.png (path leaves the folder (..)); "
                            "/tmp/abs.png (absolute path).")
    only = make_zip(tmp_path / "only.zip", unsafe)
    dest = save_uploads([("only.zip", only.read_bytes())], tmp_path / "up2")
    with pytest.raises(DataError) as err:  # the members were there: refused, not missing
        load_dataset(DataConfig(name="folder", data_dir=str(dest)))
    assert "has no images" not in str(err.value)
    assert "your upload (only.zip): every member of the zip was unsafe" in str(err.value)
    assert "2 unsafe zip members dropped" in str(err.value)


def test_an_empty_zip_says_so_and_messages_name_the_upload_not_its_folder(tmp_path: Path) -> None:
    empty = make_zip(tmp_path / "holiday.zip", [])
    with pytest.raises(DataError) as err:  # a zip chosen by path
        load_dataset(DataConfig(name="folder", data_dir=str(empty)))
    assert "the zip file has no images" in str(err.value) and "holiday.zip" in str(err.value)
    assert "gan-workbench-zip-" not in str(err.value)  # no temporary folder
    dest = tmp_path / "uploads" / "c50c964b21ba" / "0123456789abcdef"
    save_uploads([("holiday.zip", empty.read_bytes())], dest)
    with pytest.raises(DataError) as err:  # the same zip uploaded
        load_dataset(DataConfig(name="folder", data_dir=str(dest)))
    assert "your upload (holiday.zip)" in str(err.value) and "the zip file has no images" in str(err.value)
    assert str(dest) not in str(err.value) and "c50c964b21ba" not in str(err.value)
    with pytest.raises(DataError) as err:  # a broken zip uploaded: named as the user named it
        save_uploads([("broken.zip", b"PK\x03\x04 not really")], tmp_path / "up2")
    assert "broken.zip" in str(err.value) and ".part" not in str(err.value) and str(tmp_path) not in str(err.value)


def test_native_keeps_the_images_size_and_greyscale(tmp_path: Path) -> None:
    for i in range(5):  # 28 x 28 greyscale, as the finding's 200 PNGs
        (tmp_path / f"g{i}.png").write_bytes(png(i * 40, (28, 28), "L"))
    d = load_dataset(DataConfig(name="folder", data_dir=str(tmp_path)))  # image_size and channels None: native
    assert d.images.shape == (5, 1, 28, 28) and d.notices == []
    assert d.images[2].unique().tolist() == [80]  # pixels kept, not resampled
    (tmp_path / "c.png").write_bytes(png((200, 10, 10), (28, 28)))  # one color image: the set is RGB
    assert native_shape(sorted(tmp_path.iterdir()))[1] == 3
    d = load_dataset(DataConfig(name="folder", data_dir=str(tmp_path), channels=1))  # an explicit choice wins
    assert d.images.shape == (6, 1, 28, 28)


def test_native_size_rounds_to_the_nearest_supported_size(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(png((9, 99, 199), (300, 200)))  # shorter side 200
    assert native_shape(sorted(tmp_path.iterdir())) == (128, 3, 200)
    d = load_dataset(DataConfig(name="folder", data_dir=str(tmp_path)))
    assert d.images.shape == (3, 3, 128, 128)
    assert "200 pixels" in d.notices[0] and "128 x 128" in d.notices[0]
    d = load_dataset(DataConfig(name="folder", data_dir=str(tmp_path), image_size=32))
    assert d.images.shape == (3, 3, 32, 32) and d.notices == []


def _save(im: Image.Image, path: Path, **kw: object) -> Path:
    im.save(path, **kw)
    return path


def test_every_mode_becomes_uniform_uint8(tmp_path: Path) -> None:
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 10, 5))  # top half index 1 (blue), bottom index 0 (red, made transparent)
    i16 = Image.fromarray(np.full((6, 6), 32896, np.uint16))  # 32896 / 257 = 128
    cases = {
        "L": (_save(Image.new("L", (9, 7), 77), tmp_path / "l.png"), (77, 77, 77)),
        "1": (_save(Image.new("1", (9, 7), 1), tmp_path / "one.png"), (255, 255, 255)),
        "LA": (_save(Image.new("LA", (9, 7), (200, 0)), tmp_path / "la.png"), (0, 0, 0)),  # fully transparent
        "RGBA": (_save(Image.new("RGBA", (9, 7), (255, 100, 0, 128)), tmp_path / "rgba.png"), (128, 50, 0)),
        "CMYK": (_save(Image.new("CMYK", (9, 7), (0, 0, 0, 0)), tmp_path / "cmyk.jpg", quality=95), (255, 255, 255)),
        "I;16": (_save(i16, tmp_path / "i16.png"), (128, 128, 128)),
        "WEBP": (_save(Image.new("RGB", (9, 7), (0, 0, 255)), tmp_path / "x.webp", lossless=True), (0, 0, 255)),
        "BMP": (_save(Image.new("RGB", (9, 7), (0, 255, 0)), tmp_path / "x.bmp"), (0, 255, 0)),
    }
    for mode, (path, rgb) in cases.items():
        out = decode_image(path, 8, 3)
        assert out.shape == (3, 8, 8) and out.dtype == np.uint8, mode
        assert np.abs(out.reshape(3, -1).astype(int) - np.array(rgb)[:, None]).max() <= 3, (mode, out[:, 0, 0])
    p = _save(pal, tmp_path / "p.png", transparency=0)
    out = decode_image(p, 10, 3)
    assert tuple(out[:, 1, 5]) == (0, 0, 255) and tuple(out[:, 8, 5]) == (0, 0, 0)  # transparent -> black
    gray = decode_image(cases["RGBA"][0], 8, 1)
    assert gray.shape == (1, 8, 8) and abs(int(gray[0, 0, 0]) - round(0.299 * 128 + 0.587 * 50)) <= 1


def test_32bit_and_float_modes_scale_to_8_bits() -> None:
    i32 = folder_mod._pixels(Image.fromarray(np.full((4, 4), 65535, np.int32)))
    f01 = folder_mod._pixels(Image.fromarray(np.full((4, 4), 0.5, np.float32)))
    assert i32.mode == f01.mode == "L"
    assert np.asarray(i32).max() == 255 and np.asarray(f01).max() == 128


def test_tiny_extreme_and_animated_images(tmp_path: Path) -> None:
    one = _save(Image.new("RGB", (1, 1), (9, 99, 199)), tmp_path / "one.png")
    assert np.array_equal(
        decode_image(one, 8, 3), np.broadcast_to(np.array([9, 99, 199], np.uint8)[:, None, None], (3, 8, 8))
    )
    strip = np.zeros((3, 1000, 3), np.uint8)
    strip[:, :480] = (255, 0, 0)
    strip[:, 480:520] = (0, 255, 0)  # the center 3 x 3 lies in the green part
    strip[:, 520:] = (0, 0, 255)
    out = decode_image(_save(Image.fromarray(strip), tmp_path / "strip.png"), 8, 3)
    assert out.shape == (3, 8, 8) and out[1].min() == 255 and out[0].max() == 0 and out[2].max() == 0
    frames = [Image.new("RGB", (6, 6), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(gif) as check:
        assert check.n_frames == 2
    out = decode_image(gif, 8, 3)
    assert out[0].min() > 240 and out[2].max() < 15  # the first (red) frame


def test_folder_zip_is_loaded_and_refusals_noticed(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "imgs.zip", [("x/a.png", png()), ("x/b.png", png((0, 0, 0))), ("../c.png", png())])
    d = load_dataset(DataConfig(name="folder", data_dir=str(z), image_size=8, channels=1, max_images=5))
    assert d.images.shape == (2, 1, 8, 8) and d.labels is None
    assert d.notices == ["1 unsafe zip member dropped: ../c.png (path leaves the folder (..))."]
    capped = load_dataset(DataConfig(name="folder", data_dir=str(z), image_size=8, max_images=1))
    assert capped.images.shape == (1, 3, 8, 8)
