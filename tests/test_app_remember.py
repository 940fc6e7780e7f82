"""AppTest of remembered choices (issue #15, finding 2): the data set, its folder, the recipe and its settings
survive a reload (a new session) and a restart; a choice that cannot be restored says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import APP, MNIST_DIR, open_page
from streamlit.testing.v1 import AppTest

from workbench.prefs import prefs_path

pytestmark = pytest.mark.usefixtures("app_env")
HAVE_MNIST = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file()


def new_session() -> AppTest:
    """A fresh browser session (a reload, or the app restarted) on the Home page, which shows the restore notices."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception and at.title[0].value == "GAN Workbench", at.exception
    return at


def notices(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.info, *at.warning])


def choose_mnist(folder: Path) -> AppTest:
    at = open_page("pages/1_Data.py", "Data")
    at.selectbox(key="data_name").set_value("mnist").run()
    at.text_input(key="data_dir_mnist").set_value(str(folder))
    at.checkbox(key="data_download").uncheck()
    at.button(key="data_load_btn").click().run()
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def mnist_folder(tmp_path: Path) -> Path:
    if not HAVE_MNIST:
        pytest.skip(f"real MNIST test files not in {MNIST_DIR}")
    folder = tmp_path / "my-mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).symlink_to(MNIST_DIR / name)
    return folder


def test_a_reload_keeps_the_data_set_its_folder_the_recipe_and_the_settings(mnist_folder: Path) -> None:
    at = choose_mnist(mnist_folder)
    at.switch_page("pages/2_Train.py").run()
    assert at.selectbox(key="train_preset").value == "mnist-default"
    at.selectbox(key="train_preset").set_value("mnist-mlp-small").run()
    at.text_input(key="train_batch_size").set_value("48")
    at.selectbox(key="train_loss").set_value("lsgan").run()

    reloaded = new_session()
    assert f"Restored the data set chosen last time: mnist, from {mnist_folder}." in notices(reloaded)
    reloaded.switch_page("pages/2_Train.py").run()
    assert any(c.value.startswith(f"Trains on mnist, from {mnist_folder}. MNIST is on this machine")
               for c in reloaded.caption)
    assert reloaded.selectbox(key="train_preset").value == "mnist-mlp-small"
    assert reloaded.text_input(key="train_batch_size").value == "48"
    assert reloaded.selectbox(key="train_loss").value == "lsgan"
    assert any(c.value == "Changed from the recipe: Loss bce → lsgan; Batch size 32 → 48." for c in reloaded.caption)
    reloaded.switch_page("pages/1_Data.py").run()
    assert reloaded.selectbox(key="data_name").value == "mnist"
    assert reloaded.text_input(key="data_dir_mnist").value == str(mnist_folder)
    assert json.loads(prefs_path().read_text())["data"]["data_dir"] == str(mnist_folder)


def test_a_data_set_whose_folder_is_gone_is_not_restored_and_says_so(mnist_folder: Path) -> None:
    choose_mnist(mnist_folder)
    shutil.rmtree(mnist_folder)
    at = new_session()
    assert (f"The data set chosen last time (mnist) could not be restored: its folder {mnist_folder} is gone. "
            "Choose it again on the Data page.") in notices(at)
    at.switch_page("pages/2_Train.py").run()
    assert at.selectbox(key="train_preset").value == "shapes-default"


def test_an_invalid_number_is_restored_as_typed_and_start_stays_off() -> None:
    at = open_page("pages/2_Train.py", "Train")
    at.text_input(key="train_lr_d").set_value("0").run()
    assert at.button(key="train_start_btn").disabled
    again = open_page("pages/2_Train.py", "Train")
    assert again.text_input(key="train_lr_d").value == "0" and again.button(key="train_start_btn").disabled


def test_an_unreadable_settings_file_restores_nothing_and_breaks_nothing() -> None:
    prefs_path().parent.mkdir(parents=True, exist_ok=True)
    prefs_path().write_text("{not json")
    at = open_page("pages/2_Train.py", "Train")
    assert at.selectbox(key="train_preset").value == "shapes-default" and not at.warning
    prefs_path().write_text(json.dumps({"data": {"name": "imagenet"}}))
    assert "could not be restored (its settings are no longer valid)" in notices(new_session())


def test_an_upload_that_is_gone_is_named_as_such_not_by_its_internal_path() -> None:
    gone = prefs_path().parent / "uploads" / "c50c964b21ba" / "0123456789abcdef"
    prefs_path().parent.mkdir(parents=True, exist_ok=True)
    prefs_path().write_text(json.dumps({"data": {"name": "folder", "data_dir": str(gone)}}))
    text = notices(new_session())
    assert "The data set chosen last time (folder) could not be restored: its uploaded images are gone." in text
    assert "c50c964b21ba" not in text
