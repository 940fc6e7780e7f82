"""The command line's arguments: the parser (train's flags from settings.SETTINGS, numbers read against their
domains), the config they build, and the flags a resume may not change."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from ..config import DATASET_NAMES, DataConfig, ModelConfig, RunConfig, TrainConfig
from ..errors import ConfigError, UserError
from ..limits import EVAL_COUNT, SAMPLE_COUNT, TRUNCATION, Domain
from ..presets import PRESETS, default_preset_for, preset_config
from ..runs.export import FORMATS
from ..settings import SETTINGS, Setting, domain


class UsageError(UserError):
    """A command line argparse refuses (unknown flag, bad choice, a number outside its domain)."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors become one 'error: ...' line (exit 2) through main, like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message.rstrip('.')}; see '{self.prog} --help'.")


def number(dom: Domain) -> Any:
    """An argparse type reading a number within `dom` (settings.DOMAINS): the same range as the app and validate()."""
    def parse(text: str) -> int | float:
        try:
            return dom.parse(text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = dom.label  # argparse names the type in some messages
    return parse


def setting(section: str, name: str) -> Any:
    return number(domain(section, name))


def add_setting(parser: Any, s: Setting) -> None:
    """The flag of one declared setting: a number read against its domain, a menu, a switch (--x/--no-x) or text.
    Every flag defaults to None: a flag left out keeps the recipe's value."""
    kwargs: dict[str, Any] = {"help": s.help_text or None, "dest": s.name}
    if s.domain is not None:
        kwargs["type"] = number(s.domain)
    elif s.switch:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif s.choices:
        kwargs["choices"] = s.choices
        kwargs["type"] = type(s.choices[0])
    if s.name in ("arch", "loss"):  # their long help is for the form's tooltip; the CLI lists them with `list`
        kwargs["help"] = f"one of {', '.join(s.choices)} (see 'python -m gan_core list')"
    parser.add_argument(s.cli_flag, default=None, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m gan_core", description="GAN Workbench: train and sample GANs headless.")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="data sets, architectures, losses, presets (and runs with --runs)")
    ls.add_argument("--runs", action="store_true", help="list the runs under the checkpoints folder instead")

    tr = sub.add_parser("train", help="train a GAN (Ctrl-C saves and exits)")
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe")
    src.add_argument("--dataset", choices=DATASET_NAMES, help="a data set (its tuned default recipe unless --arch)")
    tr.add_argument("--data-dir", help="folder (or .zip for folder/celeba) holding the data set's files")
    tr.add_argument("--no-download", action="store_true", help="never try the network for torchvision data sets")
    lr = replace(domain("train", "lr_g"), label="Learning rate")
    tr.add_argument("--lr", type=number(lr), help="learning rate of both G and D")
    length = tr.add_mutually_exclusive_group()  # steps or epochs
    for s in SETTINGS:
        if s.flag:
            add_setting(length if s.name in ("steps", "epochs") else tr, s)
    tr.add_argument("--out", help="run folder (default: checkpoints/<preset>-<time>)")
    tr.add_argument("--resume", help="checkpoint file (or run folder) to continue to the new --steps total")

    sp = sub.add_parser("sample", help="write samples of a trained generator")
    sp.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    sp.add_argument("--num", type=number(SAMPLE_COUNT), default=64)
    sp.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npy (uint8 N x H x W x C; "
                    "2-D point runs: float32 N x 2, and .png a scatter plot)")
    sp.add_argument("--seed", type=setting("train", "seed"), default=0)
    sp.add_argument("--truncation", type=number(TRUNCATION), help="redraw noise values beyond +-this")
    sp.add_argument("--class", "--label", dest="label", type=int,
                    help="class index for conditional models (default: the classes in turn, evenly)")

    ev = sub.add_parser("eval", help="quality scores of a checkpoint as JSON")
    ev.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    ev.add_argument("--num", type=number(EVAL_COUNT), help="samples to score (default 1,000; 2,500 points for a 2-D "
                    "point run, as the papers)")
    ev.add_argument("--data-dir", help="where the real data set's files are, if not where training found them")

    ex = sub.add_parser("export", help="the sampling generator (EMA weights, eval mode) as an ONNX file")
    ex.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    ex.add_argument("--format", default="onnx", help=f"one of {', '.join(FORMATS)}: onnx (default), or generator, a "
                    "small weights-only .pt of the sampling generator for Explore (examples/)")
    ex.add_argument("--out", default="generator.onnx", help="FILE.onnx (default: generator.onnx)")
    return p


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """Preset (or the data set's default, or bare defaults with --arch), then explicit flags on top."""
    if a.preset:
        cfg = preset_config(a.preset, **({"data_dir": a.data_dir} if a.data_dir else {}))
    elif a.dataset and not a.arch:
        cfg = preset_config(default_preset_for(a.dataset), **({"data_dir": a.data_dir} if a.data_dir else {}))
    else:
        cfg = RunConfig(DataConfig(name=a.dataset or "shapes"), ModelConfig(), TrainConfig())
    set_given(cfg.data, data_dir=a.data_dir)
    if a.no_download:
        cfg.data.download = False
    set_given(cfg.train, lr_g=a.lr, lr_d=a.lr)  # --lr-g and --lr-d (below) win over --lr
    apply_flags(a, cfg)
    if a.steps is not None:  # the length asked for: steps replace a recipe's epochs
        cfg.train.epochs = None
    return cfg.validate()


def apply_flags(a: argparse.Namespace, cfg: RunConfig, fixed: bool = True) -> None:
    """Each declared setting given on the command line onto cfg (with fixed=False: only those a resume may change)."""
    for s in SETTINGS:
        value = getattr(a, s.name, None) if s.flag else None
        if value is not None and (fixed or not s.fixed):
            setattr(getattr(cfg, s.section), s.name, value)


def set_given(obj: Any, **values: Any) -> None:
    """Set the attributes whose value was given (not None): flags left out keep the config's value."""
    for k, v in values.items():
        if v is not None:
            setattr(obj, k, v)


# Flags a resume cannot change (the checkpoint's model, data and optimizer follow them): flag -> (attribute of the
# parsed arguments, config section, field): the settings declared fixed, and the recipe's own flags.
RESUME_FIXED = {
    "--preset": ("preset", None, "preset"), "--dataset": ("dataset", "data", "name"), "--lr": ("lr", "train", "lr_g"),
    **{s.cli_flag: (s.name, s.section, s.name) for s in SETTINGS if s.flag and s.fixed},
}


def refuse_resume_conflicts(a: argparse.Namespace, cfg: RunConfig, run: str) -> None:
    """ConfigError when a flag asks a resumed run for something else than what it was trained with."""
    for flag, (attr, section, name) in RESUME_FIXED.items():
        wanted = getattr(a, attr, None)
        trained = getattr(getattr(cfg, section) if section else cfg, name)
        if wanted is not None and wanted != trained:
            raise ConfigError(f"Run '{run}' was trained with {flag} {trained}, and a resume continues it as it was: "
                              f"leave out {flag} {wanted}, or start a new run without --resume.")
