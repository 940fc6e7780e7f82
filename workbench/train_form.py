"""The Train page's form: recipes merged with the chosen data, widget values <-> RunConfig, starting a run from it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import streamlit as st

from gan_core.catalog import DATASETS
from gan_core.config import UNLABELED_DATASETS, DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.data.available import availability
from gan_core.device import device_problems
from gan_core.errors import ConfigError, UserError
from gan_core.limits import Domain, format_number
from gan_core.presets import DEFAULT_PRESET, PRESETS, default_preset_for, preset_config
from gan_core.runs.folders import new_run_name
from gan_core.settings import AUGMENT_CHOICES as AUGMENTS
from gan_core.settings import DEVICE_NAMES, Setting, form_settings
from workbench import prefs
from workbench.data import chosen_data, config_key, dataset_summary
from workbench.jobs import start_training

CUSTOM = "Custom"
LENGTHS = ["Steps", "Epochs"]  # the "Train for" choice
RECIPE_KEY, RUN_NAME_KEY, LENGTH_KEY = "train_preset", "train_run_name", "train_length"
LOADED_KEY = "train_loaded_recipe"  # the recipe whose values the form was last filled with
DATA_SEEN_KEY = "train_data_key"  # the data choice the form was last reset for
# Train-page widget key -> the declared setting (gan_core.settings). Pages read and write settings only through
# these keys.
DECLARED: dict[str, Setting] = {s.form_key: s for s in form_settings()}
SETTINGS: dict[str, tuple[str, str]] = {key: s.key for key, s in DECLARED.items()}
# The numeric settings' domains: the form shows them as text parsed against these, so the value trained on is
# always the one on screen (a number box silently reverts an invalid entry to its last valid value).
NUMBERS: dict[str, Domain] = {key: s.domain for key, s in DECLARED.items() if s.domain is not None}
CUSTOM_BASE_KEY = "train_custom_base"  # the recipe Custom started from
AUGMENT_CHOICES = list(AUGMENTS)


# ---- recipes and settings (no session: testable alone) ---------------------------------------------------------------
def recipe_names() -> list[str]:
    """Every preset, then Custom."""
    return [*PRESETS, CUSTOM]


def recipe_label(name: str) -> str:
    return name if name == CUSTOM else f"{name} — {PRESETS[name].description}"


def default_recipe(data: DataConfig | None) -> str:
    name = default_preset_for(data.name) if data is not None else DEFAULT_PRESET
    return name if name in PRESETS else DEFAULT_PRESET


def recipe_config(recipe: str, data: DataConfig | None, base: str | None = None) -> RunConfig:
    """The recipe's config on the chosen data: the user's data choice wins when the recipe is for the same set.

    A recipe written for another data set keeps its own data section (see recipe_note). Image size and channels
    left at "native" on the Data page take the recipe's values (e.g. 64x64 for the Fashion DCGAN recipe).
    Custom: the `base` recipe's settings (the defaults without one) on the chosen data.
    """
    if recipe == CUSTOM:
        if base is None or base not in PRESETS:
            return RunConfig(data or DataConfig(), ModelConfig(), TrainConfig(), None).validate()
        cfg = recipe_config(base, data)
        cfg.data, cfg.preset = data or DataConfig(), None
        return cfg.validate()
    preset = PRESETS[recipe]
    if data is None or data.name != preset.data.get("name"):
        return preset_config(recipe)
    chosen = {k: v for k, v in dataclasses.asdict(data).items() if not (k in ("image_size", "channels") and v is None)}
    return preset_config(recipe, **chosen)


def recipe_note(recipe: str, data: DataConfig | None) -> str | None:
    """A warning when the recipe trains on another data set than the chosen one, else None."""
    if recipe == CUSTOM or data is None:
        return None
    wanted = PRESETS[recipe].data.get("name")
    if wanted != data.name:
        title = DATASETS[wanted].title if wanted in DATASETS else wanted
        return f"This recipe trains on {title}, not on your chosen data set ({DATASETS[data.name].title})."
    return None


def recipe_data_line(cfg: RunConfig) -> tuple[bool, str]:
    """(available, sentence): the data set the recipe trains on and whether its files are here, before Start."""
    found = availability(cfg.data)
    return found.present, f"Trains on {dataset_summary(cfg.data)}. {found.sentence}"


def format_setting(value: Any, dom: Domain) -> str:
    """A number as the form shows it: whole numbers plain, others in their shortest form (2e-4 as 0.0002)."""
    return str(int(value)) if dom.integer else f"{float(value):g}"


def settings_from_config(cfg: RunConfig) -> dict[str, Any]:
    """Widget values showing cfg (the Train page writes these into session state when the recipe changes)."""
    values = {key: getattr(getattr(cfg, section), name) for key, (section, name) in SETTINGS.items()}
    values[LENGTH_KEY] = "Epochs" if cfg.train.epochs is not None else "Steps"
    values["train_steps"] = int(cfg.train.steps or 2000)
    values["train_epochs"] = float(cfg.train.epochs or 1.0)
    return {k: format_setting(v, NUMBERS[k]) if k in NUMBERS else v for k, v in values.items()}


def parse_settings(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values with numbers parsed against their domains, {key: why} for the invalid ones). The length not in use
    (steps or epochs) is left out."""
    unused = "train_steps" if values.get(LENGTH_KEY) == "Epochs" else "train_epochs"
    parsed, errors = {}, {}
    for key, value in values.items():
        if key == unused:
            continue
        dom = NUMBERS.get(key)
        try:
            if dom is None:
                parsed[key] = value
            elif isinstance(value, str):
                parsed[key] = dom.parse(value)
            else:
                dom.check(key, value)
                parsed[key] = value
        except ConfigError as e:
            errors[key] = str(e)
    return parsed, errors


