"""AppTest of the Train page's settings (issue #15): every number against its domain with Start off and the true
range shown, recipes showing their data set and its availability, Custom and changed fields, the Device menu."""

from __future__ import annotations

import pytest
from conftest import open_page, tiny_data_config
from streamlit.testing.v1 import AppTest

from workbench.jobs import job_registry
from workbench.train_form import NUMBERS

pytestmark = pytest.mark.usefixtures("app_env")


def train_page(data: dict | None = None) -> AppTest:
    return open_page("pages/2_Train.py", "Train", data)


def below(key: str) -> str:
    dom = NUMBERS[key]
    return str(int(dom.low) - 1) if dom.integer else ("0" if dom.low > 0 else "-0.5")


def test_an_invalid_number_turns_start_off_and_says_the_true_range() -> None:
    # One page for every number (a fresh page per number cost a second each): each is typed below its range, then
    # at its lower bound, and given back its recipe value together with the next number's invalid entry.
    at = train_page(tiny_data_config())
    assert not at.button(key="train_start_btn").disabled
    restore: tuple[str, str] | None = None
    for key in sorted(NUMBERS):
        if restore is not None:
            at.text_input(key=restore[0]).set_value(restore[1])
        if key == "train_epochs":  # its box shows once the run is measured in epochs
            at.radio(key="train_length").set_value("Epochs").run()
        dom, before = NUMBERS[key], at.text_input(key=key).value
        at.text_input(key=key).set_value(below(key)).run()
        assert not at.exception, (key, at.exception)
        assert at.text_input(key=key).value == below(key), key  # what the user typed stays on screen
        assert at.button(key="train_start_btn").disabled, key
        assert any(f"{dom.label} must be" in e.value and f"from {dom.range_text}" in e.value for e in at.error), key
        assert any(f"from {dom.range_text}" in m.value and m.value.startswith(":red[") for m in at.markdown), key
        at.text_input(key=key).set_value(str(int(dom.low)) if dom.integer else f"{dom.low:g}").run()
        assert not at.button(key="train_start_btn").disabled and not at.error, (key, [e.value for e in at.error])
        restore = (key, before)
        if key == "train_epochs":  # back to steps (the length in use is the one checked); its box goes
            at.radio(key="train_length").set_value("Steps")
            restore = None


def test_learning_rate_0_and_batch_1_are_refused_in_plain_numbers_and_nothing_starts() -> None:
    at = train_page(tiny_data_config())
    at.text_input(key="train_lr_g").set_value("0")
    at.text_input(key="train_batch_size").set_value("1").run()
    text = " ".join(e.value for e in at.error)
    assert "Learning rate G must be from 1e-06 to 1 (got 0)." in text and "0.00000" not in text
    assert "Batch size must be from 2 to 4,096 (got 1)." in text
    assert at.button(key="train_start_btn").disabled
    assert not job_registry().jobs


def test_architecture_and_loss_can_be_changed_on_a_recipe_and_changes_are_listed() -> None:
    at = train_page(tiny_data_config())
    at.selectbox(key="train_preset").set_value("triangles-mlp").run()
    assert not any(c.value.startswith("Changed from") for c in at.caption)
    at.selectbox(key="train_loss").set_value("hinge")
    at.text_input(key="train_batch_size").set_value("16").run()
    assert any(c.value == "Changed from the recipe: Loss bce → hinge; Batch size 64 → 16." for c in at.caption)
    assert any("hinge loss" in c.value and "batch 16" in c.value for c in at.caption)  # the summary trains this


def test_custom_starts_from_the_current_recipe_with_the_users_changes() -> None:
    at = train_page(tiny_data_config())
    at.selectbox(key="train_preset").set_value("fashion-dcgan64").run()
    at.text_input(key="train_lr_g").set_value("0.001").run()
    at.selectbox(key="train_preset").set_value("Custom").run()
    assert at.text_input(key="train_latent_dim").value == "256" and at.text_input(key="train_lr_g").value == "0.001"
    assert any(c.value == "Changed from where Custom started: Learning rate G 0.0002 → 0.001." for c in at.caption)


def test_a_recipe_for_a_set_that_is_not_here_says_so_before_start() -> None:
    at = train_page(tiny_data_config())
    at.selectbox(key="train_preset").set_value("mnist-mlp-small").run()
    warning = " ".join(w.value for w in at.warning)
    assert "Trains on mnist. MNIST is not on this machine yet: Start will try to download it" in warning
    assert "not on your chosen data set (Shapes)" in warning


def test_the_device_menu_lists_present_devices_and_names_the_others() -> None:
    at = train_page()
    assert at.selectbox(key="train_device").options == ["auto", "cpu"]
    assert any(c.value.startswith("Not offered here: cuda (no CUDA GPU on this machine)") for c in at.caption)


def test_the_form_is_parsed_once_per_rerun_and_offers_the_penalty_weight_and_critic_normalisation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench import train_form

    at = train_page(tiny_data_config())
    calls = []
    real = train_form.parse_settings
    monkeypatch.setattr(train_form, "parse_settings", lambda values: calls.append(1) or real(values))
    at.selectbox(key="train_loss").set_value("wgan-gp")
    at.selectbox(key="train_d_norm").set_value("layer")
    at.text_input(key="train_gp_lambda").set_value("2.5").run()
    assert not at.exception and len(calls) == 1
    assert any("Gradient penalty weight 10 → 2.5" in c.value and "Critic normalisation auto → layer" in c.value
               for c in at.caption)
    at.selectbox(key="train_d_norm").set_value("batch").run()  # the rule, said once, and Start off
    assert any("needs a critic without BatchNorm" in e.value for e in at.error) and len(calls) == 2
    assert at.button(key="train_start_btn").disabled


@pytest.mark.parametrize("key,label", [("train_feature_matching", "Feature matching weight"),
                                       ("train_cluster_balance", "Cluster balance weight")])
def test_g_loss_terms_are_offered_in_advanced_and_listed_as_a_change(key: str, label: str) -> None:
    at = train_page(tiny_data_config())
    at.text_input(key=key).set_value("10").run()
    assert not at.exception and not at.error
    assert any(f"{label} 0 → 10" in c.value for c in at.caption), [c.value for c in at.caption]
