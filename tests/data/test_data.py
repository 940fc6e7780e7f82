"""Data-set registry and loaders: shapes, MNIST/Fashion IDX, CIFAR-10 batches, CelebA layouts, conform."""

from __future__ import annotations

import gzip
import os
import pickle
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from formats import make_split, write_batch, write_idx
from PIL import Image

from gan_core.config import DATASET_NAMES, DataConfig
from gan_core.data import DATASETS, load_dataset
from gan_core.data.base import DATA_ENV, data_root
from gan_core.data.shapes import render_shapes
from gan_core.errors import DataError

REAL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"  # the lead's shared copy, when present


@pytest.fixture(autouse=True)
def _isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Never find (or download into) a real data folder from a test.
    root = tmp_path / "root"
    monkeypatch.setenv(DATA_ENV, str(root))
    return root


def test_registry_matches_config_names_and_has_descriptions() -> None:
    assert tuple(DATASETS) == DATASET_NAMES
    for spec in DATASETS.values():
        assert spec.description.endswith(".") and len(spec.description) > 20 and callable(spec.load)


def test_data_root_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert data_root() == tmp_path / "root"
    monkeypatch.delenv(DATA_ENV)
    assert data_root().name == "data" and (data_root().parent / "gan_core").is_dir()


def test_shapes_deterministic_by_seed() -> None:
    a = load_dataset(DataConfig(num_samples=12, seed=3))
    b = load_dataset(DataConfig(num_samples=12, seed=3))
    c = load_dataset(DataConfig(num_samples=12, seed=4))
    assert a.images.shape == (12, 3, 32, 32) and a.images.dtype == torch.uint8
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_shapes_triangles_are_pure_colors_on_black() -> None:
    d = load_dataset(DataConfig(shapes_mode="triangles", num_samples=30))
    assert d.shape == (3, 28, 28) and d.class_names == ["red", "green", "blue"]
    for img, label in zip(d.images, d.labels):
        others = [c for c in range(3) if c != int(label)]
        assert img[others].max() == 0  # only the label's channel is ever lit
        assert img[int(label)].max() == 255


def _one_shape(rng: np.random.Generator, size: int, mode: str) -> tuple[np.ndarray, int]:
    """The per-image renderer of earlier versions, pixel by pixel: what the vectorised one must reproduce."""
    s = size * 2
    gy, gx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
    if mode == "triangles":
        kind, label = 0, int(rng.integers(3))
        color, background = np.eye(3, dtype=np.float32)[label] * 255.0, np.zeros(3, dtype=np.float32)
    else:
        kind = label = int(rng.integers(3))
        color = rng.uniform(60, 255, 3).astype(np.float32)
        background = rng.uniform(0, 40, 3).astype(np.float32)
    r = rng.uniform(0.22, 0.42) * s
    cx, cy = rng.uniform(r * 0.8, s - r * 0.8, 2)
    angle = rng.uniform(0, 2 * np.pi)
    if kind == 0:
        a = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
        xs, ys = cx + r * np.cos(a), cy + r * np.sin(a)
        sides = np.stack([(xs[(i + 1) % 3] - xs[i]) * (gy - ys[i]) - (ys[(i + 1) % 3] - ys[i]) * (gx - xs[i])
                          for i in range(3)])
        mask = (sides >= 0).all(0) | (sides <= 0).all(0)
    elif kind == 1:
        c, sn = np.cos(angle), np.sin(angle)
        u, v = (gx - cx) * c + (gy - cy) * sn, -(gx - cx) * sn + (gy - cy) * c
        mask = (np.abs(u) <= r / np.sqrt(2)) & (np.abs(v) <= r / np.sqrt(2))
    else:
        mask = (gx - cx) ** 2 + (gy - cy) ** 2 <= (0.8 * r) ** 2
    cover = mask.astype(np.float32).reshape(size, 2, size, 2).mean((1, 3))
    img = background[:, None, None] * (1 - cover) + color[:, None, None] * cover
    return np.clip(np.round(img), 0, 255).astype(np.uint8), label


