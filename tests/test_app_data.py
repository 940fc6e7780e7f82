"""AppTest of the Data page: per-set widgets, shapes preview, folder errors, uploads, offline sets, carry-over."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import open_page, wait_until
from PIL import Image
from streamlit.testing.v1 import AppTest

import gan_core.train.trainer
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")
DATA_PAGE = "pages/1_Data.py"


def data_page() -> AppTest:
    return open_page(DATA_PAGE, "Data")


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def test_every_data_set_is_offered_with_its_own_options() -> None:
    at = data_page()
    assert at.selectbox(key="data_name").options == [
        "Shapes (synthetic, no download)", "MNIST digits", "Fashion-MNIST", "CIFAR-10", "CelebA faces",
        "Your own images", "Stacked MNIST (1,000 modes)", "2-D ring (8 modes)", "2-D grid (25 modes)", "2-D spiral",
        "2-D moons"]
    assert at.radio(key="data_shapes_mode").value == "mixed" and at.number_input(key="data_num_samples").value == 10_000
    at.selectbox(key="data_name").set_value("cifar10").run()
    assert at.text_input(key="data_dir_cifar10").value == "" and at.checkbox(key="data_download").value is True
    at.selectbox(key="data_name").set_value("folder").run()
    uploader = at.file_uploader(key="data_upload_files")
    assert uploader.accept_multiple_files and ".zip" in uploader.allowed_type
    assert at.text_input(key="data_dir_folder").value == ""
    at.selectbox(key="data_name").set_value("ring").run()  # 2-D points: only their count
    assert at.number_input(key="data_num_points").value == 100_000
    at.button(key="data_load_btn").click().run()
    assert not at.exception and [m.value for m in at.metric][:2] == ["100,000", "8"]


def test_shapes_preview_shows_count_size_and_real_images() -> None:
    at = data_page()
    at.radio(key="data_shapes_mode").set_value("triangles")
    at.number_input(key="data_num_samples").set_value(256)
    at.selectbox(key="data_image_size_shapes").set_value("28")
    at.button(key="data_load_btn").click().run()
    assert not at.exception and not at.error
    assert any("**256 images** of 28 x 28 pixels, 3 channels" in m.value for m in at.markdown)
    assert [m.value for m in at.metric][:3] == ["256", "28 x 28", "RGB (3)"]
    assert len(at.image) == 1  # the grid of real images
    chosen = at.session_state["data_config"]
    assert (chosen["name"], chosen["shapes_mode"], chosen["num_samples"], chosen["image_size"]) == (
        "shapes", "triangles", 256, 28)


def test_missing_folder_is_an_error_message_not_a_traceback() -> None:
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.text_input(key="data_dir_folder").set_value("/no/such/folder/anywhere")
    at.button(key="data_load_btn").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "does not exist" in at.error[0].value
    assert "data_config" not in at.session_state  # a failed load does not become the choice


def test_uploaded_images_are_loaded_and_bad_files_reported() -> None:
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.file_uploader(key="data_upload_files").set_value([
        ("red.png", png((255, 0, 0)), "image/png"), ("blue.png", png((0, 0, 255)), "image/png"),
        ("broken.png", b"not an image at all", "image/png")])
    at.selectbox(key="data_image_size_folder").set_value("32")
    at.button(key="data_load_btn").click().run()
    assert not at.exception and not at.error
    assert any("**2 images** of 32 x 32" in m.value for m in at.markdown)
    assert any("Skipped 1 of 3 files" in w.value for w in at.warning)
    chosen = at.session_state["data_config"]
    assert chosen["name"] == "folder" and Path(chosen["data_dir"]).is_dir()
    assert sorted(p.name for p in Path(chosen["data_dir"]).iterdir()) == [
        ".upload.json", "blue.png", "broken.png", "red.png"]


def test_offline_set_without_local_files_says_where_to_put_them() -> None:
    at = data_page()
    at.selectbox(key="data_name").set_value("mnist").run()
    at.checkbox(key="data_download").uncheck()  # no network in tests: same path as an offline machine
    at.button(key="data_load_btn").click().run()
    assert not at.exception
    msg = at.error[0].value
    assert len(at.error) == 1 and "MNIST was not found and downloading is off" in msg
    assert "upload them on the Data page" in msg and "--" not in msg  # the two fixes, no command-line flag
    assert at.text_input(key="data_dir_mnist").value == ""  # ...and the box to point at local files is right there


def test_chosen_data_carries_over_to_the_train_page() -> None:
    at = data_page()
    at.radio(key="data_shapes_mode").set_value("triangles")
    at.number_input(key="data_num_samples").set_value(128)
    at.button(key="data_load_btn").click().run()
    at.switch_page("pages/2_Train.py").run()
    assert not at.exception
    assert at.selectbox(key="train_preset").value == "shapes-default"
    assert any("shapes, triangles, 128 images" in c.value for c in at.caption)
    at.switch_page(DATA_PAGE).run()  # and the Data page still shows the choice
    assert at.radio(key="data_shapes_mode").value == "triangles"
    assert at.number_input(key="data_num_samples").value == 128


def test_training_reuses_the_loaded_data_instead_of_loading_again(monkeypatch: pytest.MonkeyPatch) -> None:
    at = data_page()
    at.number_input(key="data_num_samples").set_value(64)
    at.selectbox(key="data_image_size_shapes").set_value("32")  # the size the shapes-default recipe trains at
    at.button(key="data_load_btn").click().run()

    def no_second_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the training thread loaded the data set again")

    monkeypatch.setattr(gan_core.train.trainer, "load_dataset", no_second_load)
    at.switch_page("pages/2_Train.py").run()
    at.text_input(key="train_steps").set_value("2")
    at.text_input(key="train_batch_size").set_value("16")
    at.text_input(key="train_run_name").set_value("reuse")
    at.button(key="train_start_btn").click().run()
    job = job_registry().get("reuse")
    wait_until(lambda: not job.alive, what="the two-step run")
    assert job.snapshot().status == "done", job.snapshot().error


def _gray_png(value: int, side: int = 28) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (side, side), value).save(buf, "PNG")
    return buf.getvalue()


def test_uploaded_greyscale_images_load_at_their_native_size_and_channels() -> None:
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    assert (at.selectbox(key="data_image_size_folder").value == "native"
            and at.selectbox(key="data_channels_folder").value == "native")
    files = [(f"digit{i}.png", _gray_png(20 * i), "image/png") for i in range(6)]
    at.file_uploader(key="data_upload_files").set_value(files).run()
    # Before Load: the server's word that the files arrived (the browser tests wait for it before clicking).
    assert "Received 6 files: digit0.png, digit1.png, digit2.png and 3 more." in [c.value for c in at.caption]
    at.button(key="data_load_btn").click().run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric][:3] == ["6", "28 x 28", "grayscale (1)"]  # was 64 x 64 RGB
    chosen = at.session_state["data_config"]
    assert (chosen["image_size"], chosen["channels"]) == (None, None)  # the choice made, not the loaded shape
    at.switch_page("pages/2_Train.py").run()  # the choice is named by its files, not by its folder
    assert at.selectbox(key="train_preset").value == "folder-default"
    lines = [c.value for c in at.caption] + [w.value for w in at.warning]  # the recipe's data set line
    line = next((text for text in lines if "your upload" in text), f"no line names the upload: {lines}")
    assert "your upload (digit0.png, digit1.png, digit2.png and 3 more), 28x28 greyscale (native)" in line
    assert "/uploads/" not in line and "64x64" not in " ".join(lines)
    assert "Your own images are on this machine." in line  # not "Your own images is" (issue #20, item 10)


def test_one_uploaded_image_is_one_image_not_one_images() -> None:
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.file_uploader(key="data_upload_files").set_value([("one.png", _gray_png(90), "image/png")])
    at.button(key="data_load_btn").click().run()
    assert any(m.value.startswith("**1 image** of 28 x 28 pixels") for m in at.markdown)


def test_a_reload_keeps_native_and_the_upload_and_never_shows_a_server_path() -> None:
    """Issue #20, item 1: after a reload the Data form showed the loaded 64 x 64 RGB and an upload path, the next
    upload loaded at that size, and MNIST inherited it."""
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.file_uploader(key="data_upload_files").set_value(
        [(f"digit{i}.png", _gray_png(20 * i), "image/png") for i in range(4)])
    at.button(key="data_load_btn").click().run()
    assert not at.error

    reloaded = data_page()  # a new session: the remembered choice is restored
    assert reloaded.selectbox(key="data_name").value == "folder"
    assert reloaded.selectbox(key="data_image_size_folder").value == "native"
    assert reloaded.selectbox(key="data_channels_folder").value == "native"
    assert reloaded.text_input(key="data_dir_folder").value == ""  # not the server's upload folder
    page_text = " ".join(c.value for c in reloaded.caption)
    assert "Using your upload (digit0.png, digit1.png, digit2.png and 1 more)" in page_text
    assert "/uploads/" not in page_text
    assert not any("differ from the chosen data set" in c.value for c in reloaded.caption)
    reloaded.button(key="data_load_btn").click().run()  # loads the kept upload again, still native
    assert not reloaded.error and [m.value for m in reloaded.metric][:3] == ["4", "28 x 28", "grayscale (1)"]

    reloaded.selectbox(key="data_name").set_value("mnist").run()  # another set starts from native, not 28 or RGB
    assert reloaded.selectbox(key="data_image_size_mnist").value == "native"
    assert reloaded.selectbox(key="data_channels_mnist").value == "native"


def test_an_empty_zip_upload_says_the_zip_has_no_images_and_names_it() -> None:
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.file_uploader(key="data_upload_files").set_value([("holiday.zip", buf.getvalue(), "application/zip")])
    at.button(key="data_load_btn").click().run()
    assert not at.exception and len(at.error) == 1
    msg = at.error[0].value
    assert "your upload (holiday.zip)" in msg and "the zip file has no images" in msg
    assert "/uploads/" not in msg and "folder has no files" not in msg


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_zip_upload_says_which_unsafe_members_it_dropped_beside_the_images_loaded() -> None:
    unsafe = [("../../evil.png", png((255, 0, 0))), ("/etc/abs.png", png((0, 255, 0)))]
    at = data_page()
    at.selectbox(key="data_name").set_value("folder").run()
    at.file_uploader(key="data_upload_files").set_value(
        [("mixed.zip", _zip([*unsafe, ("good.png", png((0, 0, 255)))]), "application/zip")])
    at.button(key="data_load_btn").click().run()
    assert not at.exception and not at.error
    assert any(m.value.startswith("**1 image** of") for m in at.markdown)
    assert [w.value for w in at.warning] == ["2 unsafe zip members dropped: ../../evil.png (path leaves the folder "
                                             "(..)); /etc/abs.png (absolute path)."]
    at.file_uploader(key="data_upload_files").set_value([("only.zip", _zip(unsafe), "application/zip")])
    at.button(key="data_load_btn").click().run()
    assert len(at.error) == 1 and "has no images" not in at.error[0].value
    assert "every member of the zip was unsafe" in at.error[0].value and "2 unsafe zip members" in at.error[0].value


def test_uploaded_mnist_files_are_kept_in_the_data_folder_and_loaded() -> None:
    from formats import make_split

    from gan_core.data.base import data_root

    for link in ("stats", "shapes"):  # conftest's shared caches: this data folder starts empty, as a user's does
        (data_root() / link).unlink()
    src = data_root().parent / "src"
    make_split(src, "train", 12, gz=True)
    at = data_page()
    at.selectbox(key="data_name").set_value("mnist").run()
    uploader = at.file_uploader(key="data_upload_mnist")
    assert "train-images-idx3-ubyte.gz" in uploader.help
    assert at.text_input(key="data_dir_mnist").placeholder == str(data_root() / "mnist")  # where it looks
    uploader.set_value([(p.name, p.read_bytes(), "application/gzip") for p in sorted(src.iterdir())])
    at.checkbox(key="data_download").uncheck()  # proof that nothing is downloaded
    at.button(key="data_load_btn").click().run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric][:4] == ["12", "28 x 28", "grayscale (1)", "10"]
    assert sorted(p.name for p in (data_root() / "mnist").iterdir()) == sorted(p.name for p in src.iterdir())
    table = at.dataframe[0].value  # the data folder's table
    assert table.to_dict("records") == [{"folder": "mnist", "holds": "MNIST, ready (training split)"}]
