"""The command line's arguments: the parser (numbers read against limits.DOMAINS), the config they build, and the
flags a resume may not change."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from ..config import (
    ARCH_NAMES,
    DATASET_NAMES,
    DEVICE_NAMES,
    LOSS_NAMES,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from ..errors import ConfigError, UserError
from ..limits import DOMAINS, EVAL_COUNT, SAMPLE_COUNT, TRUNCATION, Domain, domain
from ..presets import PRESETS, default_preset_for, preset_config


class UsageError(UserError):
    """A command line argparse refuses (unknown flag, bad choice, a number outside its domain)."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors become one 'error: ...' line (exit 2) through main, like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message.rstrip('.')}; see '{self.prog} --help'.")


def number(dom: Domain) -> Any:
    """An argparse type reading a number within `dom` (limits.DOMAINS): the same range as the app and validate()."""
    def parse(text: str) -> int | float:
        try:
            return dom.parse(text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = dom.label  # argparse names the type in some messages
    return parse


def setting(section: str, name: str) -> Any:
    return number(domain(section, name))


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m gan_core", description="GAN Workbench: train and sample GANs headless.")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="data sets, architectures, losses, presets (and runs with --runs)")
    ls.add_argument("--runs", action="store_true", help="list the runs under the checkpoints folder instead")

    tr = sub.add_parser("train", help="train a GAN (Ctrl-C saves and exits)")
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe")
    src.add_argument("--dataset", choices=DATASET_NAMES, help="a data set (its tuned default recipe unless --arch)")
    tr.add_argument("--arch", choices=ARCH_NAMES)
    tr.add_argument("--loss", choices=LOSS_NAMES)
    tr.add_argument("--data-dir", help="folder (or .zip for folder/celeba) holding the data set's files")
    tr.add_argument("--no-download", action="store_true", help="never try the network for torchvision data sets")
    tr.add_argument("--image-size", type=setting("data", "image_size"))
    tr.add_argument("--channels", type=int, choices=(1, 3))
    tr.add_argument("--latent-dim", type=setting("model", "latent_dim"))
    tr.add_argument("--width", type=setting("model", "width"), help="base feature count of convolutional models")
    tr.add_argument("--batch-size", type=setting("train", "batch_size"))
    lr = replace(DOMAINS[("train", "lr_g")], label="Learning rate")
    tr.add_argument("--lr", type=number(lr), help="learning rate of both G and D")
    tr.add_argument("--lr-g", type=setting("train", "lr_g"))
    tr.add_argument("--lr-d", type=setting("train", "lr_d"))
    tr.add_argument("--n-critic", type=setting("train", "n_critic"))
    tr.add_argument("--ema", type=setting("train", "ema"), help="EMA decay of G for sampling (0 = off)")
    length = tr.add_mutually_exclusive_group()
    length.add_argument("--steps", type=setting("train", "steps"), help="total generator steps")
    length.add_argument("--epochs", type=setting("train", "epochs"), help="passes over the data set")
    tr.add_argument("--max-seconds", type=setting("train", "max_seconds"),
                    help="stop after this much training time and save")
    tr.add_argument("--device", choices=DEVICE_NAMES)
    tr.add_argument("--seed", type=setting("train", "seed"))
    tr.add_argument("--out", help="run folder (default: checkpoints/<preset>-<time>)")
    tr.add_argument("--resume", help="checkpoint file (or run folder) to continue to the new --steps total")
    tr.add_argument("--sample-every", type=setting("train", "sample_every"))
    tr.add_argument("--checkpoint-every", type=setting("train", "checkpoint_every"))
    tr.add_argument("--quality-every", type=setting("train", "quality_every"),
                    help="steps between quality scores (0 = off)")
    for flag in ("compile", "channels-last"):
        tr.add_argument(f"--{flag}", action="store_true", help=f"CUDA only: {flag.replace('-', ' ')}")
    tr.add_argument("--sync-bn", action=argparse.BooleanOptionalAction, default=None,
                    help="under torchrun on CUDA: BatchNorm statistics over all processes' batches (default on)")
    tr.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 mixed precision where it is faster: CUDA with bf16; CPUs where a start-up probe "
                         "measures it faster (default on; --no-amp: fp32)")

    sp = sub.add_parser("sample", help="write samples of a trained generator")
    sp.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    sp.add_argument("--num", type=number(SAMPLE_COUNT), default=64)
    sp.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npy (uint8 N x H x W x C)")
    sp.add_argument("--seed", type=setting("train", "seed"), default=0)
    sp.add_argument("--truncation", type=number(TRUNCATION), help="redraw noise values beyond +-this")
    sp.add_argument("--class", "--label", dest="label", type=int,
                    help="class index for conditional models (default: the classes in turn, evenly)")

    ev = sub.add_parser("eval", help="quality scores of a checkpoint as JSON")
    ev.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    ev.add_argument("--num", type=number(EVAL_COUNT), default=1000)
    ev.add_argument("--data-dir", help="where the real data set's files are, if not where training found them")

    ex = sub.add_parser("export", help="the sampling generator (EMA weights, eval mode) as an ONNX file")
    ex.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    ex.add_argument("--format", default="onnx", help="file format: onnx (the one so far; default)")
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
    d, m, t = cfg.data, cfg.model, cfg.train
    set_given(d, data_dir=a.data_dir, image_size=a.image_size, channels=a.channels)
    if a.no_download:
        d.download = False
    set_given(m, arch=a.arch, latent_dim=a.latent_dim, width=a.width)
    set_given(t, loss=a.loss, batch_size=a.batch_size, lr_g=a.lr_g or a.lr, lr_d=a.lr_d or a.lr, n_critic=a.n_critic,
           ema=a.ema, max_seconds=a.max_seconds, device=a.device, seed=a.seed, sample_every=a.sample_every,
           checkpoint_every=a.checkpoint_every, quality_every=a.quality_every)
    if a.steps is not None:
        t.steps, t.epochs = a.steps, None
    if a.epochs is not None:
        t.epochs = a.epochs
    t.compile, t.channels_last = a.compile or t.compile, a.channels_last or t.channels_last
    t.amp = t.amp if a.amp is None else a.amp
    t.sync_bn = t.sync_bn if a.sync_bn is None else a.sync_bn
    return cfg.validate()