@pytest.mark.parametrize(("n", "size", "mode"), [(600, 32, "mixed"), (90, 28, "triangles"), (40, 64, "mixed")])
def test_vectorised_shapes_are_the_per_image_drawings_bit_for_bit(n: int, size: int, mode: str) -> None:
    # n = 600 spans two chunks of the renderer; every kind appears in each chunk.
    images, labels = render_shapes(n, size, mode, seed=7)
    rng = np.random.default_rng(7)
    expected = [_one_shape(rng, size, mode) for _ in range(n)]
    assert images.shape == (n, 3, size, size) and images.dtype == np.uint8
    assert np.array_equal(labels, [label for _, label in expected])
    assert np.array_equal(images, np.stack([img for img, _ in expected]))
    assert set(labels.tolist()) == {0, 1, 2}


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_like_from_idx_files(tmp_path: Path, name: str, gz: bool) -> None:
    images, labels = make_split(tmp_path / "idx", "train", 5, gz)
    d = load_dataset(DataConfig(name=name, data_dir=str(tmp_path / "idx"), download=False))
    assert d.images.shape == (5, 1, 28, 28) and d.images.is_contiguous()
    assert np.array_equal(d.images[:, 0].numpy(), images)
    assert d.labels.tolist() == labels.tolist() and d.labels.dtype == torch.int64
    assert d.notices == [] and d.name == name
    expected = "Ankle boot" if name == "fashion_mnist" else "9"
    assert len(d.class_names) == 10 and d.class_names[9] == expected


def test_torchvision_layout_in_data_root_keeps_sets_apart(_isolated_root: Path) -> None:
    make_split(_isolated_root / "FashionMNIST" / "raw", "train", 4, gz=True)
    d = load_dataset(DataConfig(name="fashion_mnist", download=False))
    assert len(d) == 4
    with pytest.raises(DataError):  # Fashion's files must not be taken for MNIST (same file names)
        load_dataset(DataConfig(name="mnist", download=False))


def test_train_split_preferred_and_test_split_noticed(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    make_split(folder, "test", 3, gz=True, seed=1)
    d = load_dataset(DataConfig(name="mnist", data_dir=str(folder), download=False))
    assert len(d) == 3
    assert len(d.notices) == 1 and "3-image test split" in d.notices[0] and str(folder) in d.notices[0]
    make_split(folder, "train", 6, gz=False)
    d = load_dataset(DataConfig(name="mnist", data_dir=str(folder), download=False))
    assert len(d) == 6 and d.notices == []


def test_missing_mnist_without_download_names_files_and_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("download must not be tried when download=False")

    monkeypatch.setattr(torchvision.datasets, "MNIST", never)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path), download=False))
    msg = str(err.value)  # the app's words: what is missing and the two fixes, no command-line flags
    for part in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", str(tmp_path), "downloading is off",
                 str(data_root() / "mnist"), "upload them on the Data page"):
        assert part in msg
    assert "--" not in msg
    cli = err.value.for_cli()  # the command line's words name its flag instead
    for part in ("train-images-idx3-ubyte", str(tmp_path), "--data-dir", "download is off"):
        assert part in cli


def test_download_failing_offline_is_a_data_error(_isolated_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    calls = []

    def offline(root: str, train: bool, download: bool) -> None:
        calls.append((root, download))
        (Path(root) / "FashionMNIST" / "raw").mkdir(parents=True)  # as torchvision does before it fetches
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="fashion_mnist"))
    assert calls == [(str(_isolated_root), True)]
    msg = str(err.value)
    assert msg.startswith("Fashion-MNIST could not be downloaded (no network connection?)")
    assert str(_isolated_root / "fashion_mnist") in msg and "upload them on the Data page" in msg
    for programmer_words in ("URLError", "no network>", "--data-dir", "Error"):
        assert programmer_words not in msg
    assert "the download failed: no network connection?" in err.value.for_cli() and "--data-dir" in err.value.for_cli()
    assert not (_isolated_root / "FashionMNIST").exists()  # no empty folder left to be listed (issue #20, item 9)


def test_torchvisions_download_error_becomes_plain_words(_isolated_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import torchvision.datasets

    def offline(root: str, train: bool, download: bool) -> None:  # as torchvision reports a failed mirror loop
        try:
            raise URLError(socket.gaierror(-2, "Name or service not known"))
        except URLError as exc:
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://x/, got:\n"
                               "<urlopen error [Errno -2] Name or service not known>") from exc

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="mnist"))
    msg = str(err.value)
    assert "MNIST could not be downloaded (no network connection?)" in msg
    assert "urlopen" not in msg and "RuntimeError" not in msg and "Errno" not in msg and "https" not in msg


@pytest.mark.parametrize(("exc", "words"), [
    (OSError(28, "No space left on device"), "the disk is full"),
    (RuntimeError("File not found or corrupted."), "damaged"),
    (ValueError("something odd"), "the download did not finish"),
])
def test_download_problems_in_plain_words(exc: Exception, words: str) -> None:
    from gan_core.data.sources import download_problem

    assert words in download_problem(exc)