def apply_settings(cfg: RunConfig, values: dict[str, Any]) -> RunConfig:
    """cfg with the Train page's values on top (any recipe: architecture and loss too). Validated; ConfigError
    naming every invalid field with its range otherwise."""
    parsed, errors = parse_settings(values)
    if errors:
        raise ConfigError(" ".join(errors.values()))
    return _with_parsed(cfg, parsed, values.get(LENGTH_KEY))


def _with_parsed(cfg: RunConfig, parsed: dict[str, Any], length: str | None) -> RunConfig:
    """A validated copy of cfg with parse_settings' values on top."""
    cfg = cfg.copy()
    for key, (section, name) in SETTINGS.items():
        if key in parsed:
            setattr(getattr(cfg, section), name, parsed[key])
    if length == "Epochs":
        cfg.train.steps = None
    else:
        cfg.train.epochs = None
    return cfg.validate()


def setting_label(key: str) -> str:
    return DECLARED[key].label if key in DECLARED else key


def changed_settings(recipe: RunConfig, cfg: RunConfig) -> list[str]:
    """'Batch size 32 -> 16' for each setting cfg changes from the recipe, in the form's order."""
    out = []
    for key, (section, name) in SETTINGS.items():
        old, new = getattr(getattr(recipe, section), name), getattr(getattr(cfg, section), name)
        if old != new and new is not None:
            out.append(f"{setting_label(key)} {'—' if old is None else _shown(key, old)} → {_shown(key, new)}")
    return out


def _shown(key: str, value: Any) -> str:
    if key in NUMBERS:
        return format_number(value, NUMBERS[key].integer)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value or "none")


@dataclass(frozen=True)
class DeviceChoices:
    """The Device menu: the devices present here, and a grey line naming the others with the reason."""

    usable: list[str]
    unusable: str


def device_choices() -> DeviceChoices:
    problems = device_problems()
    missing = ", ".join(f"{name} ({why})" for name, why in problems.items() if why)
    return DeviceChoices([n for n in DEVICE_NAMES if problems.get(n) is None],
                         f"Not offered here: {missing}." if missing else "")


