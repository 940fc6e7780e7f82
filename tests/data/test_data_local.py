"""Uploaded MNIST / Fashion-MNIST / CIFAR-10 files land where the loaders look; the data root's folders are listed."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from formats import make_split, write_batch

from gan_core.config import DataConfig
from gan_core.data import load_dataset, local
from gan_core.data.base import DATA_ENV
from gan_core.data.local import data_folders, install_files, install_folder
from gan_core.errors import DataError


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "root"
    monkeypatch.setenv(DATA_ENV, str(root))
    return root


def read_all(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]


def test_uploaded_mnist_gz_files_are_installed_and_loaded(tmp_path: Path, root: Path) -> None:
    images, labels = make_split(tmp_path / "src", "train", 9, gz=True, seed=1)
    make_split(tmp_path / "src", "test", 4, gz=True, seed=2)
    names = install_files("mnist", read_all(tmp_path / "src"))
    assert sorted(names) == sorted(p.name for p in (tmp_path / "src").iterdir())
    assert install_folder("mnist") == root / "mnist"
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(names)  # no temp files left
    d = load_dataset(DataConfig(name="mnist", download=False))  # no folder named: the data root's mnist/ is found
    assert len(d) == 9 and np.array_equal(d.images[:, 0].numpy(), images) and d.labels.tolist() == labels.tolist()
    assert [(f.name, f.holds) for f in data_folders()] == [("mnist", "MNIST, ready (training split)")]


def test_a_zip_of_kaggle_spelled_plain_files_is_installed_for_fashion(tmp_path: Path, root: Path) -> None:
    images, _ = make_split(tmp_path / "src", "test", 5, gz=False, seed=3)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in (tmp_path / "src").iterdir():  # "t10k-images.idx3-ubyte" as Kaggle names them, inside a folder
            zf.write(p, "archive/" + p.name.replace("-idx", ".idx"))
        zf.writestr("archive/readme.txt", "not data")
    assert sorted(install_files("fashion_mnist", [("fashion.zip", buf.getvalue())])) == [
        "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"]
    d = load_dataset(DataConfig(name="fashion_mnist", download=False))
    assert len(d) == 5 and np.array_equal(d.images[:, 0].numpy(), images) and "test split" in d.notices[0]
    assert [(f.name, f.holds) for f in data_folders()] == [("fashion_mnist", "Fashion-MNIST, ready (test split only)")]


def test_the_cifar_archive_is_unpacked_into_the_batches_folder(tmp_path: Path, root: Path) -> None:
    d1, l1 = write_batch(tmp_path / "src" / "data_batch_1", 3, 0)
    write_batch(tmp_path / "src" / "test_batch", 2, 1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:  # the official layout, plus a hostile name
        tf.add(tmp_path / "src" / "data_batch_1", "cifar-10-batches-py/data_batch_1")
        tf.add(tmp_path / "src" / "test_batch", "cifar-10-batches-py/test_batch")
        tf.add(tmp_path / "src" / "test_batch", "../../data_batch_2")
    names = install_files("cifar10", [("cifar-10-python.tar.gz", buf.getvalue())])
    assert sorted(names) == ["data_batch_1", "data_batch_2", "test_batch"]
    assert not (tmp_path / "data_batch_2").exists() and (root / "cifar-10-batches-py" / "data_batch_2").is_file()
    d = load_dataset(DataConfig(name="cifar10", download=False))
    assert len(d) == 5 and d.labels[:3].tolist() == l1  # data_batch_1 then data_batch_2
    assert data_folders()[0].holds == "CIFAR-10, ready (training batches)"


def test_a_bad_upload_is_refused_by_its_name_and_keeps_the_good_file(tmp_path: Path, root: Path) -> None:
    make_split(tmp_path / "src", "train", 6, gz=True)
    install_files("mnist", read_all(tmp_path / "src"))
    good = (root / "mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    cut = gzip.compress(gzip.decompress(good)[:100])  # a header promising 6 images, then 84 bytes
    with pytest.raises(DataError) as err:
        install_files("mnist", [("train-images-idx3-ubyte.gz", cut)])
    msg = str(err.value)
    assert msg.startswith("train-images-idx3-ubyte.gz is not a valid IDX file") and "truncated" in msg
    assert str(root) not in str(err.value)  # the upload's name, not a temp path
    assert (root / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == good
    assert sorted(p.name for p in (root / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_uploads_that_are_not_the_set_say_which_files_are_wanted(root: Path) -> None:
    with pytest.raises(DataError, match="None of the uploaded files is a CIFAR-10 file: upload cifar-10-python.tar.gz"):
        install_files("cifar10", [("cat.png", b"\x89PNG")])
    with pytest.raises(DataError, match="broken.zip is not a readable archive"):
        install_files("mnist", [("broken.zip", b"PK not a zip")])
    assert not (root / "mnist").exists() or not any((root / "mnist").iterdir())


def test_data_folders_name_what_they_hold(root: Path) -> None:
    assert data_folders() == []  # no data root yet
    (root / "uploads" / "s1" / "d1").mkdir(parents=True)
    (root / "uploads" / "s1" / "d2").mkdir()
    (root / "mnist").mkdir()
    (root / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"x")  # the labels are missing
    (root / "mine").mkdir()
    (root / "mine" / "a.png").write_bytes(b"x")
    (root / ".hidden").mkdir()
    (root / "shapes").mkdir()  # the app's own caches are named as such, with their file counts
    (root / "shapes" / "mixed.pt").write_bytes(b"x")
    (root / "stats").mkdir()
    assert [(f.name, f.holds) for f in data_folders()] == [
        ("mine", "1 entry"), ("mnist", "incomplete: some files are missing"),
        ("shapes", "the app's cache of drawn shapes (1 file; made again when needed)"),
        ("stats", "the app's cache of the quality score's real statistics and classifiers (0 files; made again when "
                  "needed)"),
        ("uploads", "your uploaded images (2 uploads)")]


@pytest.mark.parametrize("archive", ["mnist.zip", "mnist.tar.gz"])
def test_an_archive_member_over_the_size_cap_is_skipped_unread(tmp_path: Path, root: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, archive: str) -> None:
    """MAX_MEMBER_BYTES: a member that would unpack to more (a zip bomb) is never read; smaller members still are."""
    make_split(tmp_path / "src", "train", 50, gz=False, seed=4)  # images 16 + 50 * 784 bytes, labels 8 + 50 bytes
    files = {p.name: p for p in (tmp_path / "src").iterdir()}
    labels = next(n for n in files if "labels" in n)
    monkeypatch.setattr(local, "MAX_MEMBER_BYTES", files[labels].stat().st_size)  # the labels fit, the images not
    buf = io.BytesIO()
    if archive.endswith(".zip"):
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, p in files.items():
                zf.write(p, name)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for name, p in files.items():
                tf.add(p, name)
    assert install_files("mnist", [(archive, buf.getvalue())]) == [labels]
    assert sorted(p.name for p in (root / "mnist").iterdir()) == [labels]
    monkeypatch.setattr(local, "MAX_MEMBER_BYTES", files[labels].stat().st_size - 1)  # nothing fits: refused
    with pytest.raises(DataError, match="None of the uploaded files"):
        install_files("mnist", [(archive, buf.getvalue())])


def test_a_mix_of_sizes_is_named_by_a_side_some_image_has(tmp_path: Path) -> None:
    """Issue #20, item 9: 28 px and 48 px images were called '38 pixels on their shorter side'."""
    from PIL import Image

    from gan_core.data.folder import native_shape

    files = []
    for i, side in enumerate((28, 48)):
        files.append(tmp_path / f"{i}.png")
        Image.new("L", (side, side)).save(files[-1])
    assert native_shape(files)[2] in (28, 48)


def test_a_refused_upload_leaves_no_empty_folder(root: Path) -> None:
    """Issue #20, item 9: a refused CIFAR-10 upload left an empty data/cifar-10-batches-py/, listed as a set."""
    with pytest.raises(DataError):
        install_files("cifar10", [("data_batch_1", b"not a pickled batch")])
    assert not install_folder("cifar10").exists()
    assert all(f.name != "cifar-10-batches-py" for f in data_folders())