def test_download_success_is_used_and_noticed(_isolated_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def fake(root: str, train: bool, download: bool) -> None:  # lays files out as torchvision does
        make_split(Path(root) / "MNIST" / "raw", "train", 7, gz=False)

    monkeypatch.setattr(torchvision.datasets, "MNIST", fake)
    d = load_dataset(DataConfig(name="mnist"))
    assert len(d) == 7 and any("Downloaded MNIST" in n for n in d.notices)


def test_missing_data_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path / "nope"), download=False))


def _idx_bytes(magic: int, dims: list[int], body: bytes) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + body


@pytest.mark.parametrize(
    "images, why",
    [
        (_idx_bytes(2049, [2, 28, 28], bytes(2 * 784)), "magic number 2049"),
        (_idx_bytes(2051, [2, 28, 28], bytes(784)), "truncated"),
        (_idx_bytes(2051, [2, 32, 32], bytes(2 * 1024)), "32x32"),
        (_idx_bytes(2051, [2, 28, 28], bytes(2 * 784 + 5)), "after the last item"),
        (b"\x1f\x8b" + b"garbage", "compressed data is damaged or cut short"),
        (gzip.compress(_idx_bytes(2051, [2, 28, 28], bytes(2 * 784)), mtime=0)[:-30],
         "compressed data is damaged or cut short"),
    ],
    ids=["labels-magic", "truncated", "32x32", "trailing-bytes", "not-gzip", "cut-gzip"],
)
def test_bad_idx_files_name_the_file(tmp_path: Path, images: bytes, why: str) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(2049, [2], bytes(2)))
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path), download=False))
    assert why in str(err.value) and "train-images-idx3-ubyte" in str(err.value)
    assert "Error" not in str(err.value)  # no exception class names (BadGzipFile, EOFError)


def test_image_and_label_counts_must_match(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8), gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8), gz=False)
    with pytest.raises(DataError, match="3 images but .* 2 labels"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path), download=False))


@pytest.mark.skipif(
    not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="real MNIST test files not present"
)
def test_real_mnist_test_split() -> None:
    d = load_dataset(DataConfig(name="mnist", data_dir=str(REAL_MNIST), download=False))
    assert d.images.shape == (10000, 1, 28, 28)
    assert d.labels[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    assert "test split" in d.notices[0]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_batches(tmp_path: Path, protocol: int) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    d1, l1 = write_batch(folder / "data_batch_1", 3, 0, protocol)
    d2, l2 = write_batch(folder / "data_batch_2", 2, 1, protocol)
    d = load_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path), download=False))
    assert d.images.shape == (5, 3, 32, 32) and d.class_names[0] == "airplane"
    assert d.labels.tolist() == l1 + l2
    # Each row is the R plane, then G, then B, row-major.
    assert np.array_equal(d.images[3, 1].numpy(), d2[0, 1024:2048].reshape(32, 32))
    assert "Only 2 of 5 training batches" in d.notices[0]


def test_cifar10_test_batch_only_is_noticed(tmp_path: Path) -> None:
    write_batch(tmp_path / "test_batch", 4, 0)
    d = load_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path), download=False))
    assert len(d) == 4 and "4-image test split" in d.notices[0]


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_cifar10_malicious_pickle_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    batch.parent.mkdir()
    batch.write_bytes(pickle.dumps({b"data": _Evil(marker), b"labels": [0]}))
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path), download=False))
    assert "refused" in str(err.value) and "code that would run" in str(err.value)
    assert "posix" not in str(err.value) and "system" not in str(err.value)  # no internals (issue #20, item 10)
    assert not marker.exists()


def test_cifar10_wrong_contents_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match="3072"):
        load_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path), download=False))
    import torchvision.datasets

    def offline(**kwargs: object) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError, match="CIFAR-10 could not be downloaded.*data_batch_1.*cifar-10-python.tar.gz"):
        load_dataset(DataConfig(name="cifar10", download=True))


def face(path: Path) -> None:
    """A 178 x 218 'aligned' image: red bands above and below the central 178 x 178 square, blue inside."""
    a = np.zeros((218, 178, 3), np.uint8)
    a[:, :, 2] = 255
    a[:12, :, :] = (255, 0, 0)  # the crop keeps rows 20-197; a margin keeps JPEG/Lanczos blur out of it
    a[-12:, :, :] = (255, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, quality=95)