def conditional_possible(data: DataConfig | None) -> bool:
    """Whether the data set has class labels to condition on (no choice yet: the default, shapes, has)."""
    return (data or DataConfig()).name not in UNLABELED_DATASETS


def model_summary(cfg: RunConfig) -> str:
    """One line: the model and the settings that matter."""
    m, t = cfg.model, cfg.train
    length = f"{t.epochs:g} epochs" if t.epochs is not None else f"{t.steps:,} steps"
    # The losses' extra terms, then what D sees: each named only where it is on.
    terms = [(t.class_weight, "class loss"), (t.r1, "R1"), (t.feature_matching, "feature matching"),
             (t.cluster_balance, "cluster balance"),
             (t.cluster_guidance if m.cluster_groups else 0, "cluster guidance")]
    d_sees = [(t.augment, f"D sees {t.augment.replace(',', ', ')} views"), (m.pack > 1, f"D judges packs of {m.pack}"),
              (m.mbstd, f"minibatch std over {m.mbstd}")]
    extras = "".join(f" + {name} {weight:g}" for weight, name in terms if weight) + "".join(
        f", {part}" for on, part in d_sees if on)
    kind = " (conditional)" if m.conditional else " (cluster-conditioned)" if m.cluster_groups else ""
    return (f"Model: {m.arch}{kind}, {t.loss} loss{extras}, "
            f"latent {m.latent_dim}, batch {t.batch_size}, {length}, lr G/D {t.lr_g:g}/{t.lr_d:g}, EMA {t.ema:g}, "
            f"device {t.device}"
            + (", bf16 where faster." if t.amp else ", fp32."))


# ---- the form in the session -----------------------------------------------------------------------------------------
def load_recipe(name: str) -> None:
    """Fill every setting widget with the recipe's values and suggest a fresh run name (UserError if it cannot be).

    Custom keeps the values on screen (those of the recipe it starts from, with the user's changes)."""
    previous = st.session_state.get(LOADED_KEY)
    if name == CUSTOM:
        base = st.session_state.get(CUSTOM_BASE_KEY) if previous == CUSTOM else previous
        st.session_state[CUSTOM_BASE_KEY] = base
        cfg = recipe_config(CUSTOM, chosen_data(), base)
    else:
        cfg = recipe_config(name, chosen_data())
    st.session_state[RECIPE_KEY] = st.session_state[LOADED_KEY] = name
    if name != CUSTOM or previous is None:
        st.session_state.update(settings_from_config(cfg))
    st.session_state[RUN_NAME_KEY] = new_run_name(cfg)


def follow_data_choice(data: DataConfig | None) -> None:
    """On a first visit or a new data choice, reset the form to that data set's default recipe.

    Raises UserError when that recipe cannot use the data; the form then holds the app's default recipe.
    """
    key = config_key(data)
    if st.session_state.get(DATA_SEEN_KEY) == key and RECIPE_KEY in st.session_state:
        return
    st.session_state[DATA_SEEN_KEY] = key
    try:
        load_recipe(default_recipe(data))
    except UserError:
        load_recipe(DEFAULT_PRESET)
        raise


def form_values() -> dict[str, Any]:
    return {k: st.session_state[k] for k in [*SETTINGS, LENGTH_KEY] if k in st.session_state}


def base_config() -> RunConfig:
    """The chosen recipe's own config on the chosen data (what the form's changes are measured against)."""
    return recipe_config(st.session_state[RECIPE_KEY], chosen_data(), st.session_state.get(CUSTOM_BASE_KEY))


def form_config() -> RunConfig:
    """The RunConfig the form describes (validated; UserError with the fix otherwise)."""
    return apply_settings(base_config(), form_values())


@dataclass(frozen=True)
class FormState:
    """The form read once per rerun: the recipe's config (None when it cannot be built), the config the form
    describes (None while a number is invalid or the combination is refused), the invalid numbers and the refusal."""

    base: RunConfig | None
    config: RunConfig | None
    errors: dict[str, str]  # widget key -> sentence with the setting's range
    problem: str | None = None  # why base or config could not be built (a UserError's sentence)