def set_given(obj: Any, **values: Any) -> None:
    """Set the attributes whose value was given (not None): flags left out keep the config's value."""
    for k, v in values.items():
        if v is not None:
            setattr(obj, k, v)


# Flags a resume cannot change (the checkpoint's model, data and optimizer follow them): flag -> (attribute of the
# parsed arguments, config section, field). --steps, --max-seconds, --device, --data-dir and --out may change.
RESUME_FIXED = {
    "--preset": ("preset", None, "preset"), "--dataset": ("dataset", "data", "name"),
    "--arch": ("arch", "model", "arch"), "--loss": ("loss", "train", "loss"),
    "--image-size": ("image_size", "data", "image_size"),
    "--channels": ("channels", "data", "channels"), "--latent-dim": ("latent_dim", "model", "latent_dim"),
    "--width": ("width", "model", "width"), "--batch-size": ("batch_size", "train", "batch_size"),
    "--lr": ("lr", "train", "lr_g"), "--lr-g": ("lr_g", "train", "lr_g"), "--lr-d": ("lr_d", "train", "lr_d"),
    "--n-critic": ("n_critic", "train", "n_critic"), "--ema": ("ema", "train", "ema"),
    "--seed": ("seed", "train", "seed"), "--epochs": ("epochs", "train", "epochs"),
}


def refuse_resume_conflicts(a: argparse.Namespace, cfg: RunConfig, run: str) -> None:
    """ConfigError when a flag asks a resumed run for something else than what it was trained with."""
    for flag, (attr, section, name) in RESUME_FIXED.items():
        wanted = getattr(a, attr, None)
        trained = getattr(getattr(cfg, section) if section else cfg, name)
        if wanted is not None and wanted != trained:
            raise ConfigError(f"Run '{run}' was trained with {flag} {trained}, and a resume continues it as it was: "
                              f"leave out {flag} {wanted}, or start a new run without --resume.")