@pytest.mark.parametrize("layout", ["celeba/img_align_celeba", "img_align_celeba", ".", "zip"])
def test_celeba_layouts_crop_to_the_face(tmp_path: Path, layout: str) -> None:
    base = tmp_path / "base"
    folder = base / ("img_align_celeba" if layout == "zip" else layout)
    for i in range(3):
        face(folder / f"{i:06d}.jpg")
    data_dir = base
    if layout == "zip":
        data_dir = tmp_path / "img_align_celeba.zip"
        with zipfile.ZipFile(data_dir, "w") as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f"img_align_celeba/{f.name}")
    d = load_dataset(DataConfig(name="celeba", data_dir=str(data_dir), image_size=32))
    assert d.images.shape == (3, 3, 32, 32) and d.labels is None
    # The red bands fall outside the square crop (squashing the whole image would keep them in the edge rows).
    red = d.images[:, 0].float()
    assert red[:, 0].max() < 100 and red[:, -1].max() < 100 and red.mean() < 10 and d.images[:, 2].min() > 200


def test_celeba_missing_tells_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(name="celeba", data_dir=str(tmp_path)))
    assert "img_align_celeba.zip" in str(err.value) and "--" not in str(err.value)
    assert "--data-dir" in err.value.for_cli()


def test_conform_resizes_and_converts_channels(tmp_path: Path) -> None:
    make_split(tmp_path, "train", 4, gz=True)
    d = load_dataset(
        DataConfig(name="mnist", data_dir=str(tmp_path), download=False, image_size=32, channels=3, max_images=3)
    )
    assert d.images.shape == (3, 3, 32, 32) and d.labels.shape == (3,)
    assert torch.equal(d.images[:, 0], d.images[:, 2])  # gray expanded to RGB
    write_batch(tmp_path / "c" / "data_batch_1", 2, 0)
    c = load_dataset(
        DataConfig(name="cifar10", data_dir=str(tmp_path / "c"), download=False, channels=1, image_size=16)
    )
    assert c.images.shape == (2, 1, 16, 16) and c.images.is_contiguous()


def test_native_sizes_round_to_the_nearest_supported_one_on_a_log_scale() -> None:
    from gan_core.data.base import SUPPORTED_SIZES, nearest_size

    assert [nearest_size(s) for s in SUPPORTED_SIZES] == list(SUPPORTED_SIZES)  # supported sizes stay
    assert [nearest_size(s) for s in (1, 16, 30, 45, 46, 90, 91, 200, 5000)] == [28, 28, 32, 32, 64, 64, 128, 128, 128]


def test_reading_the_shapes_cache_builds_no_ast(monkeypatch: pytest.MonkeyPatch) -> None:
    # The training thread reads it while Streamlit parses a page: on Python 3.11.7 two threads building ASTs at once
    # fail one of them ("AST constructor recursion depth mismatch"; np.load parses array headers with ast).
    import ast

    from gan_core.data import shapes

    cfg = DataConfig(num_samples=24, seed=9)
    first = load_dataset(cfg)

    def no_ast(*args: object, **kwargs: object) -> None:
        raise AssertionError("drawn again despite the cache")

    parsed = []
    with monkeypatch.context() as patch:  # undone before the assertion (pytest's report parses with ast)
        patch.setattr(ast, "parse", lambda *args, **kwargs: parsed.append(args))
        patch.setattr(shapes, "render_shapes", no_ast)  # read, not drawn again
        again = load_dataset(cfg)
    assert parsed == [] and torch.equal(again.images, first.images)


def test_shapes_are_drawn_once_then_read_from_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_core.data import shapes

    cfg = DataConfig(num_samples=40, seed=5)
    first = load_dataset(cfg)
    path = shapes.cache_path(40, 32, "mixed", 5)
    assert path.is_file() and path.parent.parent == data_root()

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("drawn again despite the cache")

    with monkeypatch.context() as patch:
        patch.setattr(shapes, "render_shapes", boom)
        again = load_dataset(cfg)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    path.write_bytes(b"not a cache file")  # a damaged cache is drawn again and rewritten
    assert torch.equal(load_dataset(cfg).images, first.images) and shapes._cached(path, 40, 32) is not None


def test_drawing_a_set_deletes_the_drawings_no_version_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_core.data import shapes

    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    folder = tmp_path / "shapes"
    folder.mkdir()
    stale = [folder / "mixed-32px-10000-seed0-r1.npz", folder / "mixed-32px-40-seed5-r0.pt"]
    kept = [folder / "mixed-64px-10000-seed0-r1.pt", folder / ".tmp-abc.pt", folder / "notes.txt"]
    for f in stale + kept:
        f.write_bytes(b"x")
    load_dataset(DataConfig(num_samples=12, seed=3))
    assert shapes.cache_path(12, 32, "mixed", 3).is_file()
    assert [f.exists() for f in stale] == [False, False] and all(f.exists() for f in kept)