def read_form() -> FormState:
    """Parse the form's values once: what the Train page shows, checks and starts from in one rerun."""
    values = form_values()
    parsed, errors = parse_settings(values)
    try:
        base = base_config()
    except UserError as e:
        return FormState(None, None, errors, str(e))
    if errors:
        return FormState(base, None, errors)
    try:
        return FormState(base, _with_parsed(base, parsed, values.get(LENGTH_KEY)), errors)
    except UserError as e:
        return FormState(base, None, errors, str(e))


def number_field(col: Any, key: str, errors: dict[str, str]) -> None:
    """A numeric setting as a text box labelled and explained from its declaration; its problem in red beneath."""
    s = DECLARED[key]
    col.text_input(s.label, key=key, persist_state="session", help=s.help_text)
    if key in errors:
        col.markdown(f":red[{errors[key]}]")


def choice_field(col: Any, key: str, **kwargs: Any) -> None:
    """A menu (or, for an on/off setting, a checkbox) labelled and explained from its declaration."""
    s = DECLARED[key]
    if s.switch:
        col.checkbox(s.label, key=key, persist_state="session", help=s.help_text, **kwargs)
    else:
        col.selectbox(s.label, CHOICES[key], key=key, persist_state="session", help=s.help_text, **kwargs)


# The form's choice widgets and what they accept (a remembered value outside these is not restored).
CHOICES: dict[str, list[Any]] = {
    **{key: list(s.choices) for key, s in DECLARED.items() if s.choices},
    **{key: [True, False] for key, s in DECLARED.items() if s.switch},
    "train_augment": AUGMENT_CHOICES, LENGTH_KEY: LENGTHS}


def form_memory() -> dict[str, Any]:
    """What the next session restores of the form (restore.py): the recipe, where Custom started, the data choice
    it belongs to, and every setting as shown."""
    return {"recipe": st.session_state.get(RECIPE_KEY), "custom_base": st.session_state.get(CUSTOM_BASE_KEY),
            "data_key": st.session_state.get(DATA_SEEN_KEY), "values": form_values()}


def remember() -> None:
    prefs.remember("form", form_memory())


def restore_form(memory: dict[str, Any]) -> bool:
    """Fill the form from form_memory() of an earlier session; False (form untouched) when it cannot be.

    The recipe's values come first; each remembered setting that is still a valid entry replaces its value (an
    invalid number is restored as typed: the form then shows it in red, as it was left)."""
    recipe, values = memory.get("recipe"), memory.get("values")
    if recipe not in recipe_names() or not isinstance(values, dict):
        return False
    base = memory.get("custom_base") if memory.get("custom_base") in PRESETS else None
    try:
        cfg = recipe_config(recipe, chosen_data(), base)
    except UserError:
        return False
    restored = settings_from_config(cfg)
    for key, value in values.items():
        if (key in NUMBERS and isinstance(value, str)) or (key in CHOICES and value in CHOICES[key]):
            restored[key] = value
    st.session_state.update(restored)
    st.session_state[RECIPE_KEY] = st.session_state[LOADED_KEY] = recipe
    st.session_state[CUSTOM_BASE_KEY] = base
    st.session_state[DATA_SEEN_KEY] = config_key(chosen_data())
    try:
        st.session_state[RUN_NAME_KEY] = new_run_name(form_config())
    except UserError:
        st.session_state[RUN_NAME_KEY] = ""  # Start then names the run (once the settings are fixed)
    return True


def start_from_form() -> None:
    """Start the run the form describes under its run name (a fresh one when empty); then suggest the next name."""
    cfg = form_config()
    name = (st.session_state.get(RUN_NAME_KEY) or "").strip() or new_run_name(cfg)
    start_training(cfg, name)
    st.session_state[RUN_NAME_KEY] = new_run_name(cfg)  # the next run gets a fresh folder
